// The emulated GPU's own test (docs/EMULATOR.md), against spatialact_emu:
//  1. the emulator: launch limits of the device model, barrier divergence, races and
//     uninitialised shared reads (replays), pointer and copy checks - on small kernels here;
//  2. every CUDA kernel on every emulated device model (h100, a100, sm86, sm61, tiny,
//     a100-nopool) against the CPU: FReLU (every k, FULL and LIGHT) and hard TD / NTD bit for bit
//     against the FMA CPU build (cpu_reference_forward), soft TD / NTD within tolerance,
//     element-wise at every pointer phase bit for bit; the TD planner's branches (one round,
//     rounds, one iteration per launch, generic radius, the global-memory path, the allocator
//     fallback) each taken at least once;
//  3. the broken kernels of mutants.cmake: each must be flagged (an emulator fault, or outputs
//     that differ from the real kernel's), on strongly coupled TD data under a test-only
//     shared-memory cap where the halo matters.
// Output ends with "emulated GPU: N passed, M failed"; exit status non-zero on failure.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <new>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "cuda_emu.h"
#include "sa_emu.h"
#include "common/sa_internal.h"
#include "sa_test_util.h"

using namespace sat;

// The broken kernels' entry points (mutants.cmake).
extern "C" {
#define SA_MUT_FRELU(name) int sa_mut_##name##_frelu_forward(const float*, float*, sa_shape, const sa_params*, void*);
#define SA_MUT_TD(name) int sa_mut_##name##_td_forward(const float*, float*, sa_shape, const sa_params*, void*); \
    int sa_mut_##name##_td_wave(int);
SA_MUT_FRELU(frelu_no_barrier)
SA_MUT_FRELU(frelu_stage_short)
SA_MUT_FRELU(frelu_unguarded)
SA_MUT_TD(td_no_barrier)
SA_MUT_TD(td_no_barrier_tiles)
SA_MUT_TD(td_halo_short)
SA_MUT_TD(td_stage_short)
SA_MUT_TD(td_wave_no_barrier)
SA_MUT_TD(td_bit_no_barrier)
SA_MUT_TD(td_bit_slot)
int sa_mut_ew_tail_short_leaky_forward(const float*, float*, sa_shape, const sa_params*, void*);
}

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

Tally g_t;
std::string g_device = "h100";

void check(bool ok, const std::string& what) { g_t(ok, "[" + g_device + "] " + what); }

int64_t faults() {
    sa_emu_stats s;
    sa_emu_get_stats(&s);
    return s.faults;
}

// ---- the bit-for-bit reference: today's CPU kernels in their FMA build ----------------------
// (One place to re-point if the CPU algorithm changes and stops being bit-identical.)
// TD's hard form on the CPU defaults to the incremental scheme, which keeps f as a running sum
// and is not bit-identical to the direct kernels; the CUDA kernels are compared with the
// direct ones (sa_internal_cpu_td_direct(1)), which compute every iteration afresh as they do.
int cpu_reference_forward(int op, const float* a, const float* b, float* y, sa_shape s, const sa_params* p) {
    const int isa = sa_cpu_isa();
    if (sa_cpu_isa_supported(SA_ISA_AVX2)) sa_cpu_set_isa(SA_ISA_AVX2);
    // The CPU's dense hard-form iterations (TD's direct kernels, NTD's dense iterations), the
    // algorithm of the CUDA kernels, rather than the incremental schemes' running sums.
    const int mode = sa_internal_cpu_td_direct(1), ntd_mode = sa_internal_cpu_ntd_dense(1);
    const int rc = sa_cpu_forward(op, a, b, y, s, p);
    sa_internal_cpu_td_direct(mode);
    sa_internal_cpu_ntd_dense(ntd_mode);
    sa_cpu_set_isa(isa);
    return rc;
}
bool have_fma_cpu() { return sa_cpu_isa_supported(SA_ISA_AVX2) == 1; }

// ---- one operator call on the emulated GPU --------------------------------------------------

typedef std::function<int(const float*, const float*, float*, sa_shape, const sa_params*, void*)> GpuEntry;

GpuEntry entry_of(int op) {
    return [op](const float* a, const float* b, float* y, sa_shape s, const sa_params* p, void* st) {
        return sa_cuda_forward(op, a, b, y, s, p, st);
    };
}

// Host-side parameter arrays, uploaded for the call.
struct HostParams {
    sa_params p;
    std::vector<float> alphas, weight, bias;
    HostParams() { sa_params_init(&p); }
};

struct GpuResult {
    int rc = SA_OK;
    std::string err;
    std::vector<float> y;
    int64_t new_faults = 0;
};

// oa, ob, oy: floats past 256-byte alignment of a, b and y.
GpuResult run_gpu(const GpuEntry& f, const std::vector<float>& a, const std::vector<float>* b, sa_shape s,
                  const HostParams& hp, int oa = 0, int ob = 0, int oy = 0) {
    GpuResult r;
    const int64_t n = numel(s);
    const int64_t f0 = faults();
    void* stream = nullptr;
    DevBuf da(((int64_t)a.size() + 4) * 4), db(b ? ((int64_t)b->size() + 4) * 4 : 4), dy((n + 4) * 4);
    DevBuf dal(std::max<size_t>(4, hp.alphas.size() * 4)), dw(std::max<size_t>(4, hp.weight.size() * 4)),
        dbias(std::max<size_t>(4, hp.bias.size() * 4));
    std::vector<float> out((size_t)n);
    fill_poison(out.data(), n);
    int rc = sa_cuda_stream_create(0, &stream);
    auto up = [&](void* dst, const void* src, int64_t bytes) {
        if (!rc && bytes > 0) rc = sa_cuda_memcpy_h2d(0, dst, src, bytes, stream);
    };
    up(da.f() + oa, a.data(), (int64_t)a.size() * 4);
    if (b) up(db.f() + ob, b->data(), (int64_t)b->size() * 4);
    up(dy.f() + oy, out.data(), n * 4);
    up(dal.p, hp.alphas.data(), (int64_t)hp.alphas.size() * 4);
    up(dw.p, hp.weight.data(), (int64_t)hp.weight.size() * 4);
    up(dbias.p, hp.bias.data(), (int64_t)hp.bias.size() * 4);
    sa_params p = hp.p;
    if (!hp.alphas.empty()) p.alpha_per_channel = dal.f();
    if (!hp.weight.empty()) p.weight = dw.f();
    p.bias = hp.bias.empty() ? nullptr : dbias.f();
    if (!rc) rc = f(da.f() + oa, b ? db.f() + ob : nullptr, dy.f() + oy, s, &p, stream);
    if (!rc) rc = sa_cuda_stream_synchronize(0, stream);
    if (!rc) rc = sa_cuda_memcpy_d2h(0, out.data(), dy.f() + oy, n * 4, stream);
    r.rc = rc;
    if (rc) r.err = sa_last_error();
    if (stream) sa_cuda_stream_destroy(0, stream);
    r.y = std::move(out);
    r.new_faults = faults() - f0;
    return r;
}

