// CUDA TD-LReLU forward (docs/TD-LReLU.md has the formulation and the design).
//
// TD-LReLU, on chip. One block owns one output tile of one plane plus a halo of Tc*r pixels
// (Tc = the iterations of this launch) and runs all Tc iterations in shared memory:
//   sO  o over the extended tile (read once from global memory),
//   sV  v = 1 - 2u over the extended tile with a ring of r zeros (zero padding at the image
//       border; at a halo border the ring only feeds pixels that are recomputed by the
//       neighbouring tile, exactly as on the CPU),
//   sT  the vertical Gaussian pass.
// Iteration t computes f over the tile grown by (Tc - t)*r (clipped to the image), which is
// what iteration t + 1 reads: a vertical pass (each thread one column, 8 rows, a register
// window: every sV element is loaded once per 8 outputs), a horizontal pass (each thread one
// row, 8 columns, likewise) that also forms f and the gate, written back into sV in place
// (the vertical pass that read sV has finished at the barrier). The last iteration stages y
// in sO, and the tile is written with coalesced stores: o is read once and y written once.
// When T*r makes the halo too large for shared memory, the iterations run in rounds of Tc:
// a round stores f (not y) of its output tile, and the next round starts from u = gate(f)
// with a fresh halo. When even one iteration does not fit well (a large radius), a global-
// memory path runs two kernels per iteration (vertical, then horizontal + gate), keeping v.
#include <stdint.h>

#include <algorithm>

#include "../cpp/common/sa_math.h"
#include "kernel_utils.cuh"
#include "spatialact/spatialact.h"

using namespace sa::cuda;
using sa::fail;

namespace {

constexpr int kBlockX = 32, kBlockY = 8;  // 256 threads
static_assert(kBlockX * kBlockY == kThreads, "the tile kernel's block is kThreads threads");
constexpr int kRB = 8;                    // outputs per thread in the register-blocked passes
constexpr int kMaxTaps = 2 * SA_TD_MAX_RADIUS + 1;

template <bool SOFT>
__global__ void td_point_kernel(const float* __restrict__ o, float* __restrict__ y, int64_t n, float alpha,
                                float eps) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        const float x = o[i];
        y[i] = sa_td_out(x, gate<SOFT>(x, alpha, eps));  // hard: sa_leaky(x, alpha) bit for bit
    }
}

struct TdArgs {
    const float* o;
    const float* fin;  // f from the previous round; nullptr in the first round (u^0 = gate(o))
    float* fout;       // f of the last iteration (not the final round)
    float* y;          // y (final round)
    int64_t H, W, planes;
    int64_t tiles_x, tiles;  // per plane
    int TH, TW;
    int iters;               // iterations of this launch, >= 1
    int r;
    int pv, po;              // shared pitches (odd: conflict-free column access)
    int eh_max;              // rows of the extended tile buffers
    float alpha, lambda, eps;
    float g[kMaxTaps];
};

// Shared floats of a tile: sV (eh + 2r) x pv, sT eh x pv, sO eh x po, taps.
size_t td_smem_floats(int eh, int ew, int r, int* pv, int* po) {
    *pv = (ew + 2 * r) | 1;
    *po = ew | 1;
    return (size_t)(eh + 2 * r) * *pv + (size_t)eh * *pv + (size_t)eh * *po + kMaxTaps;
}

