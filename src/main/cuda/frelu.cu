// CUDA kernel of FReLU forward (see spatialact.h for the contract and docs/OPERATORS.md for
// the math).
//
// FReLU is one fused pass: a block stages a 32 x 32 output tile plus its K/2 halo of the
// plane in shared memory (zeros outside the image = the conv's zero padding), every thread
// computes 4 vertically adjacent outputs from it (each staged row is read once per thread
// and reused by up to 4 outputs), adds the folded BN shift and takes sa_max_nan(x, T).
// x is read once from DRAM (halo re-reads hit L2) and y written once: LeakyReLU's bytes.
// The summation order is the CPU kernel's (acc = bias, then a-major, b-minor FMA; LIGHT:
// (bias + row taps) + column taps), so results should match the FMA builds of the CPU
// kernel bit for bit (test_ops counts the identical outputs).
#include <stdint.h>

#include "../cpp/common/sa_math.h"
#include "kernel_utils.cuh"
#include "spatialact/spatialact.h"

using namespace sa::cuda;
using sa::fail;

namespace {

constexpr int kTileW = 32;                         // output tile width = warp width: one
                                                   // warp covers one tile row, coalesced
constexpr int kRowsPerThread = 4;                  // outputs per thread, stacked vertically
constexpr int kTileH = 32;                         // output tile height
constexpr int kFreluThreadsY = kTileH / kRowsPerThread;
constexpr int kFreluThreads = kTileW * kFreluThreadsY;  // 256
static_assert(kTileH % kRowsPerThread == 0, "tile height must split into thread rows");

// One block per (plane, tile row, tile column), looping grid-stride over tiles so that any
// number of tiles fits a 1-D grid. weight: [C][K][K] (FULL) or [C][2][K] (LIGHT: row 0 the
// 1 x K horizontal filter, row 1 the K x 1 vertical one), BN folded in; bias: [C] or NULL.
template <int K, bool LIGHT>
__global__ void __launch_bounds__(kFreluThreads)
    frelu_kernel(const float* __restrict__ x, float* __restrict__ y, const float* __restrict__ weight,
                 const float* __restrict__ bias, int64_t C, int64_t H, int64_t W, int64_t tiles_w,
                 int64_t tiles_per_plane, int64_t total_tiles) {
    constexpr int R = K / 2;
    constexpr int SH = kTileH + 2 * R, SW = kTileW + 2 * R;
    constexpr int NW = LIGHT ? 2 * K : K * K;
    // Row stride SW: a warp reads 32 consecutive words of one staged row (conflict-free) and
    // the staging loop writes consecutive words (conflict-free).
    __shared__ float tile[SH][SW];

    const int tx = threadIdx.x;                   // output column in the tile
    const int ty0 = threadIdx.y * kRowsPerThread;  // first of this thread's output rows
    const int tid = threadIdx.y * kTileW + threadIdx.x;

    for (int64_t t = blockIdx.x; t < total_tiles; t += gridDim.x) {
        const int64_t plane = t / tiles_per_plane;
        const int64_t rest = t - plane * tiles_per_plane;
        const int64_t ti = rest / tiles_w;
        const int64_t i0 = ti * kTileH, j0 = (rest - ti * tiles_w) * kTileW;
        const int64_t c = plane % C;
        const float* xp = x + plane * H * W;
        float* yp = y + plane * H * W;

        // This channel's filter in registers (indices are compile-time after unrolling); the
        // same address for every thread, so one broadcast load each.
        float w[NW];
#pragma unroll
        for (int q = 0; q < NW; q++) w[q] = __ldg(weight + c * NW + q);
        const float shift = bias ? __ldg(bias + c) : 0.0f;  // the CPU adds 0 when NULL too

        // Stage rows i0-R .. i0+kTileH+R-1, columns j0-R .. j0+kTileW+R-1; zero outside.
        for (int idx = tid; idx < SH * SW; idx += kFreluThreads) {
            const int r = idx / SW, s = idx - r * SW;  // SW is a constant: no real division
            const int64_t gi = i0 - R + r, gj = j0 - R + s;
            float v = 0.0f;
            if (gi >= 0 && gi < H && gj >= 0 && gj < W) v = xp[gi * W + gj];
            tile[r][s] = v;
        }
        __syncthreads();

        float out[kRowsPerThread];
        if (!LIGHT) {
            // Stream the kRowsPerThread + K - 1 staged rows this thread needs; staged row r
            // feeds output o with filter row a = r - o. For each output, acc starts at the bias,
            // a rises with r and b rises inside: the CPU's order (cpu/kernels/frelu_isa.cpp).
            float acc[kRowsPerThread];
#pragma unroll
            for (int o = 0; o < kRowsPerThread; o++) acc[o] = shift;
#pragma unroll
            for (int r = 0; r < kRowsPerThread + K - 1; r++) {
                float v[K];
#pragma unroll
                for (int b = 0; b < K; b++) v[b] = tile[ty0 + r][tx + b];
#pragma unroll
                for (int o = 0; o < kRowsPerThread; o++) {
                    const int a = r - o;
                    if (a >= 0 && a < K) {
#pragma unroll
                        for (int b = 0; b < K; b++) acc[o] = fmaf(w[a * K + b], v[b], acc[o]);
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
                for (int b = 0; b < K; b++) hs = fmaf(w[b], tile[ty0 + o + R][tx + b], hs);
#pragma unroll
                for (int a = 0; a < K; a++) vs = fmaf(w[K + a], tile[ty0 + o + a][tx + R], vs);
                out[o] = hs + vs;
            }
        }

        const int64_t j = j0 + tx;
#pragma unroll
        for (int o = 0; o < kRowsPerThread; o++) {
            const int64_t i = i0 + ty0 + o;
            if (i < H && j < W) yp[i * W + j] = sa_max_nan(tile[ty0 + o + R][tx + R], out[o]);
        }
        __syncthreads();  // the tile is restaged by the next iteration
    }
}

template <int K, bool LIGHT>
int launch_frelu(const char* fn, const LaunchCtx& ctx, const float* x, float* y, sa_shape s, const sa_params* p) {
    const int64_t tiles_w = (s.w + kTileW - 1) / kTileW;
    const int64_t tiles_h = (s.h + kTileH - 1) / kTileH;
    const int64_t tiles_per_plane = tiles_w * tiles_h;
    const int64_t total = s.n * s.c * tiles_per_plane;  // <= numel, fits int64
    // One block per tile is best (the hardware scheduler balances); only tensors with more
    // than 2^31-1 tiles make blocks loop.
    const int64_t blocks = total < (int64_t)INT32_MAX ? total : (int64_t)INT32_MAX;
    return launch(fn, "frelu_kernel", frelu_kernel<K, LIGHT>, dim3((unsigned)blocks), dim3(kTileW, kFreluThreadsY), 0,
                  ctx, x, y, p->weight, p->bias, s.c, s.h, s.w, tiles_w, tiles_per_plane, total);
}

}  // namespace

extern "C" {

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