// Bitwise comparison (NaN payloads included: both backends propagate the input's NaN).
// Outputs that are not bit-identical; two NaNs count as identical, as in test_ops (a GPU
// returns the canonical NaN; on x86 the payload of NaN + NaN is the first operand's, and the
// host compiler may commute an addition).
int64_t differing(const std::vector<float>& x, const std::vector<float>& y) {
    int64_t d = 0;
    for (size_t i = 0; i < x.size(); i++) d += memcmp(&x[i], &y[i], 4) != 0 && !(x[i] != x[i] && y[i] != y[i]);
    return d;
}
// Outputs whose value differs (NaN == NaN).
int64_t flips(const std::vector<float>& x, const std::vector<float>& y) {
    int64_t d = 0;
    for (size_t i = 0; i < x.size(); i++) d += !(x[i] == y[i] || (x[i] != x[i] && y[i] != y[i]));
    return d;
}
int64_t nan_mismatch(const std::vector<float>& x, const std::vector<float>& y) {
    int64_t d = 0;
    for (size_t i = 0; i < x.size(); i++) d += (x[i] != x[i]) != (y[i] != y[i]);
    return d;
}
double rel_l2(const std::vector<float>& x, const std::vector<float>& y) {
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); i++) {
        if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
        const double d = (double)x[i] - y[i];
        num += d * d;
        den += (double)y[i] * y[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

std::vector<float> blobby(sa_shape s, uint64_t seed, double noise, double scale = 1.0) {
    Rng r(seed);
    std::vector<float> v((size_t)numel(s));
    for (int64_t p = 0; p < s.n * s.c; p++) {
        const double fx = 0.05 + 0.3 * r.unit(), fy = 0.05 + 0.3 * r.unit(), px = 6.28 * r.unit(), py = 6.28 * r.unit();
        for (int64_t i = 0; i < s.h; i++)
            for (int64_t j = 0; j < s.w; j++)
                v[(size_t)((p * s.h + i) * s.w + j)] =
                    (float)(scale * (sin(fx * (double)j + px) * cos(fy * (double)i + py) + noise * (2 * r.unit() - 1)));
    }
    return v;
}

void add_specials(std::vector<float>& v) {
    if (v.size() > 12) {
        v[3] = NAN;
        v[7] = INFINITY;
        v[11] = -INFINITY;
    }
}

// ---- 1. the emulator itself -----------------------------------------------------------------

void k_fill(float* y, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = (float)i;
}

// Shared staging with a barrier (correct) or without (a race that changes results).
template <bool BARRIER>
void k_shift(const float* x, float* y) {
    auto& s = sa_emu::static_shared<float[64]>();
    const int t = threadIdx.x;
    s[t] = x[t];
    if (BARRIER) __syncthreads();
    y[t] = s[(t + 1) % 64];
}

// A barrier inside a branch that only part of the block takes.
void k_divergent(float* y) {
    const int t = threadIdx.x;
    if (t < 16) {
        __syncthreads();
    }
    y[t] = 1.0f;
}

// Reads a shared word nobody wrote.
void k_uninit(float* y) {
    auto& s = sa_emu::static_shared<float[32]>();
    const int t = threadIdx.x;
    if (t > 0) s[t] = 1.0f;
    __syncthreads();
    y[t] = s[0] + s[t];
}

// Warp votes: y[t] and y[64 + t] = the low and high 16 bits of the ballot of "odd lane or
// t % 5 == 0" over t's warp (the high ones by a rotate). MODE 1: lanes 0..15 vote at another
// call (a fault); MODE 2: lanes 0..15 exit first (legal: the others' vote leaves them out).
template <int MODE>
void k_ballot(float* y) {
    const int t = threadIdx.x;
    if (MODE == 2 && (t & 31) < 16) {
        y[t] = 0.0f;
        y[64 + t] = 0.0f;
        return;
    }
    if (MODE == 1 && (t & 31) < 16) {
        y[t] = (float)__ballot_sync(0xffffffffu, 1);
        return;
    }
    const unsigned m = __ballot_sync(0xffffffffu, (t & 1) || t % 5 == 0);
    y[t] = (float)(m & 0xffffu);
    y[64 + t] = (float)(__funnelshift_r(m, m, 16) & 0xffffu);
}

void k_dyn(float* y) {
    float* s = sa_emu::dynamic_shared<float>();
    s[threadIdx.x] = 2.0f;
    __syncthreads();
    y[threadIdx.x] = s[threadIdx.x];
}

void test_emulator() {
    float* d = nullptr;
    check(cudaMalloc(&d, 4096 * 4) == cudaSuccess, "cudaMalloc");
    std::vector<float> h(4096);
    // a correct kernel runs, all orders agree
    const int64_t f0 = faults();
    sa_emu::make_launch(k_fill, dim3(16), dim3(256))(d, 4096);
    check(cudaGetLastError() == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess && faults() == f0,
          "emulator: a correct launch runs without fault");
    cudaMemcpy(h.data(), d, 4096 * 4, cudaMemcpyDeviceToHost);
    bool ok = true;
    for (int i = 0; i < 4096; i++) ok = ok && h[(size_t)i] == (float)i;
    check(ok, "emulator: every thread of the grid ran once");
    // launch limits
    sa_emu::make_launch(k_fill, dim3(1, 65536), dim3(32))(d, 0);
    check(cudaGetLastError() == cudaErrorInvalidConfiguration, "emulator: grid.y = 65536 refused");
    sa_emu::make_launch(k_fill, dim3(1, 1, 65536), dim3(32))(d, 0);
    check(cudaGetLastError() == cudaErrorInvalidConfiguration, "emulator: grid.z = 65536 refused");
    sa_emu::make_launch(k_fill, dim3(1), dim3(1025))(d, 0);
    check(cudaGetLastError() == cudaErrorInvalidConfiguration, "emulator: 1025 threads per block refused");
    sa_emu::make_launch(k_fill, dim3(1), dim3(1, 1, 65))(d, 0);
    check(cudaGetLastError() == cudaErrorInvalidConfiguration, "emulator: block.z = 65 refused");
    int optin = 0, count = 0;
    cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0);
    if (optin > 48 * 1024) {
        sa_emu::make_launch(k_dyn, dim3(1), dim3(32), 48 * 1024 + 4)(d);
        check(cudaGetLastError() == cudaErrorInvalidValue,
              "emulator: dynamic shared memory above 48 KiB refused without cudaFuncSetAttribute");
        check(cudaFuncSetAttribute(k_dyn, cudaFuncAttributeMaxDynamicSharedMemorySize, optin) == cudaSuccess,
              "emulator: cudaFuncSetAttribute up to the opt-in limit");
        sa_emu::make_launch(k_dyn, dim3(1), dim3(32), 48 * 1024 + 4)(d);
        check(cudaGetLastError() == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess,
              "emulator: dynamic shared memory above 48 KiB after cudaFuncSetAttribute");
    }
    check(cudaFuncSetAttribute(k_dyn, cudaFuncAttributeMaxDynamicSharedMemorySize, optin + 4) == cudaErrorInvalidValue,
          "emulator: cudaFuncSetAttribute above the opt-in limit refused");
    sa_emu::make_launch(k_dyn, dim3(1), dim3(32), (size_t)optin + 4)(d);
    check(cudaGetLastError() == cudaErrorInvalidValue, "emulator: a launch above the opt-in limit refused");
    cudaGetDeviceCount(&count);
    check(count >= 1, "emulator: a device");

    sa_emu_set_quiet(1);
    std::vector<float> x(64);
    for (int i = 0; i < 64; i++) x[(size_t)i] = (float)i;
    float* dx = nullptr;
    cudaMalloc(&dx, 64 * 4);
    cudaMemcpy(dx, x.data(), 256, cudaMemcpyHostToDevice);
    int64_t f1 = faults();
    sa_emu::make_launch(k_shift<true>, dim3(1), dim3(64))(dx, d);
    check(cudaGetLastError() == cudaSuccess && faults() == f1, "emulator: staging with a barrier is race-free");
    sa_emu::make_launch(k_shift<false>, dim3(1), dim3(64))(dx, d);
    check(cudaGetLastError() == cudaErrorLaunchFailure && faults() == f1 + 1 &&
              strstr(sa_emu_last_fault(), "replay differs"),
          std::string("emulator: the staging race without a barrier is flagged by the replays: ") + sa_emu_last_fault());
    sa_emu::make_launch(k_divergent, dim3(1), dim3(64))(d);
    check(cudaGetLastError() == cudaErrorLaunchFailure && strstr(sa_emu_last_fault(), "not reached by the whole block"),
          std::string("emulator: a barrier in divergent code is flagged: ") + sa_emu_last_fault());
    {
        const int64_t f2 = faults();
        for (int mode : {0, 2}) {
            if (mode == 0)
                sa_emu::make_launch(k_ballot<0>, dim3(1), dim3(64))(d);
            else
                sa_emu::make_launch(k_ballot<2>, dim3(1), dim3(64))(d);
            const bool ran = cudaGetLastError() == cudaSuccess && faults() == f2;
            std::vector<float> hb(128);
            cudaMemcpy(hb.data(), d, 512, cudaMemcpyDeviceToHost);
            bool same = true;
            for (int t = 0; t < 64; t++) {
                unsigned m = 0;
                for (int l = 0; l < 32; l++)
                    if (mode == 0 || l >= 16) m |= (((l & 1) || ((t & ~31) + l) % 5 == 0) ? 1u : 0u) << l;
                const bool out = mode == 2 && (t & 31) < 16;  // exited lanes wrote zeros
                same = same && hb[(size_t)t] == (out ? 0.0f : (float)(m & 0xffffu)) &&
                       hb[(size_t)(64 + t)] == (out ? 0.0f : (float)(m >> 16));
            }
            check(ran && same, mode == 0 ? "emulator: __ballot_sync votes per warp, every lane gets its warp's bits"
                                         : "emulator: a vote whose mask names exited lanes leaves them out");
        }
    }
    sa_emu::make_launch(k_ballot<1>, dim3(1), dim3(64))(d);
    check(cudaGetLastError() == cudaErrorLaunchFailure && strstr(sa_emu_last_fault(), "not reached by lane"),
          std::string("emulator: a ballot in divergent code is flagged: ") + sa_emu_last_fault());
    sa_emu::make_launch(k_uninit, dim3(1), dim3(32))(d);
    check(cudaGetLastError() == cudaErrorLaunchFailure && strstr(sa_emu_last_fault(), "uninitialised"),
          std::string("emulator: an unwritten shared word read is flagged: ") + sa_emu_last_fault());
    sa_emu::make_launch(k_fill, dim3(1), dim3(32))(x.data(), 32);
    check(cudaGetLastError() == cudaErrorLaunchFailure && strstr(sa_emu_last_fault(), "not device memory"),
          std::string("emulator: a host pointer as kernel argument is flagged: ") + sa_emu_last_fault());
    sa_emu::make_launch(k_divergent, dim3(1), dim3(64))(d);
    check(cudaStreamSynchronize(nullptr) == cudaErrorLaunchFailure && cudaGetLastError() == cudaSuccess &&
              cudaStreamSynchronize(nullptr) == cudaSuccess,
          "emulator: a fault is reported once, by the next synchronisation");
    sa_emu_set_quiet(0);
    check(cudaMemcpy(h.data(), d, 4097 * 4, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue,
          "emulator: a copy past the allocation refused");
    check(cudaMemcpy(d, h.data(), 16, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue,
          "emulator: a copy in the wrong direction refused");
    cudaGetLastError();
    cudaFree(dx);
    cudaFree(d);
    sa_emu_reset_fault();
}

// ---- 2. every kernel against the CPU ---------------------------------------------------------

// Planner branches seen (td_tile_kernel launches per call; the global path's kernels).
struct Branches {
    int one_round = 0, rounds = 0, one_iter = 0, generic_radius = 0, global = 0, nopool = 0, blocks_loop = 0;
    int wave = 0;  // calls run by the wavefront kernel
    int bits = 0;  // calls run by the bit wavefront
} g_br;

struct KCount {
    int64_t tile = 0, tile_r0 = 0, global = 0, tile_threads = 0, wave = 0, bits = 0;
};
KCount kernel_counts() {
    KCount k;
    sa_emu_kernel_stats s;
    for (int i = 0; i < sa_emu_kernel_count(); i++) {
        sa_emu_kernel_get(i, &s);
        if (!strncmp(s.name, "td_tile_kernel", 14)) {
            k.tile += s.launches;
            k.tile_threads += s.threads;
            if (!strncmp(s.name, "td_tile_kernel<0,", 17)) k.tile_r0 += s.launches;
        }
        if (!strncmp(s.name, "td_global_", 10)) k.global += s.launches;
        if (!strncmp(s.name, "td_wave_kernel", 14)) k.wave += s.launches;
        if (!strncmp(s.name, "td_bit_kernel", 13)) k.bits += s.launches;
    }
    return k;
}

void test_frelu() {
    // (300 rows: column strips of 4, 4 and 2 steps of 32 rows; widths that are multiples of 4
    // take the float4 kernels, the others the scalar ones)
    const sa_shape shapes[] = {{1, 1, 1, 1}, {2, 3, 5, 7},  {1, 2, 33, 65}, {1, 1, 70, 31}, {2, 2, 40, 97},
                               {1, 1, 300, 41}, {2, 1, 9, 4}, {1, 2, 37, 64}, {1, 1, 300, 36}};
    int64_t total = 0, same = 0;
    uint64_t seed = 100;
    for (int wide = 0; wide < 2; wide++)  // then the 64-bit-index instantiation, on the same shapes
    for (sa_shape s : shapes)
        for (int v : {SA_FRELU_FULL, SA_FRELU_LIGHT})
            for (int k : {1, 3, 5, 7}) {
                sa_internal_cuda_frelu_wide(wide);
                HostParams hp;
                hp.p.k = k;
                hp.p.variant = v;
                Rng r(seed++);
                hp.weight.resize((size_t)(s.c * (v == SA_FRELU_LIGHT ? 2 * k : k * k)));
                fill_uniform(r, hp.weight, -1.0f / k, 1.0f / k);
                hp.bias.resize((size_t)s.c);
                fill_uniform(r, hp.bias, -0.5f, 0.5f);
                std::vector<float> x((size_t)numel(s));
                fill_uniform(r, x, -2.0f, 2.0f);
                add_specials(x);
                std::vector<float> yc(x.size());
                sa_params p = hp.p;
                p.weight = hp.weight.data();
                p.bias = hp.bias.data();
                cpu_reference_forward(SA_OP_FRELU, x.data(), nullptr, yc.data(), s, &p);
                GpuResult g = run_gpu(entry_of(SA_OP_FRELU), x, nullptr, s, hp);
                const int64_t d = differing(g.y, yc);
                total += (int64_t)x.size();
                same += (int64_t)x.size() - d;
                char what[160];
                snprintf(what, sizeof what, "frelu %s k=%d %s%s: %lld of %zu outputs differ from the FMA CPU build",
                         v == SA_FRELU_LIGHT ? "LIGHT" : "FULL", k, shape_str(s).c_str(), wide ? " (64-bit indices)" : "",
                         (long long)d, x.size());
                check(g.rc == SA_OK && g.new_faults == 0 && (!have_fma_cpu() || d == 0), what + (g.rc ? " " + g.err : ""));
            }
    sa_internal_cuda_frelu_wide(0);
    printf("  [%s] FReLU: %lld of %lld outputs bit-identical to the FMA CPU build (32- and 64-bit indices)\n",
           g_device.c_str(), (long long)same, (long long)total);
}

// Element-wise operators at every pointer phase (0..3 floats past 16-byte alignment for each of
// a, b, y): the float4 path with every head length and the scalar path, bit for bit.
void test_elementwise() {
    const sa_shape s{1, 3, 7, 13};  // 273 elements, planes of 91: vectors straddle channels
    Rng r(7);
    std::vector<float> a((size_t)numel(s)), b(a.size());
    fill_uniform(r, a, -2, 2);
    fill_uniform(r, b, -2, 2);
    add_specials(a);
    int cases = 0, bad = 0;
    for (int op = 0; op < 5; op++) {  // leaky, prelu, leaky backward, star relu6, star leaky
        HostParams hp;
        int code = SA_OP_LEAKY_RELU;
        bool binary = false;
        if (op == 1) {
            hp.alphas = {0.1f, 0.0f, -0.3f};
        } else if (op == 2) {
            binary = true;
        } else if (op >= 3) {
            code = SA_OP_STAR;
            binary = true;
            hp.p.act = op == 3 ? SA_ACT_RELU6 : SA_ACT_LEAKY_RELU;
            hp.p.alpha = 0.2f;
        }
        std::vector<float> yc(a.size());
        sa_params p = hp.p;
        if (!hp.alphas.empty()) p.alpha_per_channel = hp.alphas.data();
        if (op == 2)
            sa_cpu_leaky_relu_backward(a.data(), b.data(), yc.data(), s, &p);
        else
            sa_cpu_forward(code, a.data(), binary ? b.data() : nullptr, yc.data(), s, &p);
        GpuEntry e = op == 2 ? GpuEntry([](const float* x, const float* dy, float* dx, sa_shape sh, const sa_params* pp,
                                           void* st) { return sa_cuda_leaky_relu_backward(x, dy, dx, sh, pp, st); })
                             : entry_of(code);
        for (int oa = 0; oa < 4; oa++)
            for (int ob = 0; ob < (binary ? 4 : 1); ob++)
                for (int oy = 0; oy < 4; oy++) {
                    GpuResult g = run_gpu(e, a, binary ? &b : nullptr, s, hp, oa, ob, oy);
                    cases++;
                    const int64_t d = differing(g.y, yc);
                    if (g.rc || g.new_faults || d) {
                        bad++;
                        char w[160];
                        snprintf(w, sizeof w, "element-wise op %d phases a+%d b+%d y+%d: %lld outputs differ %s", op, oa,
                                 ob, oy, (long long)d, g.err.c_str());
                        check(false, w);
                    }
                }
    }
    check(bad == 0, "element-wise: " + std::to_string(cases) + " pointer-phase cases bit for bit with the CPU");
}

struct TdCase {
    sa_shape s;
    float eps, lambda, sigma;
    int radius, T;
    const char* what;
};

int64_t g_td_n = 0, g_td_same = 0, g_ntd_n = 0, g_ntd_same = 0;

void td_one(const TdCase& c, uint64_t seed, bool ntd = false, int S = 3, int P = 1, int knn = 0, int Cg = 0) {
    HostParams hp;
    hp.p.eps = c.eps;
    hp.p.lambda = c.lambda;
    hp.p.sigma = c.sigma;
    hp.p.radius = c.radius;
    hp.p.iterations = c.T;
    hp.p.search = S;
    hp.p.patch = P;
    hp.p.knn = knn;
    hp.p.guide_channels = Cg;
    std::vector<float> o = blobby(c.s, seed, 0.4), guide;
    add_specials(o);
    if (Cg) guide = blobby(sa_shape{c.s.n, Cg, c.s.h, c.s.w}, seed + 1, 0.2);
    std::vector<float> yc(o.size());
    const int op = ntd ? SA_OP_NTD_LRELU : SA_OP_TD_LRELU;
    cpu_reference_forward(op, o.data(), Cg ? guide.data() : nullptr, yc.data(), c.s, &hp.p);
    sa_emu_kernel_reset();
    GpuResult g = run_gpu(entry_of(op), o, Cg ? &guide : nullptr, c.s, hp);
    const KCount k = kernel_counts();
    char what[256];
    const bool hard = c.eps == 0.0f;
    if (!ntd) {
        if (k.wave) g_br.wave++;
        if (k.bits) g_br.bits++;
        if (k.tile == 1) g_br.one_round++;
        if (k.tile > 1 && k.tile < c.T) g_br.rounds++;
        if (k.tile == c.T && c.T > 1) g_br.one_iter++;
        if (k.tile_r0) g_br.generic_radius++;
        if (k.global) g_br.global++;
        if (k.tile && !strcmp(sa_emu_current_model(), "tiny")) g_br.blocks_loop++;
        if ((k.tile > 1 || k.global) && (!strcmp(sa_emu_current_model(), "tiny") ||
                                         !strcmp(sa_emu_current_model(), "a100-nopool")))
            g_br.nopool++;
    }
    const int64_t d = differing(g.y, yc), fl = flips(g.y, yc);
    const double e = rel_l2(g.y, yc);
    snprintf(what, sizeof what, "%s %s %s eps=%g lambda=%g sigma=%g r=%d T=%d%s%s: %lld of %zu differ (%lld values), "
             "rel L2 %.2g; tile launches %lld, global %lld",
             ntd ? "NTD" : "TD", c.what, shape_str(c.s).c_str(), (double)c.eps, (double)c.lambda, (double)c.sigma,
             c.radius, c.T, ntd && Cg ? " guide" : "", ntd && knn ? " knn" : "", (long long)d, o.size(), (long long)fl, e,
             (long long)k.tile, (long long)k.global);
    bool ok = g.rc == SA_OK && g.new_faults == 0;
    if (hard) (ntd ? g_ntd_n : g_td_n) += (int64_t)o.size(), (ntd ? g_ntd_same : g_td_same) += (int64_t)o.size() - d;
    if (hard && !ntd)
        ok = ok && (!have_fma_cpu() || d == 0);  // the design's claim: bit for bit
    else if (hard)
        ok = ok && (double)fl / (double)o.size() < 1e-3;  // NTD: expf vs the CPU's exp: rare flips
    else
        ok = ok && e <= 1e-5 && nan_mismatch(g.y, yc) == 0;  // soft: expf on both, different orders
    check(ok, what + (g.rc ? " " + g.err : ""));
}

void test_td() {
    printf("  CPU reference: %s\n", have_fma_cpu() ? "avx2 (FMA)" : "baseline (no FMA here: no bit-for-bit checks)");
    const TdCase cases[] = {
        {{2, 3, 67, 131}, 0.0f, 0.3f, 1.0f, 0, 5, "default"},
        {{2, 3, 67, 131}, 0.1f, 0.3f, 1.0f, 0, 5, "default soft"},
        {{1, 2, 100, 90}, 0.0f, 0.5f, 1.0f, 0, 40, "rounds"},
        {{1, 2, 100, 90}, 0.1f, 0.5f, 1.0f, 0, 40, "rounds soft"},
        {{1, 2, 60, 70}, 0.0f, 0.5f, 3.0f, 12, 3, "generic radius"},
        {{1, 1, 60, 75}, 0.0f, 0.5f, 10.0f, 32, 2, "largest radius"},
        {{1, 1, 1, 1}, 0.0f, 0.5f, 1.0f, 0, 5, "1x1"},
        {{3, 1, 1, 17}, 0.1f, 0.5f, 1.0f, 0, 5, "one row"},
        {{1, 2, 33, 1}, 0.0f, 0.5f, 1.0f, 0, 5, "one column"},
        {{1, 1, 9, 300}, 0.0f, 0.0f, 1.0f, 0, 5, "lambda 0"},
        {{1, 1, 9, 300}, 0.2f, 0.5f, 1.0f, 0, 0, "T 0 soft"},
        // strongly coupled: a truncated wide kernel (large edge taps), lambda far above |o|
        {{1, 2, 96, 100}, 0.0f, 2.0f, 3.0f, 2, 8, "coupled"},
        // several strips of the bit wavefront (226 columns at T = 5, r = 3): 226 + 74, and
        // 226 + 226 + 8 (a last strip of one chunk)
        {{1, 1, 37, 300}, 0.0f, 0.5f, 1.0f, 0, 5, "strips"},
        {{1, 2, 21, 460}, 0.0f, 0.5f, 1.0f, 0, 5, "strips, narrow last"},
    };
    uint64_t seed = 500;
    // The tile and global-memory paths (the planner's branches are counted here), then the
    // float wavefront wherever its rings fit, then the bit wavefront wherever it applies (hard
    // form, radius 1 to 4; the rest as before): the same bits.
    for (int wave : {1, 2, 3}) {
        sa_internal_cuda_td_wave(wave);
        for (const TdCase& c : cases) td_one(c, seed++);
    }
    sa_internal_cuda_td_wave(0);
    const TdCase nc[] = {
        {{2, 3, 30, 35}, 0.0f, 0.5f, 1.0f, 0, 3, "mean guide"},
        {{2, 3, 30, 35}, 0.1f, 0.5f, 1.0f, 0, 3, "mean guide soft"},
        {{1, 1, 1, 1}, 0.1f, 0.5f, 1.0f, 0, 2, "1x1"},
    };
    // NTD with stored weights, then with weights recomputed on chip by every iteration (the
    // planner's other choice; the same bits either way)
    for (int mode : {1, 2}) {
        sa_internal_cuda_ntd_weights(mode);
        td_one(nc[0], seed++, true);
        td_one(nc[1], seed++, true);
        td_one(nc[0], seed++, true, 2, 2, 6, 0);   // knn
        td_one(nc[1], seed++, true, 3, 1, 0, 3);   // caller's guide
        td_one(nc[0], seed++, true, 7, 3, 0, 2);   // largest window, guide
        td_one(nc[2], seed++, true);
    }
    sa_internal_cuda_ntd_weights(0);
    printf("  [%s] hard TD: %lld of %lld outputs bit-identical to the FMA CPU build; hard NTD: %lld of %lld\n",
           g_device.c_str(), (long long)g_td_same, (long long)g_td_n, (long long)g_ntd_same, (long long)g_ntd_n);
}

// Issue 11, item 5, the first-run fixes, on two emulated devices:
//  - a call runs on the device of its pointers, not on the thread's current device (which is
//    whichever GPU the thread last allocated on), and leaves its device current;
//    tensors of two GPUs, host memory and a stream of another GPU are refused by name, and
//    sa_cuda_forward_on refuses tensors of a GPU other than the one it names;
//  - the TD kernels' opt-in shared-memory attribute is set once per device and kernel, not per
//    call (per call, two threads with different shapes lowered it under each other's launch);
//  - workspaces come from one stream-ordered pool per device (none where the device has no
//    pools: cudaMalloc then);
//  - the debug mode names the kernel that faulted in the call that launched it;
//  - sa_cuda_versions reports the (emulated) driver and runtime.
void first_run_fixes() {
    const sa_shape s{1, 2, 4, 8};
    const int64_t n = 64, bytes = n * 4;
    std::vector<float> h(n), out(n, 0.0f);
    for (int64_t i = 0; i < n; i++) h[(size_t)i] = (float)(i - 30) * 0.25f;
    void *x1 = nullptr, *y1 = nullptr, *z0 = nullptr, *s0 = nullptr, *s1 = nullptr;
    sa_cuda_malloc(1, bytes, &x1);
    sa_cuda_malloc(1, bytes, &y1);
    sa_cuda_memcpy_h2d(1, x1, h.data(), bytes, nullptr);
    sa_cuda_malloc(0, bytes, &z0);
    sa_cuda_stream_create(0, &s0);
    sa_cuda_stream_create(1, &s1);
    int cur = -1;
    cudaSetDevice(0);  // the thread's current device: 0
    sa_params p;
    sa_params_init(&p);
    p.alpha = 0.5f;
    sa_emu_set_quiet(1);
    const int64_t f0 = faults();
    int rc = sa_cuda_leaky_relu_forward((const float*)x1, (float*)y1, s, &p, nullptr);
    if (!rc) rc = sa_cuda_stream_synchronize(1, nullptr);
    if (!rc) rc = sa_cuda_memcpy_d2h(1, out.data(), y1, bytes, nullptr);
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; i++) wrong += out[(size_t)i] != (h[(size_t)i] > 0 ? h[(size_t)i] : 0.5f * h[(size_t)i]);
    check(rc == SA_OK && wrong == 0 && faults() == f0,
          "multi-GPU: leaky_relu on GPU-1 memory while GPU 0 is current runs on GPU 1 (rc " + std::to_string(rc) +
              ", " + std::to_string(wrong) + " wrong)");
    cudaGetDevice(&cur);
    check(cur == 1, "multi-GPU: the call's device is left current (" + std::to_string(cur) + ")");
    rc = sa_cuda_leaky_relu_forward((const float*)x1, (float*)y1, s, &p, s1);
    check(rc == SA_OK, "multi-GPU: with a stream of GPU 1");
    rc = sa_cuda_leaky_relu_forward((const float*)x1, (float*)y1, s, &p, s0);
    check(rc == SA_ERR_INVALID_ARGUMENT && strstr(sa_last_error(), "stream belongs to GPU 0"),
          std::string("multi-GPU: a stream of GPU 0 with tensors of GPU 1 is refused: ") + sa_last_error());
    rc = sa_cuda_leaky_relu_forward((const float*)x1, (float*)z0, s, &p, nullptr);
    check(rc == SA_ERR_INVALID_ARGUMENT && strstr(sa_last_error(), "y is memory of GPU 0, x of GPU 1"),
          std::string("multi-GPU: tensors of two GPUs are refused: ") + sa_last_error());
    rc = sa_cuda_leaky_relu_forward(h.data(), (float*)y1, s, &p, nullptr);
    check(rc == SA_ERR_INVALID_ARGUMENT && strstr(sa_last_error(), "x (") && strstr(sa_last_error(), "not device memory"),
          std::string("host memory is refused: ") + sa_last_error());
    rc = sa_cuda_forward_on(0, SA_OP_LEAKY_RELU, (const float*)x1, nullptr, (float*)y1, s, &p, nullptr);
    check(rc == SA_ERR_INVALID_ARGUMENT && strstr(sa_last_error(), "names GPU 0"),
          std::string("sa_cuda_forward_on(0) with tensors of GPU 1 is refused: ") + sa_last_error());
    rc = sa_cuda_forward_on(1, SA_OP_LEAKY_RELU, (const float*)x1, nullptr, (float*)y1, s, &p, nullptr);
    check(rc == SA_OK, "sa_cuda_forward_on(1) with tensors of GPU 1");
    rc = sa_cuda_memcpy_d2h(1, out.data(), y1, bytes, s0);
    check(rc == SA_ERR_INVALID_ARGUMENT && strstr(sa_last_error(), "stream belongs to GPU 0"),
          std::string("a copy on GPU 1 with a stream of GPU 0 is refused: ") + sa_last_error());
    check(faults() == f0, "multi-GPU: nothing refused reached a kernel");
    sa_emu_set_quiet(0);

    // TD: the opt-in attribute once per device and kernel; workspaces from one pool per device.
    sa_emu_stats st0, st1;
    sa_emu_get_stats(&st0);
    int fails = 0;
    for (int k = 0; k < 12; k++) {
        HostParams hp;
        hp.p.iterations = 12;  // rounds: a workspace
        hp.p.eps = 0.05f;
        const sa_shape ts{1, 1, 40 + 8 * (k % 3), 72 + 16 * (k % 4)};
        std::vector<float> o((size_t)numel(ts));
        Rng r(100 + k);
        fill_uniform(r, o, -1, 1);
        fails += run_gpu(entry_of(SA_OP_TD_LRELU), o, nullptr, ts, hp).rc != SA_OK;
        if (k % 4 == 0)  // NTD: always a workspace (its weights)
            fails += run_gpu(entry_of(SA_OP_NTD_LRELU), o, nullptr, ts, hp).rc != SA_OK;
    }
    sa_emu_get_stats(&st1);
    const int64_t sets = st1.func_attribute_sets - st0.func_attribute_sets;
    check(fails == 0, "TD: 12 calls of 12 shapes run, NTD 3");
    check(sets <= 2, "TD: the opt-in attribute is set once per kernel and device, not per call (" +
                         std::to_string(sets) + " sets in 12 calls)");
    check(st1.pools_created <= 2 && st1.pool_allocations > st0.pool_allocations,
          "workspaces from the device's pool (" + std::to_string(st1.pools_created) + " pools, " +
              std::to_string(st1.pool_allocations - st0.pool_allocations) + " allocations from them)");
    check(sa_cuda_release_workspaces(0) == SA_OK, "sa_cuda_release_workspaces");

    // The debug mode: a broken kernel's fault fails the call that launched it, named.
    {
        HostParams hp;
        hp.p.k = 3;
        const sa_shape fs{1, 2, 45, 70};
        Rng r(11);
        hp.weight.resize((size_t)(fs.c * 9));
        fill_uniform(r, hp.weight, -0.3f, 0.3f);
        std::vector<float> x((size_t)numel(fs));
        fill_uniform(r, x, -2, 2);
        auto broken = [](const float* a, const float*, float* y, sa_shape sh, const sa_params* pp, void* st) {
            return sa_mut_frelu_no_barrier_frelu_forward(a, y, sh, pp, st);
        };
        sa_emu_set_quiet(1);
        sa_emu_set_late_faults(1);  // as on a GPU: the launch returns, a later sync reports
        GpuResult plain = run_gpu(broken, x, nullptr, fs, hp);
        sa_cuda_set_debug(1);
        const int64_t fd = faults();
        void* st = nullptr;
        DevBuf dx(numel(fs) * 4), dy(numel(fs) * 4), dw((int64_t)hp.weight.size() * 4);
        sa_cuda_stream_create(0, &st);
        sa_cuda_memcpy_h2d(0, dx.p, x.data(), numel(fs) * 4, st);
        sa_cuda_memcpy_h2d(0, dw.p, hp.weight.data(), (int64_t)hp.weight.size() * 4, st);
        sa_params fp = hp.p;
        fp.weight = dw.f();
        const int drc = sa_mut_frelu_no_barrier_frelu_forward(dx.f(), dy.f(), fs, &fp, st);
        const std::string msg = sa_last_error();
        const bool faulted = faults() > fd;
        sa_cuda_set_debug(0);
        sa_emu_set_late_faults(0);
        sa_cuda_stream_synchronize(0, st);
        sa_cuda_stream_destroy(0, st);
        sa_emu_set_quiet(0);
        sa_emu_reset_fault();
        check(plain.new_faults > 0 && plain.rc == SA_ERR_CUDA && plain.err.find("sa_cuda_stream_synchronize") == 0,
              "debug mode off: the fault surfaces at the next synchronisation: " + plain.err.substr(0, 120));
        check(faulted && (drc == SA_ERR_CUDA && msg.find("kernel frelu_kernel") != std::string::npos &&
                           msg.find("debug mode") != std::string::npos),
              "debug mode: the faulting kernel is named by the call that launched it: " + msg);
    }

    int driver = 0, runtime = 0;
    check(sa_cuda_versions(&driver, &runtime) == SA_OK && driver == 13000 && runtime == 13000,
          "sa_cuda_versions: driver " + std::to_string(driver) + ", runtime " + std::to_string(runtime));
    sa_cuda_stream_destroy(0, s0);
    sa_cuda_stream_destroy(1, s1);
    sa_cuda_free(1, x1);
    sa_cuda_free(1, y1);
    sa_cuda_free(0, z0);
}

// ---- 3. the broken kernels ---------------------------------------------------------------

// Runs fn in a child process (ASan builds: a report aborts the child, which is the finding),
// its output discarded; returns what the child wrote to `out` and how it ended.
struct ChildResult {
    bool exited_ok;
    bool asan;
    std::string log;
};
ChildResult in_child(const std::function<void()>& fn) {
    ChildResult r{false, false, ""};
    int pfd[2];
    if (pipe(pfd)) return r;
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        dup2(pfd[1], 2);
        dup2(pfd[1], 1);
        fn();
        fflush(stdout);
        _exit(0);
    }
    close(pfd[1]);
    char buf[4096];
    ssize_t k;
    while ((k = read(pfd[0], buf, sizeof buf)) > 0) r.log.append(buf, (size_t)k);
    close(pfd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    r.exited_ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    r.asan = r.log.find("AddressSanitizer") != std::string::npos;
    return r;
}

struct Mutant {
    const char* name;
    int op;  // SA_OP_FRELU, SA_OP_TD_LRELU, SA_OP_LEAKY_RELU
    GpuEntry entry;
    int (*wave)(int) = nullptr;  // TD: the mutant library's wavefront switch (sa_internal_cuda_td_wave)
};

template <class F>
GpuEntry unary(F f) {
    return [f](const float* a, const float*, float* y, sa_shape s, const sa_params* p, void* st) {
        return f(a, y, s, p, st);
    };
}

std::vector<std::string> g_mutant_summary;
std::vector<std::string> g_flagged;  // mutants flagged in this section

void test_mutants() {
    const Mutant ms[] = {
        {"frelu_no_barrier", SA_OP_FRELU, unary(sa_mut_frelu_no_barrier_frelu_forward)},
        {"frelu_stage_short", SA_OP_FRELU, unary(sa_mut_frelu_stage_short_frelu_forward)},
        {"frelu_unguarded", SA_OP_FRELU, unary(sa_mut_frelu_unguarded_frelu_forward)},
        {"td_no_barrier", SA_OP_TD_LRELU, unary(sa_mut_td_no_barrier_td_forward), sa_mut_td_no_barrier_td_wave},
        {"td_no_barrier_tiles", SA_OP_TD_LRELU, unary(sa_mut_td_no_barrier_tiles_td_forward), sa_mut_td_no_barrier_tiles_td_wave},
        {"td_halo_short", SA_OP_TD_LRELU, unary(sa_mut_td_halo_short_td_forward), sa_mut_td_halo_short_td_wave},
        {"td_stage_short", SA_OP_TD_LRELU, unary(sa_mut_td_stage_short_td_forward), sa_mut_td_stage_short_td_wave},
        {"td_wave_no_barrier", SA_OP_TD_LRELU, unary(sa_mut_td_wave_no_barrier_td_forward), sa_mut_td_wave_no_barrier_td_wave},
        {"td_bit_no_barrier", SA_OP_TD_LRELU, unary(sa_mut_td_bit_no_barrier_td_forward), sa_mut_td_bit_no_barrier_td_wave},
        {"td_bit_slot", SA_OP_TD_LRELU, unary(sa_mut_td_bit_slot_td_forward), sa_mut_td_bit_slot_td_wave},
        {"ew_tail_short", SA_OP_LEAKY_RELU, unary(sa_mut_ew_tail_short_leaky_forward)},
    };
    for (const Mutant& m : ms) {
        // the tile kernels' mutants run their tile path, the wavefronts' their wavefront
        const bool bits = !strncmp(m.name, "td_bit", 6);
        if (m.wave) m.wave(bits ? 3 : strncmp(m.name, "td_wave", 7) == 0 ? 2 : 1);
        HostParams hp;
        sa_shape s{1, 2, 45, 70};
        std::vector<float> x;
        if (m.op == SA_OP_FRELU) {
            hp.p.k = 3;
            Rng r(11);
            hp.weight.resize((size_t)(s.c * 9));
            fill_uniform(r, hp.weight, -0.3f, 0.3f);
            x.resize((size_t)numel(s));
            fill_uniform(r, x, -2, 2);
        } else if (m.op == SA_OP_TD_LRELU) {
            // Strongly coupled (a truncated wide kernel, lambda far above |o|), the soft gate (every
            // change in f reaches y), small tiles (the section's shared-memory cap): a halo one
            // iteration short changes many outputs.
            s = sa_shape{1, 2, 96, 100};
            hp.p.lambda = 2.0f;
            hp.p.sigma = 3.0f;
            hp.p.radius = 2;
            hp.p.iterations = 8;
            if (!strncmp(m.name, "td_wave", 7) || bits) hp.p.iterations = 4;  // the wavefront's rings fit 24 KiB
            hp.p.eps = bits ? 0.0f : 0.05f;  // (the bit wavefront is the hard form's)
            x = blobby(s, 21, 0.4, 0.3);
        } else {
            s = sa_shape{1, 1, 3, 11};
            Rng r(12);
            x.resize((size_t)numel(s));
            fill_uniform(r, x, -2, 2);
        }
        sa_emu_set_quiet(1);
        const GpuResult good = run_gpu(entry_of(m.op), x, nullptr, s, hp);
        std::string how;
        int64_t d = 0;
        if (kAsan) {
            // the whole broken run in a child: an AddressSanitizer report ends only the child
            void* shared = mmap(nullptr, x.size() * 4 + 64, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
            int64_t* hdr = (int64_t*)shared;
            float* yout = (float*)((char*)shared + 64);
            hdr[0] = hdr[1] = -1;
            ChildResult cr = in_child([&] {
                GpuResult g = run_gpu(m.entry, x, nullptr, s, hp);
                hdr[0] = g.rc;
                hdr[1] = g.new_faults;
                memcpy(yout, g.y.data(), g.y.size() * 4);
            });
            if (cr.asan) {
                how = "AddressSanitizer (out-of-bounds access)";
            } else if (cr.exited_ok) {
                std::vector<float> y(yout, yout + x.size());
                d = differing(y, good.y);
                if (hdr[1] > 0) how = "emulator fault";
                else if (d > 0) how = std::to_string(d) + " outputs differ";
            } else {
                how = "child died";
            }
            munmap(shared, x.size() * 4 + 64);
        } else {
            sa_emu_reset_fault();
            GpuResult g = run_gpu(m.entry, x, nullptr, s, hp);
            d = differing(g.y, good.y);
            if (g.new_faults > 0) how = std::string("emulator fault: ") + sa_emu_last_fault();
            if (d > 0) how += (how.empty() ? "" : "; ") + std::to_string(d) + " of " + std::to_string(x.size()) +
                              " outputs differ from the real kernel";
        }
        sa_emu_set_quiet(0);
        sa_emu_reset_fault();
        check(good.rc == SA_OK && good.new_faults == 0, std::string("mutant ") + m.name + ": the real kernel passes");
        if (!how.empty()) g_flagged.push_back(m.name);
        g_mutant_summary.push_back("[" + g_device + "] " + m.name + ": " + (how.empty() ? "NOT FLAGGED" : how.substr(0, 160)));
    }
}

// One section in a child process: the library caches each device's attributes (SM count,
// opt-in shared memory) for the life of the process, as a GPU's do not change; a new device
// model or shared-memory cap therefore gets a fresh process. The child's tally and planner
// branches come back through shared memory.
struct ChildTally {
    int passed, failed;
    Branches br;
    char summary[16][200];
    int nsummary;
    char flagged[16][64];
    int nflagged;
};

void run_section(const std::string& device, bool mutants, ChildTally* out) {
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        g_device = device + (mutants ? " smem cap 24 KiB" : "");
        if (sa_emu_select(device.c_str(), device == "h100" && !mutants ? 2 : 1)) {
            check(false, "unknown device model: " + device);
        } else {
            // (the cap before the first launch: the library caches the device's attributes)
            if (mutants) sa_emu_set_smem_cap(24576);
            char name[256];
            sa_cuda_device_name(0, name, sizeof name);
            printf("device: %s%s\n", name, mutants ? ", test-only shared-memory cap 24 KiB" : "");
            fflush(stdout);
            if (mutants) {
                test_mutants();
            } else {
                test_emulator();
                test_frelu();
                test_elementwise();
                test_td();
                if (device == "h100") first_run_fixes();
            }
            sa_emu_stats st;
            sa_emu_get_stats(&st);
            check(st.live_allocations == 0, "no device memory left allocated (" + std::to_string(st.live_allocations) + ")");
            printf("  emulated: %lld launches, %lld blocks, %lld threads, %lld barriers passed, %lld replayed blocks\n",
                   (long long)st.launches, (long long)st.blocks, (long long)st.threads, (long long)st.barriers,
                   (long long)st.replays);
        }
#if defined(__SANITIZE_ADDRESS__)
        __lsan_do_leak_check();  // the child ends with _exit: check its leaks here
#endif
        out->passed = g_t.passed;
        out->failed = g_t.failed;
        out->br = g_br;
        out->nsummary = 0;
        for (const std::string& m : g_mutant_summary)
            if (out->nsummary < 16) snprintf(out->summary[out->nsummary++], 200, "%s", m.c_str());
        out->nflagged = 0;
        for (const std::string& m : g_flagged)
            if (out->nflagged < 16) snprintf(out->flagged[out->nflagged++], 64, "%s", m.c_str());
        out->nflagged = 0;
        for (const std::string& m : g_flagged)
            if (out->nflagged < 16) snprintf(out->flagged[out->nflagged++], 64, "%s", m.c_str());
        fflush(stdout);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        out->passed = 0;
        out->failed = 1;
        printf("FAIL [%s] the test process ended abnormally (status 0x%x)\n", device.c_str(), st);
    }
}

}  // namespace

int main() {
    std::vector<std::string> devices = {"h100", "a100", "sm86", "sm61", "tiny", "a100-nopool"};
    if (const char* e = getenv("SA_EMU_TEST_DEVICES")) {
        devices.clear();
        std::string s = e;
        size_t pos = 0;
        while (pos <= s.size()) {
            size_t c = s.find(',', pos);
            if (c == std::string::npos) c = s.size();
            if (c > pos) devices.push_back(s.substr(pos, c - pos));
            pos = c + 1;
        }
    }
    printf("spatialact %s: the emulated GPU's test\n", sa_version());
    ChildTally* ct = (ChildTally*)mmap(nullptr, sizeof(ChildTally), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                       -1, 0);
    int passed = 0, failed = 0;
    Branches br;
    std::vector<std::string> summary, flagged;
    for (const std::string& d : devices)
        for (bool mut : {false, true}) {
            if (mut && d != "h100" && d != "tiny") continue;
            new (ct) ChildTally();
            run_section(d, mut, ct);
            passed += ct->passed;
            failed += ct->failed;
            br.one_round += ct->br.one_round, br.rounds += ct->br.rounds, br.one_iter += ct->br.one_iter;
            br.generic_radius += ct->br.generic_radius, br.global += ct->br.global, br.nopool += ct->br.nopool;
            br.blocks_loop += ct->br.blocks_loop, br.wave += ct->br.wave, br.bits += ct->br.bits;
            for (int i = 0; i < ct->nsummary; i++) summary.push_back(ct->summary[i]);
            for (int i = 0; i < ct->nflagged; i++) flagged.push_back(ct->flagged[i]);
        }
    g_device = "all";
    if (devices.size() >= 6) {
        char b[256];
        snprintf(b, sizeof b, "TD planner branches taken: one round %d, rounds %d, one iteration per launch %d, "
                 "generic radius %d, global path %d, allocator fallback %d, blocks looping over tiles %d, wavefront %d, bit wavefront %d",
                 br.one_round, br.rounds, br.one_iter, br.generic_radius, br.global, br.nopool, br.blocks_loop, br.wave,
                 br.bits);
        printf("%s\n", b);
        check(br.one_round && br.rounds && br.one_iter && br.generic_radius && br.global && br.nopool &&
                  br.blocks_loop && br.wave && br.bits,
              std::string("every TD planner branch taken: ") + b);
    }
    printf("broken kernels (each must be flagged on at least one device):\n");
    for (const std::string& s : summary) printf("  %s\n", s.c_str());
    // (td_no_barrier_tiles needs blocks that loop over tiles: the tiny device)
    if (std::find(devices.begin(), devices.end(), "tiny") != devices.end())
        for (const char* m : {"frelu_no_barrier", "frelu_stage_short", "frelu_unguarded", "td_no_barrier",
                              "td_no_barrier_tiles", "td_halo_short", "td_stage_short", "td_wave_no_barrier",
                              "td_bit_no_barrier", "td_bit_slot", "ew_tail_short"})
            check(std::find(flagged.begin(), flagged.end(), m) != flagged.end(),
                  std::string("broken kernel ") + m + " flagged by the emulated GPU");
    passed += g_t.passed;
    failed += g_t.failed;
    printf("emulated GPU: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