// R > 0: radius known at compile time (register windows); R == 0: runtime radius a.r.
template <int R, bool SOFT>
__global__ void __launch_bounds__(kThreads) td_tile_kernel(const TdArgs a) {
    extern __shared__ float smem[];
    const int r = R > 0 ? R : a.r;
    const int pv = a.pv, po = a.po;
    float* sV = smem;
    float* sT = sV + (size_t)(a.eh_max + 2 * r) * pv;
    float* sO = sT + (size_t)a.eh_max * pv;
    float* sG = sO + (size_t)a.eh_max * po;
    const int tid = threadIdx.y * kBlockX + threadIdx.x;
    if (tid < 2 * r + 1) sG[tid] = a.g[tid];
    const int64_t H = a.H, W = a.W;
    const int halo = a.iters * r;
    const float alpha = a.alpha, lambda = a.lambda, eps = a.eps;
    const int64_t total = a.planes * a.tiles;

    for (int64_t b = blockIdx.x; b < total; b += gridDim.x) {
        const int64_t plane = b / a.tiles, rest = b % a.tiles;
        const int64_t ty = rest / a.tiles_x, tx = rest % a.tiles_x;
        const int64_t R0 = ty * a.TH, R1 = min(H, R0 + a.TH);
        const int64_t C0 = tx * a.TW, C1 = min(W, C0 + a.TW);
        const int64_t er0 = max((int64_t)0, R0 - halo), er1 = min(H, R1 + halo);
        const int64_t ec0 = max((int64_t)0, C0 - halo), ec1 = min(W, C1 + halo);
        const int eh = (int)(er1 - er0), ew = (int)(ec1 - ec0);
        const int64_t base = plane * H * W;

        // Load o and v^0 over the extended tile; zeros in the ring.
        for (int pi = threadIdx.y; pi < eh + 2 * r; pi += kBlockY) {
            const int i = pi - r;
            const bool row_in = i >= 0 && i < eh;
            const int64_t grow = base + (er0 + i) * W + ec0;
            for (int pj = threadIdx.x; pj < ew + 2 * r; pj += kBlockX) {
                const int j = pj - r;
                float v = 0.0f;
                if (row_in && j >= 0 && j < ew) {
                    const float ov = a.o[grow + j];
                    sO[i * po + j] = ov;
                    const float fv = a.fin ? a.fin[grow + j] : ov;
                    v = 1.0f - 2.0f * gate<SOFT>(fv, alpha, eps);
                }
                sV[pi * pv + pj] = v;
            }
        }
        __syncthreads();

        for (int t = 1; t <= a.iters; t++) {
            const int64_t grow_t = (int64_t)(a.iters - t) * r;
            const int lr0 = (int)(max(er0, R0 - grow_t) - er0), lr1 = (int)(min(er1, R1 + grow_t) - er0);
            const int lc0 = (int)(max(ec0, C0 - grow_t) - ec0), lc1 = (int)(min(ec1, C1 + grow_t) - ec0);
            // Vertical pass: sT[i][pc] = sum_k g[k] sV[i + k][pc] for rows [lr0, lr1) and
            // padded columns pc in [lc0, lc1 + 2r) (local columns lc0 - r .. lc1 + r - 1).
            {
                const int ncols = lc1 - lc0 + 2 * r;
                const int nchunks = (lr1 - lr0 + kRB - 1) / kRB;
                for (int w = tid; w < ncols * nchunks; w += kThreads) {
                    const int pc = lc0 + w % ncols;
                    const int i0 = lr0 + (w / ncols) * kRB;
                    if constexpr (R > 0) {
                        float acc[kRB];
#pragma unroll
                        for (int q = 0; q < kRB; q++) acc[q] = 0.0f;
#pragma unroll
                        for (int q = 0; q < kRB + 2 * R; q++) {
                            const int pr = i0 + q;  // padded row
                            const float x = pr < eh + 2 * R ? sV[pr * pv + pc] : 0.0f;
#pragma unroll
                            for (int ii = 0; ii < kRB; ii++) {
                                const int k = q - ii;
                                if (k >= 0 && k <= 2 * R) acc[ii] = fmaf(a.g[k], x, acc[ii]);
                            }
                        }
#pragma unroll
                        for (int ii = 0; ii < kRB; ii++)
                            if (i0 + ii < lr1) sT[(i0 + ii) * pv + pc] = acc[ii];
                    } else {
                        for (int ii = 0; ii < kRB && i0 + ii < lr1; ii++) {
                            float s = 0.0f;
                            for (int k = 0; k <= 2 * r; k++) s = fmaf(sG[k], sV[(i0 + ii + k) * pv + pc], s);
                            sT[(i0 + ii) * pv + pc] = s;
                        }
                    }
                }
            }
            __syncthreads();
            // Horizontal pass, f and the gate, rows [lr0, lr1), columns [lc0, lc1).
            {
                const int nrows = lr1 - lr0;
                const int nchunks = (lc1 - lc0 + kRB - 1) / kRB;
                const bool last = t == a.iters;
                for (int w = tid; w < nrows * nchunks; w += kThreads) {
                    const int i = lr0 + w % nrows;  // consecutive threads: consecutive rows
                    const int j0 = lc0 + (w / nrows) * kRB;
                    float acc[kRB];
                    if constexpr (R > 0) {
#pragma unroll
                        for (int q = 0; q < kRB; q++) acc[q] = 0.0f;
#pragma unroll
                        for (int q = 0; q < kRB + 2 * R; q++) {
                            const int pc = j0 + q;  // sT column: local column pc - r
                            const float x = pc < ew + 2 * R ? sT[i * pv + pc] : 0.0f;
#pragma unroll
                            for (int jj = 0; jj < kRB; jj++) {
                                const int k = q - jj;
                                if (k >= 0 && k <= 2 * R) acc[jj] = fmaf(a.g[k], x, acc[jj]);
                            }
                        }
                    } else {
                        for (int jj = 0; jj < kRB; jj++) {
                            float s = 0.0f;
                            if (j0 + jj < lc1)
                                for (int k = 0; k <= 2 * r; k++) s = fmaf(sG[k], sT[i * pv + j0 + jj + k], s);
                            acc[jj] = s;
                        }
                    }
#pragma unroll
                    for (int jj = 0; jj < kRB; jj++) {
                        const int j = j0 + jj;
                        if (j < lc1) {
                            const float ov = sO[i * po + j];
                            const float f = ov - lambda * acc[jj];
                            if (!last)
                                sV[(i + r) * pv + j + r] = 1.0f - 2.0f * gate<SOFT>(f, alpha, eps);
                            else  // staged in place: only this thread reads sO[i][j]
                                sO[i * po + j] = a.y ? sa_td_out(ov, gate<SOFT>(f, alpha, eps)) : f;
                        }
                    }
                }
            }
            __syncthreads();
        }

        // Write the output tile (y, or f for the next round), coalesced.
        float* dst = a.y ? a.y : a.fout;
        const int oh = (int)(R1 - R0), ow = (int)(C1 - C0);
        const int oi = (int)(R0 - er0), oj = (int)(C0 - ec0);
        for (int i = threadIdx.y; i < oh; i += kBlockY) {
            const int64_t grow = base + (R0 + i) * W + C0;
            for (int j = threadIdx.x; j < ow; j += kBlockX) dst[grow + j] = sO[(oi + i) * po + oj + j];
        }
        __syncthreads();  // the next tile overwrites the shared buffers
    }
}

