// CUDA kernel of FReLU forward (see spatialact.h for the contract and docs/OPERATORS.md for
// the math).
//
// FReLU is one fused pass. A block owns a column strip of the plane, 32 columns wide and up to
// kStripSteps x 32 rows tall, and walks down it 32 output rows per step: each step stages the
// step's rows plus the K/2 halo in shared memory (zeros outside the image = the conv's zero
// padding), taking the 2 (K/2) rows it shares with the previous step from that step's buffer
// (two buffers, alternating: one barrier per step), so x is read from global memory about once
// ((32 + K - 1) / 32 horizontally, (128 + K - 1) / 128 vertically). Every thread computes 4
// vertically adjacent outputs per step (each staged row is read once per thread and reused by up
// to 4 outputs), adds the folded BN shift and takes sa_max_nan(x, T): LeakyReLU's bytes. The
// channel's filter is loaded once per strip into shared memory by K x K threads (not by every
// thread from global memory), then into registers. Indices inside a plane are 32-bit where the
// plane has fewer than 2^31 elements (64-bit plane base); a 64-bit instantiation takes larger
// planes. Divisions happen once per strip, not per tile.
// The summation order is the CPU kernel's (acc = bias, then a-major, b-minor FMA; LIGHT:
// (bias + row taps) + column taps), so results match the FMA builds of the CPU kernel bit for
// bit (test_ops and the emulated GPU count the identical outputs).
#include <stdint.h>

#include <type_traits>

#include "../cpp/common/sa_math.h"
#include "kernel_utils.cuh"
#include "spatialact/spatialact.h"

using namespace sa::cuda;
using sa::fail;

