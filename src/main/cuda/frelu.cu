// CUDA kernel of FReLU forward (see spatialact.h for the contract and docs/OPERATORS.md for
// the math).
//
// FReLU is one fused pass: LeakyReLU's bytes, one read and one write per element. Version 3
// (issue 12, item 1; docs/PERFORMANCE.md counts its SASS and its memory accesses):
//  - A block owns a column strip of the plane, 32 columns wide and up to kStripSteps x 32 rows
//    tall, and walks down it 32 output rows per step. The strip's rows stay in shared memory (a
//    16 KiB buffer of 96 + 2 (K/2) rows, within every device's 20 KiB): a step stages only its 32 new rows (the 2 (K/2) rows
//    it shares with the step before are already there), so x is read from global memory about
//    once ((32 + K - 1) / 32 horizontally, (96 + K - 1) / 96 vertically), the rows of step s + 1
//    never overwrite a row that step s reads (one barrier per step), and every row address is a
//    step base plus a constant.
//  - Staging is prefetched through registers: each thread loads its rows of step s + 1 before it
//    computes step s and stores them to the buffer after, so the loads' latency is hidden behind a
//    step of FMAs (what cp.async would do; plain loads keep the kernel runnable on the emulated
//    GPU and on every architecture).
//  - Register blocking: a thread computes 2 rows x 4 adjacent columns; each staged row it needs
//    is read from shared memory as three float4 (16-byte aligned: the strip's columns start 4
//    words into a buffer row) and reused by both rows' outputs and all K taps.
//  - Vector global accesses: where W is a multiple of 4 and x and y are 16-byte aligned (VEC),
//    a thread loads and stores its 4 columns as one float4 (streaming store); else 4 scalars.
//    Row indices advance by a step's rows per step instead of being recomputed.
//  - The channel's filter is loaded once per strip into shared memory by K x K threads, then
//    into registers. Indices inside a plane are 32-bit where the plane has fewer than 2^31
//    elements (64-bit plane base); a 64-bit instantiation takes larger planes. Divisions happen
//    once per strip.
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

constexpr int kColsPerThread = 4;                  // adjacent output columns per thread (a float4)
constexpr int kThreadsX = 8;                       // threads across a strip
constexpr int kStripW = kThreadsX * kColsPerThread;  // 32 columns: a warp stores 4 rows x 128 bytes
constexpr int kRowsPerThread = 2;                  // output rows per thread per step
constexpr int kThreadsY = 16;
constexpr int kStepRows = kThreadsY * kRowsPerThread;  // 32 output rows per step
constexpr int kStripSteps = 3;                     // steps per strip: 96 rows
constexpr int kFreluThreads = kThreadsX * kThreadsY;  // 128
constexpr int kMaxR = 3;                           // K <= 7
constexpr int kLeft = 4;                           // buffer column of the strip's first column
constexpr int kRowStride = kLeft + kStripW + 4;    // 40: halo of up to 3 on each side, float4 rows
constexpr int kBufRows = kStepRows * kStripSteps + 2 * kMaxR;  // the whole strip and its halo rows
static_assert(kStepRows == 2 * kThreadsY, "each thread stages two rows per step");
static_assert(kThreadsX > 2 * kMaxR, "a thread stages at most one halo column");