// ---- TD as a wavefront down column strips ----------------------------------------------------
// The CPU's scheme on the GPU (issue 12, item 2): a block owns the output columns [C0, C0 + TW)
// of one plane and walks down all its rows, kWaveRows at a time, carrying every iteration level
// at once: level 0 is v^0 = 1 - 2 gate(o) over the strip and its T*r halo columns, and level t
// (1..T) runs t*r rows behind level t - 1, over columns narrowed by r per level. Each level keeps
// only a ring of kWaveRows + 2r rows of v (what the next level's vertical pass reads), o a ring
// of kWaveRows + T*r rows; nothing is recomputed vertically, so o is read once per pixel of the
// strip and its halo columns ((TW + 2 T r) / TW per output) and y written once. The arithmetic
// per pixel is the tile kernel's (vertical then horizontal Gaussian, fmaf in tap order, zeros
// outside the image, f = o - lambda * acc), so the outputs are the same bits.
constexpr int kWaveRows = 8;

struct WaveArgs {
    const float* o;
    float* y;
    int64_t H, W, planes, strips_x;
    int TW, T, r, EW;  // output columns per strip; iterations; radius; ring width (TW + 2 T r)
    float alpha, lambda, eps;
    float g[kMaxTaps];
};

// Shared floats of a wave strip: T rings of v, the ring of o, one vertical-pass buffer, taps.
size_t td_wave_floats(int TW, int T, int r) {
    const size_t ew = (size_t)TW + 2 * (size_t)T * r;
    return (size_t)T * (kWaveRows + 2 * r) * ew + (size_t)(kWaveRows + T * r) * ew + (size_t)kWaveRows * ew + kMaxTaps;
}

