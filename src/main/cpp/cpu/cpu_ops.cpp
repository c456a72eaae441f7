// CPU entry points of spatialact.h: validate, pick the kernel table for this CPU, split the
// tensor into tasks and run them on the pool.
#include <stdlib.h>

#include <algorithm>
#include <atomic>

#include "../common/sa_internal.h"
#include "kernels.h"
#include "spatialact/spatialact.h"
#include "threadpool.h"

namespace sa {
namespace {

int detect_isa() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return SA_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SA_ISA_AVX2;
#endif
    return SA_ISA_BASELINE;
}

const int g_best_isa = detect_isa();
std::atomic<int> g_isa{g_best_isa};

const KernelTable& kt() {
    switch (g_isa.load(std::memory_order_relaxed)) {
        case SA_ISA_AVX512: return kernels_avx512;
        case SA_ISA_AVX2: return kernels_avx2;
        default: return kernels_baseline;
    }
}

// Below this many elements a call runs on the calling thread: waking workers costs more.
constexpr int64_t kParallelMin = 1 << 15;
// Elements per task of the element-wise kernels.
constexpr int64_t kChunk = 1 << 15;

struct Elementwise {
    const float* a;
    const float* b;
    const float* c;
    float* y;
    int64_t n;
    int64_t plane;       // H*W, for per-channel alphas
    int64_t channels;
    const sa_params* p;
    int op;              // 0 leaky, 1 leaky backward, 2 star
};

void run_chunk(const Elementwise& e, int64_t begin, int64_t end) {
    const KernelTable& k = kt();
    const sa_params* p = e.p;
    if (e.op == 2) {
        k.star(e.a + begin, e.b + begin, e.y + begin, end - begin, p->act, p->alpha);
        return;
    }
    // Split at plane borders when alphas are per channel.
    int64_t i = begin;
    while (i < end) {
        int64_t stop = end;
        float alpha = p->alpha;
        if (p->alpha_per_channel) {
            int64_t plane_idx = i / e.plane;
            alpha = p->alpha_per_channel[plane_idx % e.channels];
            stop = std::min(end, (plane_idx + 1) * e.plane);
        }
        if (e.op == 0)
            k.leaky(e.a + i, e.y + i, stop - i, alpha);
        else
            k.leaky_backward(e.a + i, e.b + i, e.y + i, stop - i, alpha);
        i = stop;
    }
}

void elementwise_task(void* ctx, int64_t t) {
    const Elementwise& e = *static_cast<const Elementwise*>(ctx);
    int64_t begin = t * kChunk;
    run_chunk(e, begin, std::min(e.n, begin + kChunk));
}

void run_elementwise(const Elementwise& e) {
    if (e.n < kParallelMin) {
        run_chunk(e, 0, e.n);
        return;
    }
    parallel_for((e.n + kChunk - 1) / kChunk, elementwise_task, (void*)&e);
}

// ---- FReLU tiling ----
struct FreluJob {
    const float* x;
    float* y;
    sa_shape s;
    const sa_params* p;
    int64_t row_block, row_blocks, col_block, col_blocks;
};

void frelu_task(void* ctx, int64_t t) {
    const FreluJob& j = *static_cast<const FreluJob*>(ctx);
    const int64_t per_plane = j.row_blocks * j.col_blocks;
    const int64_t plane = t / per_plane, rest = t % per_plane;
    const int64_t rb = rest / j.col_blocks, cb = rest % j.col_blocks;
    const int64_t H = j.s.h, W = j.s.w, c = plane % j.s.c;
    FreluTask ft;
    ft.x = j.x + plane * H * W;
    ft.y = j.y + plane * H * W;
    ft.h = H;
    ft.w = W;
    ft.r0 = rb * j.row_block;
    ft.r1 = std::min(H, ft.r0 + j.row_block);
    ft.c0 = cb * j.col_block;
    ft.c1 = std::min(W, ft.c0 + j.col_block);
    ft.k = j.p->k;
    ft.variant = j.p->variant;
    const int64_t wlen = j.p->variant == SA_FRELU_LIGHT ? 2 * j.p->k : (int64_t)j.p->k * j.p->k;
    ft.weight = j.p->weight + c * wlen;
    ft.bias = j.p->bias ? j.p->bias[c] : 0.0f;
    kt().frelu(ft);
}

}  // namespace
}  // namespace sa

using namespace sa;

