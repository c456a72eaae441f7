// Memory accesses per output element of every CUDA kernel, counted by the emulated GPU's
// counting build (libspatialact_emu_count.so: every load and store of the kernels goes through
// cuda_emu.cpp's counters), on the emulated H100, one replay. Global accesses are what the
// kernels' load/store paths issue (before any cache: the L1/L2 hits of a real GPU are not
// modelled), shared ones what they read and write on chip, "stack" the thread's own frame
// (register spills and local arrays of the host compile, not the GPU's). Prints the table of
// docs/PERFORMANCE.md ("Memory accesses per output").
// Usage: bench_emu_access   (build: cmake --build <dir> --target bench_emu_access)
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "common/sa_internal.h"
#include "sa_emu.h"
#include "sa_test_util.h"

using namespace sat;

namespace {

void run(const char* what, int op, sa_shape s, sa_params p, std::vector<float>* weight, bool binary,
         int64_t guide_ch = 0) {
    const int64_t n = numel(s);
    Rng r(1);
    std::vector<float> a((size_t)n), b((size_t)(binary ? n : guide_ch * s.n * s.h * s.w));
    fill_uniform(r, a, -2, 2);
    fill_uniform(r, b, -2, 2);
    void* st = nullptr;
    sa_cuda_stream_create(0, &st);
    DevBuf da(n * 4), db(std::max<int64_t>(4, (int64_t)b.size() * 4)), dy(n * 4),
        dw(weight ? (int64_t)weight->size() * 4 : 4);
    sa_cuda_memcpy_h2d(0, da.p, a.data(), n * 4, st);
    if (!b.empty()) sa_cuda_memcpy_h2d(0, db.p, b.data(), (int64_t)b.size() * 4, st);
    if (weight) {
        sa_cuda_memcpy_h2d(0, dw.p, weight->data(), (int64_t)weight->size() * 4, st);
        p.weight = dw.f();
    }
    sa_emu_kernel_reset();
    const int rc = sa_cuda_forward(op, da.f(), b.empty() ? nullptr : db.f(), dy.f(), s, &p, st);
    sa_cuda_stream_synchronize(0, st);
    sa_cuda_stream_destroy(0, st);
    if (rc) {
        printf("%s: %s\n", what, sa_last_error());
        return;
    }
    const double N = (double)n;
    double tl = 0, ts = 0;
    sa_emu_kernel_stats k;
    for (int i = 0; i < sa_emu_kernel_count(); i++) {
        sa_emu_kernel_get(i, &k);
        tl += (double)k.global_loads;
        ts += (double)k.global_stores;
        printf("| %-34s | %-28s | %4lld | %7.2f | %6.2f | %7.2f | %6.2f | %6.2f |\n", i == 0 ? what : "", k.name,
               (long long)k.launches, k.global_loads / N, k.global_stores / N, k.shared_loads / N,
               k.shared_stores / N, k.local_accesses / N);
    }
    printf("| %-34s | %-28s | %4s | %7.2f | %6.2f | %7s | %6s | %6s |\n", "", "**total**", "", tl / N, ts / N, "",
           "", "");
}

}  // namespace

int main() {
    if (!sa_emu_counting()) {
        printf("not the counting build\n");
        return 1;
    }
    sa_emu_select("h100", 1);
    sa_emu_set_orders(1);
    printf("memory accesses per output element, 4-byte words (emulated %s, one replay)\n\n", sa_emu_current_model());
    printf("| operator, shape | kernel | launches | global loads | global stores | shared loads | shared stores | stack |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    const sa_shape s{1, 8, 128, 128};
    sa_params p;
    sa_params_init(&p);
    run("LeakyReLU 1x8x128x128", SA_OP_LEAKY_RELU, s, p, nullptr, false);
    p.act = SA_ACT_RELU;
    run("star (relu) 1x8x128x128", SA_OP_STAR, s, p, nullptr, true);
    for (int k : {3, 7})
        for (int v : {SA_FRELU_FULL, SA_FRELU_LIGHT}) {
            sa_params q;
            sa_params_init(&q);
            q.k = k;
            q.variant = v;
            std::vector<float> w((size_t)(s.c * (v == SA_FRELU_LIGHT ? 2 * k : k * k)), 0.05f);
            char name[64];
            snprintf(name, sizeof name, "FReLU %s k=%d 1x8x128x128", v == SA_FRELU_LIGHT ? "LIGHT" : "FULL", k);
            run(name, SA_OP_FRELU, s, q, &w, false);
        }
    {
        sa_params q;
        sa_params_init(&q);
        q.iterations = 5;
        q.lambda = 0.5f;
        run("TD hard T=5 sigma=1 1x8x128x128", SA_OP_TD_LRELU, s, q, nullptr, false);
        // enough strips for every SM of the emulated H100 at 128 columns: the wavefront's widest
        run("TD hard T=5 sigma=1 1x40x64x512", SA_OP_TD_LRELU, sa_shape{1, 40, 64, 512}, q, nullptr, false);
        sa_internal_cuda_td_wave(1);
        run("TD hard T=5 sigma=1 1x40x64x512 (tiles)", SA_OP_TD_LRELU, sa_shape{1, 40, 64, 512}, q, nullptr, false);
        run("TD hard T=5 sigma=1 1x8x128x128 (tiles)", SA_OP_TD_LRELU, s, q, nullptr, false);
        sa_internal_cuda_td_wave(0);
        q.iterations = 40;
        run("TD hard T=40 (rounds)", SA_OP_TD_LRELU, s, q, nullptr, false);
        q.iterations = 2;
        q.sigma = 10.0f;
        q.radius = 32;
        run("TD hard T=2 r=32 (one iteration per launch)", SA_OP_TD_LRELU, sa_shape{1, 2, 128, 128}, q, nullptr, false);
    }
    {
        sa_params q;
        sa_params_init(&q);
        q.iterations = 3;
        q.lambda = 0.5f;
        sa_internal_cuda_ntd_weights(1);
        run("NTD hard T=3 S=3 P=1 1x8x64x64 (stored weights)", SA_OP_NTD_LRELU, sa_shape{1, 8, 64, 64}, q, nullptr, false);
        sa_internal_cuda_ntd_weights(2);
        run("NTD hard T=3 S=3 P=1 1x8x64x64 (recomputed)", SA_OP_NTD_LRELU, sa_shape{1, 8, 64, 64}, q, nullptr, false);
        sa_internal_cuda_ntd_weights(0);
    }
    printf("\nfloor: one read and one write per output (two reads for star)\n");
    return 0;
}