// R > 0: radius known at compile time (register windows with taps from the constant bank);
// R == 0: runtime radius a.r (taps from shared memory).
template <int R, bool SOFT>
__global__ void __launch_bounds__(kThreads, 2) td_wave_kernel(const WaveArgs a) {
    extern __shared__ float smem[];
    const int r = R > 0 ? R : a.r, T = a.T, EW = a.EW, VCAP = kWaveRows + 2 * r, OCAP = kWaveRows + T * r;
    float* sV = smem;                                  // [T][VCAP][EW]: v^0 .. v^(T-1)
    float* sO = sV + (size_t)T * VCAP * EW;            // [OCAP][EW]
    float* sT = sO + (size_t)OCAP * EW;                // [kWaveRows][EW]
    float* sG = sT + (size_t)kWaveRows * EW;           // [2r + 1]
    const int tid = threadIdx.x;
    if (tid < 2 * r + 1) sG[tid] = a.g[tid];
    // Rows and columns inside a plane are 32-bit (the planner takes the wavefront only for H and
    // W below 2^30); ring slots (row mod VCAP or OCAP) are carried from row block to row block
    // instead of being divided out per pixel. Version 2 of this kernel did 64-bit divisions per
    // pixel and per row: ~1100 SASS instructions per level and item of 8 outputs (sm_80).
    const int H = (int)a.H, W = (int)a.W;
    const int64_t total = a.planes * a.strips_x;
    const float alpha = a.alpha, lambda = a.lambda, eps = a.eps;
    for (int64_t b = blockIdx.x; b < total; b += gridDim.x) {
        const int64_t plane = b / a.strips_x;
        const int C0 = (int)(b - plane * a.strips_x) * a.TW, cl = C0 - T * r;  // cl: column of ring column 0
        const float* op = a.o + plane * a.H * a.W;
        float* yp = a.y + plane * a.H * a.W;
        // ring columns of level t: global [C0 - (T - t) r, C0 + TW + (T - t) r) within the image
        auto lo = [&](int t) { return max(0, C0 - (T - t) * r) - cl; };
        auto hi = [&](int t) { return min(W, C0 + a.TW + (T - t) * r) - cl; };
        __syncthreads();  // sG, and the previous strip's last reads of the rings
        int os0 = 0, vs0 = 0;  // s0 mod OCAP, s0 mod VCAP
        for (int s0 = 0; s0 - T * r < H; s0 += kWaveRows) {
            // Level 0: o and v^0 for rows [s0, s0 + kWaveRows), one row at a time.
            {
                const int c0 = lo(0), c1 = hi(0);
                const int rows = min(kWaveRows, H - s0);
                for (int ii = 0; ii < rows; ii++) {
                    const int so = os0 + ii < OCAP ? os0 + ii : os0 + ii - OCAP;
                    const int sv = vs0 + ii < VCAP ? vs0 + ii : vs0 + ii - VCAP;
                    const float* orow = op + ((int64_t)(s0 + ii) * W + cl);
                    for (int c = c0 + tid; c < c1; c += kThreads) {
                        const float ov = orow[c];
                        sO[so * EW + c] = ov;
                        sV[sv * EW + c] = 1.0f - 2.0f * gate<SOFT>(ov, alpha, eps);
                    }
                }
            }
            __syncthreads();
            int trv = 0;  // t r mod VCAP
            for (int t = 1; t <= T; t++) {
                trv = trv + r < VCAP ? trv + r : trv + r - VCAP;
                const bool clip = s0 < t * r;  // the level's rows start at row 0
                const int r0 = clip ? 0 : s0 - t * r, r1 = min(H, s0 + kWaveRows - t * r);
                const int nrows = max(0, r1 - r0);
                // ring slots of row r0 at this level (o, v) and of row r0 - r (the vertical window)
                const int bo = clip ? 0 : (os0 - t * r < 0 ? os0 - t * r + OCAP : os0 - t * r);
                const int bv = clip ? 0 : (vs0 - trv < 0 ? vs0 - trv + VCAP : vs0 - trv);
                const int bq = bv - r < 0 ? bv - r + VCAP : bv - r;
                const float* vprev = sV + (size_t)(t - 1) * VCAP * EW;
                // Vertical pass over level t - 1's columns: sT[ii][c] = sum_k g[k] v[r0 + ii - r + k][c],
                // one column per thread, its nrows outputs from one window of nrows + 2r loads.
                {
                    const int c0 = lo(t - 1), c1 = hi(t - 1);
                    for (int c = c0 + tid; c < c1 && nrows > 0; c += kThreads) {
                        float acc[kWaveRows];
#pragma unroll
                        for (int ii = 0; ii < kWaveRows; ii++) acc[ii] = 0.0f;
                        if constexpr (R > 0) {
#pragma unroll
                            for (int q = 0; q < kWaveRows + 2 * R; q++) {
                                const int row = r0 - R + q;
                                const int sq = bq + q < VCAP ? bq + q : bq + q - VCAP;
                                // (rows past r1 + R feed only outputs past nrows, and may not be
                                // computed yet: not read, so that no unwritten word is loaded)
                                const float x =
                                    row >= 0 && row < H && q < nrows + 2 * R ? vprev[sq * EW + c] : 0.0f;
#pragma unroll
                                for (int ii = 0; ii < kWaveRows; ii++) {
                                    const int k = q - ii;
                                    if (k >= 0 && k <= 2 * R) acc[ii] = fmaf(a.g[k], x, acc[ii]);
                                }
                            }
                        } else {
                            for (int q = 0; q < nrows + 2 * r; q++) {
                                const int row = r0 - r + q;
                                const int sq = bq + q < VCAP ? bq + q : bq + q - VCAP;
                                const float x = row >= 0 && row < H ? vprev[sq * EW + c] : 0.0f;
#pragma unroll
                                for (int ii = 0; ii < kWaveRows; ii++) {
                                    const int k = q - ii;
                                    if (k >= 0 && k <= 2 * r) acc[ii] = fmaf(sG[k], x, acc[ii]);
                                }
                            }
                        }
#pragma unroll
                        for (int ii = 0; ii < kWaveRows; ii++)
                            if (ii < nrows) sT[ii * EW + c] = acc[ii];
                    }
                }
                __syncthreads();
                // Horizontal pass over level t's columns, f and the gate (or y at level T): one
                // row and kWaveRows consecutive columns per item, from one window. Item w: row
                // w % 8 (consecutive threads: consecutive rows), chunk w / 8 (no division).
                {
                    const int c0 = lo(t), c1 = hi(t), pc0 = lo(t - 1), pc1 = hi(t - 1);
                    const int nchunks = (c1 - c0 + kWaveRows - 1) / kWaveRows;
                    float* vcur = sV + (size_t)(t < T ? t : 0) * VCAP * EW;
                    for (int w = tid; w < kWaveRows * nchunks; w += kThreads) {
                        const int ii = w & (kWaveRows - 1);
                        if (ii >= nrows) continue;
                        const int cs = c0 + (w / kWaveRows) * kWaveRows;
                        const int i = r0 + ii;
                        const int so = bo + ii < OCAP ? bo + ii : bo + ii - OCAP;
                        const int sv = bv + ii < VCAP ? bv + ii : bv + ii - VCAP;
                        float acc[kWaveRows];
#pragma unroll
                        for (int jj = 0; jj < kWaveRows; jj++) acc[jj] = 0.0f;
                        if constexpr (R > 0) {
#pragma unroll
                            for (int q = 0; q < kWaveRows + 2 * R; q++) {
                                const int col = cs - R + q;
                                const float x = col >= pc0 && col < pc1 ? sT[ii * EW + col] : 0.0f;
#pragma unroll
                                for (int jj = 0; jj < kWaveRows; jj++) {
                                    const int k = q - jj;
                                    if (k >= 0 && k <= 2 * R) acc[jj] = fmaf(a.g[k], x, acc[jj]);
                                }
                            }
                        } else {
                            for (int q = 0; q < kWaveRows + 2 * r; q++) {
                                const int col = cs - r + q;
                                const float x = col >= pc0 && col < pc1 ? sT[ii * EW + col] : 0.0f;
#pragma unroll
                                for (int jj = 0; jj < kWaveRows; jj++) {
                                    const int k = q - jj;
                                    if (k >= 0 && k <= 2 * r) acc[jj] = fmaf(sG[k], x, acc[jj]);
                                }
                            }
                        }
                        const int64_t yrow = (int64_t)i * W + cl;
#pragma unroll
                        for (int jj = 0; jj < kWaveRows; jj++) {
                            const int c = cs + jj;
                            if (c >= c1) continue;
                            const float ov = sO[so * EW + c];
                            const float f = ov - lambda * acc[jj];
                            if (t < T)
                                vcur[sv * EW + c] = 1.0f - 2.0f * gate<SOFT>(f, alpha, eps);
                            else
                                yp[yrow + c] = sa_td_out(ov, gate<SOFT>(f, alpha, eps));
                        }
                    }
                }
                __syncthreads();
            }
            os0 = os0 + kWaveRows < OCAP ? os0 + kWaveRows : os0 + kWaveRows - OCAP;
            vs0 = vs0 + kWaveRows < VCAP ? vs0 + kWaveRows : vs0 + kWaveRows - VCAP;
        }
    }
}