extern "C" {

int sa_cpu_isa(void) { return g_isa.load(); }

int sa_cpu_isa_supported(int isa) { return isa >= SA_ISA_BASELINE && isa <= g_best_isa ? 1 : 0; }

int sa_cpu_set_isa(int isa) {
    if (!sa_cpu_isa_supported(isa))
        return fail(SA_ERR_INVALID_ARGUMENT, "sa_cpu_set_isa: instruction set %d is not supported by this CPU (best %d)",
                    isa, g_best_isa);
    g_isa.store(isa);
    return SA_OK;
}

int sa_cpu_threads(void) { return pool_threads(); }

int sa_cpu_set_threads(int threads) {
    if (threads > 4096) return fail(SA_ERR_INVALID_ARGUMENT, "sa_cpu_set_threads: threads = %d is too many", threads);
    try {
        pool_set_threads(threads);
    } catch (...) {
        return fail(SA_ERR_OUT_OF_MEMORY, "sa_cpu_set_threads: could not start %d threads", threads);
    }
    return SA_OK;
}

int sa_cpu_leaky_relu_forward(const float* x, float* y, sa_shape shape, const sa_params* p) {
    int64_t n;
    int rc = check_leaky("sa_cpu_leaky_relu_forward", x, y, shape, p, &n);
    if (rc) return rc;
    Elementwise e{x, nullptr, nullptr, y, n, shape.h * shape.w, shape.c, p, 0};
    run_elementwise(e);
    return SA_OK;
}

int sa_cpu_leaky_relu_backward(const float* x, const float* dy, float* dx, sa_shape shape, const sa_params* p) {
    const char* fn = "sa_cpu_leaky_relu_backward";
    int64_t n;
    int rc = check_leaky(fn, x, dx, shape, p, &n);
    if (rc) return rc;
    if ((rc = check_ptr(fn, dy, "dy"))) return rc;
    if ((rc = check_overlap(fn, dy, "dy", dx, "dx", n * 4, true))) return rc;
    Elementwise e{x, dy, nullptr, dx, n, shape.h * shape.w, shape.c, p, 1};
    run_elementwise(e);
    return SA_OK;
}

int sa_cpu_star_forward(const float* a, const float* b, float* y, sa_shape shape, const sa_params* p) {
    int64_t n;
    int rc = check_star("sa_cpu_star_forward", a, b, y, shape, p, &n);
    if (rc) return rc;
    Elementwise e{a, b, nullptr, y, n, shape.h * shape.w, shape.c, p, 2};
    run_elementwise(e);
    return SA_OK;
}

int sa_cpu_star_backward(const float*, const float*, const float*, float*, float*, sa_shape, const sa_params*) {
    return fail(SA_ERR_NOT_IMPLEMENTED, "sa_cpu_star_backward: gradients are not implemented yet");
}

int sa_cpu_frelu_forward(const float* x, float* y, sa_shape shape, const sa_params* p) {
    int64_t n;
    int rc = check_frelu("sa_cpu_frelu_forward", x, y, shape, p, &n);
    if (rc) return rc;
    FreluJob j;
    j.x = x;
    j.y = y;
    j.s = shape;
    j.p = p;
    const int64_t planes = shape.n * shape.c, H = shape.h, W = shape.w;
    const int threads = n < kParallelMin ? 1 : pool_threads();
    // Column tiles of at most kColTile, balanced (a wide image never leaves a sliver of a tile:
    // the kernel's edge blocks need a tile of at least 16 + k columns).
    j.col_blocks = (W + kColTile - 1) / kColTile;
    j.col_block = (W + j.col_blocks - 1) / j.col_blocks;
    // Whole planes per task when there are enough of them (no halo re-reads); otherwise
    // row blocks of at least 16 rows until every thread has about four tasks.
    int64_t row_block = H;
    const int64_t want = 4 * (int64_t)threads;
    if (planes * j.col_blocks < want) {
        int64_t blocks = (want + planes * j.col_blocks - 1) / (planes * j.col_blocks);
        row_block = std::max<int64_t>(16, (H + blocks - 1) / blocks);
    }
    // Bound a task to about 1M elements so big planes still spread over the threads.
    const int64_t max_rows = std::max<int64_t>(16, (int64_t(1) << 20) / j.col_block);
    row_block = std::min(row_block, max_rows);
    j.row_block = std::max<int64_t>(1, std::min(row_block, H));
    j.row_blocks = (H + j.row_block - 1) / j.row_block;
    const int64_t tasks = planes * j.row_blocks * j.col_blocks;
    if (threads == 1) {
        for (int64_t t = 0; t < tasks; t++) frelu_task(&j, t);
    } else {
        parallel_for(tasks, frelu_task, &j);
    }
    return SA_OK;
}

int sa_cpu_frelu_backward(const float*, const float*, float*, sa_shape, const sa_params*) {
    return fail(SA_ERR_NOT_IMPLEMENTED, "sa_cpu_frelu_backward: gradients are not implemented yet");
}

}  // extern "C"