namespace {

constexpr int kTileW = 32;                         // strip width = warp width: one warp covers
                                                   // one staged row, coalesced
constexpr int kRowsPerThread = 4;                  // outputs per thread per step, stacked vertically
constexpr int kTileH = 32;                         // output rows per step
constexpr int kStripSteps = 4;                     // steps per strip: 128 rows
constexpr int kFreluThreadsY = kTileH / kRowsPerThread;
constexpr int kFreluThreads = kTileW * kFreluThreadsY;  // 256
static_assert(kTileH % kRowsPerThread == 0, "tile height must split into thread rows");

// One block per (plane, strip row, strip column), looping grid-stride over strips so that any
// number of strips fits a 1-D grid. weight: [C][K][K] (FULL) or [C][2][K] (LIGHT: row 0 the
// 1 x K horizontal filter, row 1 the K x 1 vertical one), BN folded in; bias: [C] or NULL.
// Idx: int32_t for planes below 2^31 elements, int64_t otherwise.
template <int K, bool LIGHT, class Idx>
__global__ void __launch_bounds__(kFreluThreads)
    frelu_kernel(const float* __restrict__ x, float* __restrict__ y, const float* __restrict__ weight,
                 const float* __restrict__ bias, int64_t C, Idx H, Idx W, int64_t strips_w,
                 int64_t strips_per_plane, int64_t total_strips) {
    constexpr int R = K / 2;
    constexpr int SH = kTileH + 2 * R, SW = kTileW + 2 * R;
    constexpr int NW = LIGHT ? 2 * K : K * K;
    static_assert(NW + 1 <= kFreluThreads, "one thread per filter tap");
    // Row stride SW: a warp reads 32 consecutive words of one staged row (conflict-free) and
    // the staging loop writes consecutive words (conflict-free). Two buffers: a step stages into
    // one while no thread reads it (the other holds the previous step).
    __shared__ float tile[2][SH][SW];
    __shared__ float wsh[NW + 1];  // the filter, then the shift

    const int tx = threadIdx.x;                   // output column in the strip
    const int ty0 = threadIdx.y * kRowsPerThread;  // first of this thread's output rows in a step
    const int tid = threadIdx.y * kTileW + threadIdx.x;

    for (int64_t t = blockIdx.x; t < total_strips; t += gridDim.x) {
        const int64_t plane = t / strips_per_plane;
        const int64_t rest = t - plane * strips_per_plane;
        const int64_t si = rest / strips_w;
        const Idx row0 = (Idx)(si * (kTileH * kStripSteps)), j0 = (Idx)((rest - si * strips_w) * kTileW);
        const int64_t c = plane % C;
        const float* xp = x + plane * (int64_t)H * (int64_t)W;
        float* yp = y + plane * (int64_t)H * (int64_t)W;
        const Idx left = H - row0;
        const int steps = left >= (Idx)(kTileH * kStripSteps) ? kStripSteps : (int)((left + kTileH - 1) / kTileH);

        // This channel's filter, once per strip: one load per tap, into shared memory; read into
        // registers after the first step's barrier.
        if (tid < NW) wsh[tid] = __ldg(weight + c * NW + tid);
        if (tid == NW) wsh[NW] = bias ? __ldg(bias + c) : 0.0f;  // the CPU adds 0 when NULL too
        float w[NW];
        float shift = 0.0f;

        for (int step = 0; step < steps; step++) {
            const int b = step & 1;
            const Idx i0 = row0 + (Idx)(step * kTileH);
            // Stage rows i0-R .. i0+kTileH+R-1, columns j0-R .. j0+kTileW+R-1; zero outside. After
            // the first step the top 2R rows are the previous step's bottom 2R rows.
            for (int idx = tid; idx < SH * SW; idx += kFreluThreads) {
                const int r = idx / SW, s = idx - r * SW;  // SW is a constant: no real division
                float v = 0.0f;
                if (step > 0 && r < 2 * R) {
                    v = tile[b ^ 1][kTileH + r][s];
                } else {
                    const Idx gi = i0 - R + r, gj = j0 - R + s;
                    if (gi >= 0 && gi < H && gj >= 0 && gj < W) v = xp[gi * W + gj];
                }
                tile[b][r][s] = v;
            }
            __syncthreads();
            if (step == 0) {
#pragma unroll
                for (int q = 0; q < NW; q++) w[q] = wsh[q];
                shift = wsh[NW];
            }

            float out[kRowsPerThread];
            if (!LIGHT) {
                // Stream the kRowsPerThread + K - 1 staged rows this thread needs; staged row r
                // feeds output o with filter row a = r - o. For each output, acc starts at the
                // bias, a rises with r and b rises inside: the CPU's order (cpu/kernels/frelu_isa.cpp).
                float acc[kRowsPerThread];
#pragma unroll
                for (int o = 0; o < kRowsPerThread; o++) acc[o] = shift;
#pragma unroll
                for (int r = 0; r < kRowsPerThread + K - 1; r++) {
                    float v[K];
#pragma unroll
                    for (int q = 0; q < K; q++) v[q] = tile[b][ty0 + r][tx + q];
#pragma unroll
                    for (int o = 0; o < kRowsPerThread; o++) {
                        const int a = r - o;
                        if (a >= 0 && a < K) {
#pragma unroll
                            for (int q = 0; q < K; q++) acc[o] = fmaf(w[a * K + q], v[q], acc[o]);
                        }
                    }
                }
#pragma unroll
                for (int o = 0; o < kRowsPerThread; o++) out[o] = acc[o];
            } else {
#pragma unroll
                for (int o = 0; o < kRowsPerThread; o++) {
                    float hs = shift, vs = 0.0f;
#pragma unroll
                    for (int q = 0; q < K; q++) hs = fmaf(w[q], tile[b][ty0 + o + R][tx + q], hs);
#pragma unroll
                    for (int a = 0; a < K; a++) vs = fmaf(w[K + a], tile[b][ty0 + o + a][tx + R], vs);
                    out[o] = hs + vs;
                }
            }

            const Idx j = j0 + tx;
#pragma unroll
            for (int o = 0; o < kRowsPerThread; o++) {
                const Idx i = i0 + ty0 + o;
                if (i < H && j < W) yp[i * W + j] = sa_max_nan(tile[b][ty0 + o + R][tx + R], out[o]);
            }
        }
        // The next strip (blocks loop only past 2^31 - 1 strips) restages both buffers and the
        // filter: every thread must be done reading them.
        __syncthreads();
    }
}

std::atomic<int> g_force_wide{0};  // sa_internal_cuda_frelu_wide

template <int K, bool LIGHT>
int launch_frelu(const char* fn, const LaunchCtx& ctx, const float* x, float* y, sa_shape s, const sa_params* p) {
    const int64_t strips_w = (s.w + kTileW - 1) / kTileW;
    const int64_t strips_h = (s.h + kTileH * kStripSteps - 1) / (kTileH * kStripSteps);
    const int64_t strips_per_plane = strips_w * strips_h;
    const int64_t total = s.n * s.c * strips_per_plane;  // <= numel, fits int64
    // One block per strip is best (the hardware scheduler balances); only tensors with more
    // than 2^31-1 strips make blocks loop.
    const int64_t blocks = total < (int64_t)INT32_MAX ? total : (int64_t)INT32_MAX;
    const dim3 grid((unsigned)blocks), block(kTileW, kFreluThreadsY);
    // 32-bit indices inside a plane while the plane and its padded rows stay below 2^31.
    if ((s.h + kTileH) * (s.w + kTileW) < (int64_t)INT32_MAX && !g_force_wide.load(std::memory_order_relaxed))
        return launch(fn, "frelu_kernel", frelu_kernel<K, LIGHT, int32_t>, grid, block, 0, ctx, x, y, p->weight,
                      p->bias, s.c, (int32_t)s.h, (int32_t)s.w, strips_w, strips_per_plane, total);
    return launch(fn, "frelu_kernel", frelu_kernel<K, LIGHT, int64_t>, grid, block, 0, ctx, x, y, p->weight, p->bias,
                  s.c, (int64_t)s.h, (int64_t)s.w, strips_w, strips_per_plane, total);
}

}  // namespace

extern "C" {

int sa_internal_cuda_frelu_wide(int mode) {
    const int prev = g_force_wide.load();
    if (mode >= 0) g_force_wide.store(mode ? 1 : 0);
    return prev;
}

int sa_cuda_frelu_forward(const float* x, float* y, sa_shape shape, const sa_params* p, void* stream) {
    const char* fn = "sa_cuda_frelu_forward";
    int64_t n;
    return with_launch_ctx(fn, sa::check_frelu(fn, x, y, shape, p, &n), stream,
                           {{"x", x}, {"y", y}, {"weight", p ? p->weight : nullptr}, {"bias", p ? p->bias : nullptr}}, [&](const LaunchCtx& ctx) {
        return with_k(p->k, [&](auto k) {
            return with_bool(p->variant == SA_FRELU_LIGHT, [&](auto light) {
                return launch_frelu<decltype(k)::value, decltype(light)::value>(fn, ctx, x, y, shape, p);
            });
        });
    });
}

SA_NOT_IMPLEMENTED_ENTRY(sa_cuda_frelu_backward, const float*, const float*, float*, sa_shape, const sa_params*, void*)

}  // extern "C"