// ---- TD in global memory (large radius / halo) ---------------------------------------------

// tmp = vertical Gaussian of v, zero padding. FROM_O: v = 1 - 2 gate(o) (first iteration),
// else vin holds v.
template <bool SOFT, bool FROM_O>
__global__ void td_global_vpass(const float* __restrict__ vin, float* __restrict__ tmp, int64_t H, int64_t W,
                                int64_t n, int r, TdArgs a) {
    for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t plane = idx / (H * W), rest = idx % (H * W);
        const int64_t i = rest / W, j = rest % W;
        const float* col = vin + plane * H * W + j;
        float s = 0.0f;
        for (int k = 0; k <= 2 * r; k++) {
            const int64_t q = i - r + k;
            if (q >= 0 && q < H) {
                const float x = col[q * W];
                s = fmaf(a.g[k], FROM_O ? 1.0f - 2.0f * gate<SOFT>(x, a.alpha, a.eps) : x, s);
            }
        }
        tmp[idx] = s;
    }
}

// f = o - lambda * horizontal(tmp); the new v into out, or y on the last iteration.
template <bool SOFT>
__global__ void td_global_hpass(const float* __restrict__ o, const float* __restrict__ tmp, float* __restrict__ out,
                                bool final_it, int64_t W, int64_t n, int r, TdArgs a) {
    for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t j = idx % W;
        const float* row = tmp + (idx - j);
        float s = 0.0f;
        for (int k = 0; k <= 2 * r; k++) {
            const int64_t q = j - r + k;
            if (q >= 0 && q < W) s = fmaf(a.g[k], row[q], s);
        }
        const float ov = o[idx];
        const float f = ov - a.lambda * s;
        const float u = gate<SOFT>(f, a.alpha, a.eps);
        out[idx] = final_it ? sa_td_out(ov, u) : 1.0f - 2.0f * u;
    }
}