// One block per (plane, strip row, strip column), looping grid-stride over strips so that any
// number of strips fits a 1-D grid. weight: [C][K][K] (FULL) or [C][2][K] (LIGHT: row 0 the
// 1 x K horizontal filter, row 1 the K x 1 vertical one), BN folded in; bias: [C] or NULL.
// Idx: int32_t for planes below 2^31 elements, int64_t otherwise. VEC: W % 4 == 0 and x, y
// 16-byte aligned (float4 global accesses).
template <int K, bool LIGHT, class Idx, bool VEC>
__global__ void __launch_bounds__(kFreluThreads)
    frelu_kernel(const float* __restrict__ x, float* __restrict__ y, const float* __restrict__ weight,
                 const float* __restrict__ bias, int64_t C, Idx H, Idx W, int64_t strips_w,
                 int64_t strips_per_plane, int64_t total_strips) {
    constexpr int R = K / 2;
    constexpr int NW = LIGHT ? 2 * K : K * K;
    constexpr int WROWS = kRowsPerThread + 2 * R;  // buffer rows one thread's outputs read
    static_assert(R <= kMaxR, "kernel size");
    static_assert(NW + 1 <= kFreluThreads, "one thread per filter tap");
    // The strip's rows, buffer row rr = image row row0 - R + rr (so rows are never overwritten
    // within a strip: step s + 1 stages rows step s does not read). Row stride 40 words: a
    // quarter warp (8 threads of one row) reads or writes 8 consecutive float4: conflict-free.
    __shared__ float4 buf4[kBufRows][kRowStride / 4];  // float4: 16-byte aligned rows
    __shared__ float wsh[NW + 1];                      // the filter, then the shift
    float* const buf = reinterpret_cast<float*>(buf4);

    const int tx = threadIdx.x, ty = threadIdx.y;
    const int tid = ty * kThreadsX + tx;
    // Buffer columns no staging writes (left of the halo, right of it): read by the outer float4
    // of the edge threads and never used; zeroed once so that no read sees uninitialised memory.
    for (int rr = tid; rr < kBufRows; rr += kFreluThreads) {
        for (int s = 0; s < kLeft - R; s++) buf[rr * kRowStride + s] = 0.0f;
        for (int s = kLeft + kStripW + R; s < kRowStride; s++) buf[rr * kRowStride + s] = 0.0f;
    }
    // This thread's halo column, if any: the R threads at the left edge take the R columns left
    // of the strip, the R at the right edge the R columns right of it.
    const bool has_side = R > 0 && (tx < R || tx >= kThreadsX - R);
    const int side_dj = tx < R ? tx - R : kStripW + tx - (kThreadsX - R);  // column offset from j0
    const int side_s = kLeft + side_dj - kColsPerThread * tx;  // its buffer word from the thread's float4

    for (int64_t t = blockIdx.x; t < total_strips; t += gridDim.x) {
        const int64_t plane = t / strips_per_plane;
        const int64_t rest = t - plane * strips_per_plane;
        const int64_t si = rest / strips_w;
        const Idx row0 = (Idx)(si * (kStepRows * kStripSteps)), j0 = (Idx)((rest - si * strips_w) * kStripW);
        const int64_t c = plane % C;
        const float* xp = x + plane * (int64_t)H * (int64_t)W;
        float* yp = y + plane * (int64_t)H * (int64_t)W;
        const Idx left = H - row0;
        const int steps =
            left >= (Idx)(kStepRows * kStripSteps) ? kStripSteps : (int)((left + kStepRows - 1) / kStepRows);
        const Idx gj = j0 + kColsPerThread * tx;  // this thread's first column
        const bool col_in = gj < W;               // (VEC: its whole float4)
        const bool side_in = has_side && j0 + side_dj >= 0 && j0 + side_dj < W;
        const Idx side_d = (Idx)(side_dj - kColsPerThread * tx);  // its halo column from gj

        // Image row gi (zeros outside the image: the convolution's padding) into registers; xi is
        // the index of (gi, gj).
        auto load_row = [&](Idx gi, Idx xi, float4& mid, float& side) {
            mid = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            side = 0.0f;
            if (gi < 0 || gi >= H) return;
            if (VEC) {
                if (col_in) mid = __ldg(reinterpret_cast<const float4*>(xp + xi));
            } else {
                if (col_in) mid.x = __ldg(xp + xi);
                if (gj + 1 < W) mid.y = __ldg(xp + xi + 1);
                if (gj + 2 < W) mid.z = __ldg(xp + xi + 2);
                if (gj + 3 < W) mid.w = __ldg(xp + xi + 3);
            }
            if (side_in) side = __ldg(xp + xi + side_d);
        };
        // ... and into buffer row rr.
        auto store_row = [&](int rr, const float4& mid, float side) {
            float* sp = buf + rr * kRowStride + kLeft + kColsPerThread * tx;
            *reinterpret_cast<float4*>(sp) = mid;
            if (has_side) sp[side_s - kLeft] = side;
        };

        // This channel's filter, once per strip: one load per tap, into shared memory; read into
        // registers after the prologue's barrier.
        if (tid < NW) wsh[tid] = __ldg(weight + c * NW + tid);
        if (tid == NW) wsh[NW] = bias ? __ldg(bias + c) : 0.0f;  // the CPU adds 0 when NULL too
        // Prologue: the first step's 32 + 2R rows (buffer rows 0 .. 31 + 2R).
#pragma unroll
        for (int q = 0; q < 3; q++) {
            const int rr = ty + kThreadsY * q;
            if (rr < kStepRows + 2 * R) {
                float4 m;
                float sd;
                const Idx gi = row0 - R + rr;
                load_row(gi, gi * W + gj, m, sd);
                store_row(rr, m, sd);
            }
        }
        __syncthreads();
        float w[NW];
#pragma unroll
        for (int q = 0; q < NW; q++) w[q] = wsh[q];
        const float shift = wsh[NW];

        // Advanced by one step per iteration: the next step's first prefetch row (image row, its
        // index, its buffer row), this step's first output row and its index.
        Idx gn = row0 + R + kStepRows + ty, xn = gn * W + gj, gi = row0 + kRowsPerThread * ty, yi = gi * W + gj;
        int rn = kStepRows + 2 * R + ty;
        const float* rd = buf + kRowsPerThread * ty * kRowStride + kColsPerThread * tx;  // this step's rows
        const Idx step_x = kStepRows * W;
        for (int step = 0; step < steps; step++) {
            // Step s + 1's new rows (buffer rows 32 (s + 1) + 2R + ty and + 16), loaded now and
            // stored after this step's outputs: their latency hides behind the FMAs.
            const bool more = step + 1 < steps;
            float4 pm0, pm1;
            float ps0, ps1;
            if (more) {
                load_row(gn, xn, pm0, ps0);
                load_row(gn + kThreadsY, xn + kThreadsY * W, pm1, ps1);
            }

            // Output rows gi, gi + 1 read buffer rows rd + 0 .. WROWS - 1; row r feeds output o
            // with filter row a = r - o. Window word k of a row is image column gj - 4 + k:
            // output column cc, tap q reads word 4 + cc - R + q.
            float acc[kRowsPerThread][kColsPerThread], vs[kRowsPerThread][kColsPerThread],
                ctr[kRowsPerThread][kColsPerThread];
#pragma unroll
            for (int o = 0; o < kRowsPerThread; o++)
#pragma unroll
                for (int cc = 0; cc < kColsPerThread; cc++) {
                    acc[o][cc] = shift;
                    vs[o][cc] = 0.0f;
                }
#pragma unroll
            for (int r = 0; r < WROWS; r++) {
                const float* sp = rd + r * kRowStride;
                float v[12];
                const float4 b = *reinterpret_cast<const float4*>(sp + kLeft);
                v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
                if (R > 0) {
                    const float4 a = *reinterpret_cast<const float4*>(sp);
                    const float4 d = *reinterpret_cast<const float4*>(sp + kLeft + 4);
                    v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w;
                    v[8] = d.x, v[9] = d.y, v[10] = d.z, v[11] = d.w;
                }
#pragma unroll
                for (int o = 0; o < kRowsPerThread; o++) {
                    const int a = r - o;
                    if (a == R) {
#pragma unroll
                        for (int cc = 0; cc < kColsPerThread; cc++) ctr[o][cc] = v[4 + cc];
                    }
                    if (a < 0 || a >= K) continue;
#pragma unroll
                    for (int cc = 0; cc < kColsPerThread; cc++) {
                        if (!LIGHT) {
#pragma unroll
                            for (int q = 0; q < K; q++) acc[o][cc] = fmaf(w[a * K + q], v[4 + cc - R + q], acc[o][cc]);
                        } else {
                            if (a == R) {
#pragma unroll
                                for (int q = 0; q < K; q++) acc[o][cc] = fmaf(w[q], v[4 + cc - R + q], acc[o][cc]);
                            }
                            vs[o][cc] = fmaf(w[K + a], v[4 + cc], vs[o][cc]);
                        }
                    }
                }
            }

#pragma unroll
            for (int o = 0; o < kRowsPerThread; o++) {
                float out[kColsPerThread];
#pragma unroll
                for (int cc = 0; cc < kColsPerThread; cc++)
                    out[cc] = sa_max_nan(ctr[o][cc], LIGHT ? acc[o][cc] + vs[o][cc] : acc[o][cc]);
                if (gi + o >= H) continue;
                float* op = yp + yi + o * W;
                if (VEC) {
                    if (col_in) __stcs(reinterpret_cast<float4*>(op), make_float4(out[0], out[1], out[2], out[3]));
                } else {
#pragma unroll
                    for (int cc = 0; cc < kColsPerThread; cc++)
                        if (gj + cc < W) op[cc] = out[cc];
                }
            }
            if (more) {
                store_row(rn, pm0, ps0);
                store_row(rn + kThreadsY, pm1, ps1);
            }
            gn += kStepRows, xn += step_x, gi += kStepRows, yi += step_x, rn += kStepRows;
            rd += kStepRows * kRowStride;
            // Step s + 1 reads the rows just stored; the next strip restages the buffer's first
            // rows and the filter: every thread must be past this step.
            __syncthreads();
        }
    }
}