// ---- tile planning ------------------------------------------------------------------------

struct TdPlan {
    int TH, TW;
    size_t smem;
    double ratio;  // computed pixels per output pixel in the first iteration
};

// Best tile for iterations `iters` within `limit` bytes of shared memory; false if none.
bool td_best_tile(int64_t H, int64_t W, int r, int iters, size_t limit, TdPlan* best) {
    static const int ths[] = {8, 16, 24, 32, 48, 64, 96, 128};
    static const int tws[] = {32, 64, 96, 128};
    const int64_t halo = (int64_t)iters * r;
    bool found = false;
    for (int th0 : ths) {
        for (int tw0 : tws) {
            const int64_t th = std::min<int64_t>(th0, H), tw = std::min<int64_t>(tw0, W);
            const int64_t eh = std::min<int64_t>(H, th + 2 * halo), ew = std::min<int64_t>(W, tw + 2 * halo);
            if (eh > 4096 || ew > 4096) continue;
            int pv, po;
            const size_t bytes = 4 * td_smem_floats((int)eh, (int)ew, r, &pv, &po);
            if (bytes > limit) continue;
            const int64_t tiles = ((H + th - 1) / th) * ((W + tw - 1) / tw);
            const double ratio = (double)tiles * (double)(eh * ew) / (double)(H * W);
            if (!found || ratio < best->ratio - 1e-9 || (ratio < best->ratio + 1e-9 && th * tw > (int64_t)best->TH * best->TW)) {
                best->TH = (int)th;
                best->TW = (int)tw;
                best->smem = bytes;
                best->ratio = ratio;
                found = true;
            }
        }
    }
    return found;
}

int td_launch_tiles(const char* fn, const LaunchCtx& c, TdArgs a, const TdPlan& plan, bool soft) {
    a.TH = plan.TH;
    a.TW = plan.TW;
    a.tiles_x = (a.W + plan.TW - 1) / plan.TW;
    a.tiles = a.tiles_x * ((a.H + plan.TH - 1) / plan.TH);
    const int64_t halo = (int64_t)a.iters * a.r;
    a.eh_max = (int)std::min<int64_t>(a.H, plan.TH + 2 * halo);
    const int ew_max = (int)std::min<int64_t>(a.W, plan.TW + 2 * halo);
    td_smem_floats(a.eh_max, ew_max, a.r, &a.pv, &a.po);
    return with_radius(a.r, [&](auto rc) {
        return with_bool(soft, [&](auto sc) {
            auto kernel = td_tile_kernel<decltype(rc)::value, decltype(sc)::value>;
            int per_sm = 0;
            if (int e = blocks_per_sm(fn, c, kernel, kThreads, plan.smem, &per_sm)) return e;
            if (per_sm < 1) return fail(SA_ERR_INTERNAL, "%s: a %zu-byte tile does not fit on this GPU", fn, plan.smem);
            const int64_t total = a.planes * a.tiles;
            const int64_t grid = std::max<int64_t>(1, std::min<int64_t>(total, (int64_t)c.sms * per_sm));
            return launch(fn, "td_tile_kernel", kernel, dim3((unsigned)grid), dim3(kBlockX, kBlockY), plan.smem, c, a);
        });
    });
}

std::atomic<int> g_wave_mode{0};  // sa_internal_cuda_td_wave: 0 the planner, 1 never, 2 wherever it fits