std::atomic<int> g_force_wide{0};  // sa_internal_cuda_frelu_wide

template <int K, bool LIGHT>
int launch_frelu(const char* fn, const LaunchCtx& ctx, const float* x, float* y, sa_shape s, const sa_params* p) {
    const int64_t strips_w = (s.w + kStripW - 1) / kStripW;
    const int64_t strips_h = (s.h + kStepRows * kStripSteps - 1) / (kStepRows * kStripSteps);
    const int64_t strips_per_plane = strips_w * strips_h;
    const int64_t total = s.n * s.c * strips_per_plane;  // <= numel, fits int64
    // One block per strip is best (the hardware scheduler balances); only tensors with more
    // than 2^31-1 strips make blocks loop.
    const int64_t blocks = total < (int64_t)INT32_MAX ? total : (int64_t)INT32_MAX;
    const dim3 grid((unsigned)blocks), block(kThreadsX, kThreadsY);
    // float4 accesses where every row starts 16-byte aligned.
    const bool vec = s.w % 4 == 0 && ((uintptr_t)x % 16) == 0 && ((uintptr_t)y % 16) == 0;
    // 32-bit indices inside a plane while the plane and its padded rows stay below 2^31.
    const bool narrow = (s.h + kStepRows) * (s.w + kStripW) < (int64_t)INT32_MAX &&
                        !g_force_wide.load(std::memory_order_relaxed);
    return with_bool(vec, [&](auto vc) {
        constexpr bool V = decltype(vc)::value;
        if (narrow)
            return launch(fn, "frelu_kernel", frelu_kernel<K, LIGHT, int32_t, V>, grid, block, 0, ctx, x, y,
                          p->weight, p->bias, s.c, (int32_t)s.h, (int32_t)s.w, strips_w, strips_per_plane, total);
        return launch(fn, "frelu_kernel", frelu_kernel<K, LIGHT, int64_t, V>, grid, block, 0, ctx, x, y, p->weight,
                      p->bias, s.c, (int64_t)s.h, (int64_t)s.w, strips_w, strips_per_plane, total);
    });
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