int td_launch_wave(const char* fn, const LaunchCtx& c, const TdArgs& t, int T, int tw, size_t bytes, bool soft,
                   float* y) {
    WaveArgs a = {};
    a.o = t.o;
    a.y = y;
    a.H = t.H;
    a.W = t.W;
    a.planes = t.planes;
    a.TW = tw;
    a.strips_x = (t.W + tw - 1) / tw;
    a.T = T;
    a.r = t.r;
    a.EW = tw + 2 * T * t.r;
    a.alpha = t.alpha;
    a.lambda = t.lambda;
    a.eps = t.eps;
    for (int k = 0; k < kMaxTaps; k++) a.g[k] = t.g[k];
    return with_radius(a.r, [&](auto rc) {
        return with_bool(soft, [&](auto sc) {
            auto kernel = td_wave_kernel<decltype(rc)::value, decltype(sc)::value>;
            int per_sm = 0;
            if (int e = blocks_per_sm(fn, c, kernel, kThreads, bytes, &per_sm)) return e;
            if (per_sm < 1) return fail(SA_ERR_INTERNAL, "%s: a %zu-byte TD strip does not fit on this GPU", fn, bytes);
            const int64_t total = a.planes * a.strips_x;
            const int64_t grid = std::max<int64_t>(1, std::min<int64_t>(total, (int64_t)c.sms * per_sm));
            return launch(fn, "td_wave_kernel", kernel, dim3((unsigned)grid), dim3(kThreads), bytes, c, a);
        });
    });
}

// TD-LReLU on the current device, after validation.
int td_run(const char* fn, const LaunchCtx& c, const float* o, float* y, sa_shape s, int64_t n, const sa_params* p) {
    if (p->iterations == 0 || p->lambda == 0.0f) return td_pointwise(fn, c, o, y, n, p);
    const int r = sa::td_radius(p);
    const bool soft = p->eps > 0.0f;
    TdArgs a = {};
    a.o = o;
    a.H = s.h;
    a.W = s.w;
    a.planes = s.n * s.c;
    a.r = r;
    a.alpha = p->alpha;
    a.lambda = p->lambda;
    a.eps = p->eps;
    sa_td_gaussian(p->sigma, r, a.g);
    const int T = p->iterations;

    // The wavefront (td_wave_kernel) when all T iterations fit one strip's rings in the shared
    // memory of two blocks per SM with at most 3x the strip's columns read: the widest strip of
    // 128, 64, 32 columns that still gives every SM a block (else 32).
    const size_t half_sm_wave = (size_t)std::max(0, c.smem_per_sm / 2 - c.smem_reserved);
    const int wave = g_wave_mode.load(std::memory_order_relaxed);
    if (wave != 1) {
        for (int tw : {128, 64, 32}) {
            const size_t bytes = 4 * td_wave_floats(tw, T, r);
            const int64_t strips = (a.W + tw - 1) / tw;
            const bool wide_enough = (int64_t)T * r * 2 <= 2 * tw;
            const bool fills = a.planes * strips >= c.sms || tw == 32;
            const bool narrow = a.H < (1 << 30) && a.W < (1 << 30);  // the kernel's 32-bit rows and columns
            if (bytes <= std::min<size_t>((size_t)c.smem_optin, half_sm_wave) && (wide_enough || wave == 2) && fills &&
                narrow)
                return td_launch_wave(fn, c, a, T, tw, bytes, soft, y);
        }
    }

    // Iterations per launch: as many as keep the first iteration's recomputation <= 3x with
    // a tile that leaves room for two blocks per SM; else one per launch if any tile does it
    // in <= 6x; else the global-memory path. Two blocks per SM: half the SM's shared memory
    // less what the system reserves per block (H100 113 KiB, A100 81 KiB, sm_86 49 KiB; a fixed
    // 110 KiB had left one block per SM on an A100).
    const size_t half_sm = (size_t)std::max(0, c.smem_per_sm / 2 - c.smem_reserved);
    const size_t pref = std::min<size_t>((size_t)c.smem_optin, half_sm);
    TdPlan plan = {};
    int Tc = 0;
    for (int tc = std::min(T, 64); tc >= 1; tc--) {
        TdPlan q;
        if (td_best_tile(a.H, a.W, r, tc, pref, &q) && q.ratio <= 3.0) {
            plan = q;
            Tc = tc;
            break;
        }
    }
    if (Tc == 0) {
        TdPlan q;
        if (td_best_tile(a.H, a.W, r, 1, (size_t)c.smem_optin, &q) && q.ratio <= 6.0) {
            plan = q;
            Tc = 1;
        }
    }

    if (Tc > 1) {  // balance the rounds (10 = 5 + 5, not 9 + 1): a smaller halo, a better tile
        const int rounds = (T + Tc - 1) / Tc, tb = (T + rounds - 1) / rounds;
        TdPlan q;
        if (tb < Tc && td_best_tile(a.H, a.W, r, tb, pref, &q)) {
            plan = q;
            Tc = tb;
        }
    }

    if (Tc > 0) {
        const int rounds = (T + Tc - 1) / Tc;
        size_t nbuf = rounds == 1 ? 0 : (rounds == 2 ? 1 : 2), floats;
        if (!mul_ok(nbuf, (size_t)n, &floats)) return fail(SA_ERR_OUT_OF_MEMORY, "%s: workspace too large", fn);
        Workspace ws;
        int rc = ws.alloc(fn, c, floats);
        if (rc) return rc;
        float* bufs[2] = {ws.p, nbuf == 2 ? ws.p + n : nullptr};
        const float* fin = nullptr;
        int done = 0;
        for (int k = 0; k < rounds; k++) {
            TdArgs ak = a;
            ak.iters = std::min(Tc, T - done);
            ak.fin = fin;
            const bool final_round = k == rounds - 1;
            ak.y = final_round ? y : nullptr;
            ak.fout = final_round ? nullptr : bufs[k % 2];
            // (a last round with fewer iterations has a smaller halo: the plan's tile still fits)
            if ((rc = td_launch_tiles(fn, c, ak, plan, soft))) return rc;
            fin = ak.fout;
            done += ak.iters;
        }
        return SA_OK;
    }

    // Global-memory path: tmp and v buffers.
    size_t floats;
    if (!mul_ok(2, (size_t)n, &floats)) return fail(SA_ERR_OUT_OF_MEMORY, "%s: workspace too large", fn);
    Workspace ws;
    int rc = ws.alloc(fn, c, floats);
    if (rc) return rc;
    float* tmp = ws.p;
    float* v = ws.p + n;
    const int64_t grid = grid_for(c, n, 8);
    for (int t = 1; t <= T; t++) {
        float* out = t == T ? y : v;  // v in place: the vertical pass that read it has finished
        if (t == 1)  // v^0 = 1 - 2 gate(o), computed by the pass (SOFT matters only here)
            rc = with_bool(soft, [&](auto sc) {
                return launch(fn, "td_global_vpass", td_global_vpass<decltype(sc)::value, true>, dim3((unsigned)grid),
                              dim3(kThreads), 0, c, o, tmp, a.H, a.W, n, r, a);
            });
        else
            rc = launch(fn, "td_global_vpass", td_global_vpass<false, false>, dim3((unsigned)grid), dim3(kThreads), 0, c,
                        v, tmp, a.H, a.W, n, r, a);
        if (rc) return rc;
        rc = with_bool(soft, [&](auto sc) {
            return launch(fn, "td_global_hpass", td_global_hpass<decltype(sc)::value>, dim3((unsigned)grid),
                          dim3(kThreads), 0, c, o, tmp, out, t == T, a.W, n, r, a);
        });
        if (rc) return rc;
    }
    return SA_OK;
}

}  // namespace

namespace sa {
namespace cuda {

int td_pointwise(const char* fn, const LaunchCtx& c, const float* o, float* y, int64_t n, const sa_params* p) {
    const int64_t grid = grid_for(c, n, 8);
    return with_bool(p->eps > 0.0f, [&](auto sc) {
        return launch(fn, "td_point_kernel", td_point_kernel<decltype(sc)::value>, dim3((unsigned)grid), dim3(kThreads),
                      0, c, o, y, n, p->alpha, p->eps);
    });
}

}  // namespace cuda
}  // namespace sa

extern "C" {

int sa_internal_cuda_td_wave(int mode) {
    const int prev = g_wave_mode.load();
    if (mode >= 0) g_wave_mode.store(mode <= 2 ? mode : 0);
    return prev;
}

int sa_cuda_td_lrelu_forward(const float* o, float* y, sa_shape shape, const sa_params* p, void* stream) {
    const char* fn = "sa_cuda_td_lrelu_forward";
    int64_t n;
    return with_launch_ctx(fn, sa::check_td(fn, o, y, shape, p, &n), stream, {{"o", o}, {"y", y}},
                           [&](const LaunchCtx& c) { return td_run(fn, c, o, y, shape, n, p); });
}

SA_NOT_IMPLEMENTED_ENTRY(sa_cuda_td_lrelu_backward, const float*, const float*, float*, sa_shape, const sa_params*, void*)

}  // extern "C"
