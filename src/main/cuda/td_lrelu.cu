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
#include <type_traits>

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

// ---- TD, hard form: a wavefront of gate bits (version 4) --------------------------------------
// The wavefront above with v stored as one bit per pixel (issue 12, item 2). In the hard form v
// is two-valued (-1 where the gate is open, vc = 1 - 2 alpha where it is closed), so the
// vertical pass of a pixel, the fmaf chain over 2R + 1 taps, is a function of 2R + 1 bits: a
// table of 2^(2R + 1) floats, built per block by the same fmaf chain in the same tap order, gives
// the same bits as computing it (R <= 4: at most 512 entries). Each level keeps, per ring
// column, one 32-bit word of gate bits: rows in ring order (row x of level t at bit (x + t R) mod
// 32: two steps of 16 rows, a byte per block of 8), so that the 2R + 1 bits of a vertical window
// are one rotate and one mask of one word, and the vertical pass is fused into the horizontal
// one: an item (one row, 8 columns) reads 16 aligned words, looks up 8 + 2R vertical sums and
// forms 8 outputs by 2R + 1 fmaf each, as before. The new gates go back as bits: one warp ballot
// per column of the items (lane 8k + jj then holds the 8 rows of column jj of the warp's chunk
// k, a byte, picked by byte permutes). A step is 16 rows: a warp takes its chunks in both
// blocks of 8, and every level's set-up and barrier serve 16 rows. One barrier per level, none
// between passes; the o ring (16 + T R rows, whole steps) also stages y in place, written out by
// a later step's level 0 with coalesced stores. Rows near the image's top and bottom (where some
// taps fall outside: zero padding, not +-1) and items whose window crosses its left or right
// edge take an out-of-line guarded path that computes the chain from the bits with zeros
// outside, exactly as the float kernels do.
// Shared memory (all dynamic): the table, T x EWB words of bits, OCAP x OP floats of o and the
// levels' bounds: 42.5 KiB at T = 5, R = 3 and 226 columns (the float wavefront: 64 KiB at 128
// columns); the planner wants three blocks per SM.
constexpr int kBitRows = 8;  // rows of an item: one byte of a bit word
constexpr int kSubs = 2;     // items' row blocks per step: a step of 16 rows shares one level set-up
constexpr int kStepRows = kBitRows * kSubs;
constexpr int kBitPad = 8;   // bit words before ring column 0
static_assert(kStepRows * 2 == 32, "a bit word holds two steps of rows (the window reaches 2R <= 16 back)");

struct BitArgs {
    const float* o;
    float* y;
    int64_t planes, strips_x;
    int H, W, TW, T;
    int EW, EWB, OP;  // ring columns (TW + 2 T R); bit words per level; o ring pitch
    float alpha, lambda, vc;
    float g[kMaxTaps];
};

// Bytes of shared memory of the bit wavefront, and its pitches.
size_t td_bit_bytes(int R, int TW, int T, int* EW, int* EWB, int* OP) {
    *EW = TW + 2 * T * R;
    // Bit words: 8 before ring column 0 (an item's 16 aligned words start 4 before its chunk,
    // which may start up to 7 before its level's first column) and 12 past EW; a multiple of 4.
    *EWB = (kBitPad + *EW + 12 + 3) & ~3;
    // o rows: at least EW + 8 floats (an item's chunk may run 7 past its level's last column),
    // 4 mod 32 apart: the float4 rows of a warp's 8 rows of items hit distinct banks.
    *OP = ((*EW + 8 + 31) & ~31) + 4;
    const size_t ocap = (size_t)(2 * kStepRows - 1 + T * R) & ~(size_t)(kStepRows - 1);
    return 4 * (((size_t)1 << (2 * R + 1)) + (size_t)T * *EWB + ocap * *OP) + 16 * (size_t)(T + 1);
}

template <int R>
struct Taps {
    float g[2 * R + 1];
};
struct Acc8 {
    float v[kBitRows];
};

// One item's sums where its window leaves the image (rows near the plane's top or bottom,
// columns near its left or right edge): the chain from the bits with zeros outside, as the float
// kernels read them (with every tap inside, the chain is the table's entry). Not inlined: the
// compiler would hoist its per-row masks out of the item loop into every level's set-up.
// bofs: level t - 1's ring column 0 as a word offset into the dynamic shared memory (a pointer
// argument would be a generic one: 64-bit address arithmetic in the caller).
template <int R>
__device__ SA_NOINLINE Acc8 td_bit_guarded(int bofs, const Taps<R> g, float vc, int cs, int i, int H, int img0,
                                            int img1, unsigned rot_by) {
    extern __shared__ float smem[];
    const unsigned* bprev = reinterpret_cast<const unsigned*>(smem) + bofs;
    constexpr unsigned kAll = (1u << (2 * R + 1)) - 1;
    // taps on rows inside the plane
    const unsigned vmask = (kAll >> max(0, i + R - H + 1)) & (kAll << max(0, R - i));
    Acc8 r;
#pragma unroll
    for (int jj = 0; jj < kBitRows; jj++) r.v[jj] = 0.0f;
#pragma unroll
    for (int q = 0; q < kBitRows + 2 * R; q++) {
        const int col = cs - R + q;
        float x = 0.0f;
        if (col >= img0 && col < img1) {
            const unsigned wd = bprev[col], rot = __funnelshift_r(wd, wd, rot_by);
#pragma unroll
            for (int k = 0; k <= 2 * R; k++) {
                const float v = (vmask >> k & 1) ? ((rot >> k & 1) ? -1.0f : vc) : 0.0f;
                x = fmaf(g.g[k], v, x);
            }
        }
#pragma unroll
        for (int jj = 0; jj < kBitRows; jj++) {
            const int k = q - jj;
            if (k >= 0 && k <= 2 * R) r.v[jj] = fmaf(g.g[k], x, r.v[jj]);
        }
    }
    return r;
}

// Three blocks per SM (the planner's shared-memory rule): without the bound ptxas takes 98 to
// 128 registers (two blocks); with it 71 to 76 on sm_80 and sm_90, no spill.
#define SA_TD_BIT_BOUNDS __launch_bounds__(kThreads, 3)
template <int R>
__global__ void SA_TD_BIT_BOUNDS td_bit_kernel(const BitArgs a) {
    static_assert(R >= 1 && R <= 4, "the bit wavefront's table has 2^(2R + 1) entries");
    extern __shared__ float smem[];
    constexpr int NT = 1 << (2 * R + 1);
    constexpr unsigned kByteMask = (unsigned)(NT - 1) << 2;  // a window's bits as a byte offset into the table
    // The o ring's rows: 16 + T R rounded up to whole steps (a step's 16 rows never wrap).
    const int T = a.T, EWB = a.EWB, OP = a.OP, OCAP = (2 * kStepRows - 1 + T * R) & ~(kStepRows - 1);
    // (No static shared memory: opt_in_shared sets a kernel's dynamic limit to the whole opt-in
    // size, which a static array would push past the device's limit.)
    float* sTab = smem;                                                  // [NT], at offset 0
    unsigned* sBits = reinterpret_cast<unsigned*>(smem + NT) + kBitPad;  // [T][EWB], from ring column -8
    float* sO = smem + NT + (size_t)T * EWB;                             // [OCAP][OP], 16-byte aligned rows
    int4* sLv = reinterpret_cast<int4*>(sO + (size_t)OCAP * OP);  // [T + 1]: each level's columns in this strip
    const int tid = threadIdx.x, lane = tid & 31;
    const float vc = a.vc, alpha = a.alpha, lambda = a.lambda;
    for (int m = tid; m < NT; m += kThreads) {
        float s = 0.0f;
#pragma unroll
        for (int k = 0; k <= 2 * R; k++) s = fmaf(a.g[k], (m >> k & 1) ? -1.0f : vc, s);
        sTab[m] = s;
    }
    // Zeroed once per block: a strip's first steps and an item's columns past its level's end
    // read words no step has written yet; they feed only outputs that are never stored.
    for (int i = tid; i < T * EWB; i += kThreads) sBits[i - kBitPad] = 0u;
    for (int i = tid; i < OCAP * OP; i += kThreads) sO[i] = 0.0f;
    const int H = a.H, W = a.W;
    const int64_t total = a.planes * a.strips_x;
    for (int64_t b = blockIdx.x; b < total; b += gridDim.x) {
        const int64_t plane = b / a.strips_x;
        const int C0 = (int)(b - plane * a.strips_x) * a.TW, cl = C0 - T * R;  // cl: column of ring column 0
        const float* op = a.o + plane * (int64_t)H * W;
        float* yp = a.y + plane * (int64_t)H * W;
        auto lo = [&](int t) { return max(0, C0 - (T - t) * R) - cl; };
        auto hi = [&](int t) { return min(W, C0 + a.TW + (T - t) * R) - cl; };
        const int img0 = -cl, img1 = W - cl;  // the image's columns in ring columns
        // Per level: its first item column (its first column rounded down to 8: aligned loads;
        // the columns before are computed and not used, their bits and staged y lie outside what
        // anyone reads), its end, its items (8 per chunk of 8 columns). (The previous strip's
        // last reads of sLv were before its last barrier.)
        if (tid <= T) {
            const int c0 = lo(tid), c1 = hi(tid), ca = c0 & ~7, n = c1 > c0 ? ((c1 - ca + 7) >> 3) * 8 : 0;
            sLv[tid] = make_int4(ca, c1, n, (n + 31) & ~31);  // (items per row block, in whole warps)
        }
        __syncthreads();  // the table, the zeroing and sLv, or the previous strip's last reads
        int os0 = 0;      // s0 mod OCAP
        for (int s0 = 0;; s0 += kStepRows) {
            const int slot = (s0 >> 3) & 3;  // this step's first byte of every bit word (0 or 2)
            // Level 0: y of the rows level T finished in an earlier step goes out of the o ring
            // (those slots are this step's rows), o of rows [s0, s0 + 16) comes in, and their
            // gate bits u^0 = gate(o). One column per thread: coalesced loads and stores. The
            // rows' checks only where the plane's first or last rows are near (ROWS).
            auto level0 = [&](auto rows_c) {
                constexpr bool ROWS = decltype(rows_c)::value;
                const int c0 = lo(0), c1 = hi(0), y0 = lo(T), y1 = hi(T), yr0 = s0 - OCAP;
                for (int c = c0 + tid; c < c1; c += kThreads) {
                    const bool ycol = c >= y0 && c < y1;
                    unsigned byte = 0;
                    float* ring = sO + (size_t)os0 * OP + c;  // slots os0 .. os0 + 15 (OCAP % 16 == 0)
                    const float* orow = op + (int64_t)s0 * W + cl + c;
                    float* yrow = yp + (int64_t)(ROWS ? 0 : yr0) * W + cl + c;
#pragma unroll
                    for (int ii = 0; ii < kStepRows; ii++) {
                        const int yr = yr0 + ii;  // the row this slot held
                        if (ROWS) {
                            if (ycol && yr >= 0 && yr < H) yp[(int64_t)yr * W + cl + c] = ring[ii * OP];
                            if (s0 + ii < H) {
                                const float ov = orow[(int64_t)ii * W];
                                ring[ii * OP] = ov;
                                byte |= (ov > 0.0f ? 1u : 0u) << ii;
                            }
                        } else {
                            if (ycol) *yrow = ring[ii * OP];
                            const float ov = *orow;
                            ring[ii * OP] = ov;
                            byte |= (ov > 0.0f ? 1u : 0u) << ii;
                            yrow += W;
                            orow += W;
                        }
                    }
                    // the step's two bytes (slot is even)
                    reinterpret_cast<unsigned short*>(sBits + c)[slot >> 1] = (unsigned short)byte;
                }
            };
            if (s0 - OCAP >= 0 && s0 + kStepRows <= H)
                level0(std::false_type());
            else
                level0(std::true_type());
            if (s0 - OCAP + kStepRows >= H) break;  // the last rows of y are out
            __syncthreads();
            if (s0 - T * R >= H) {  // the last steps only write y out
                os0 = os0 + kStepRows < OCAP ? os0 + kStepRows : 0;
                continue;
            }
            // Level t: the vertical sums from the bits of level t - 1, the horizontal pass, f,
            // and the gate bits of level t (LAST: y, staged in the o ring). RELU: alpha == 0.
            auto level = [&](const int t, auto last_c, auto relu_c) {
                constexpr bool LAST = decltype(last_c)::value, RELU = decltype(relu_c)::value;
                const int4 lv = sLv[t];
                const int ca = lv.x, c1 = lv.y, nitems = lv.z, n32 = lv.w;
                const int rb = s0 - t * R;  // the row of the first row block's ii = 0
                const int bo = os0 - t * R < 0 ? os0 - t * R + OCAP : os0 - t * R;
                const unsigned* bprev = sBits + (size_t)(t - 1) * EWB;
                unsigned char* bcur = reinterpret_cast<unsigned char*>(sBits + (size_t)(LAST ? 0 : t) * EWB);
                const unsigned pick_k = 0x40u + (unsigned)(lane >> 3) * 0x11u;  // bytes k and 4 + k
                // Whole warps iterate (the ballots need every lane): lane = 8 * chunk + row; a
                // warp takes its chunks in both of the step's row blocks.
                for (int w0 = (tid & ~31); w0 < n32; w0 += kThreads) {
                    const int w = w0 + lane, ii = lane & 7;
                    const bool col_ok = w < nitems;
#pragma unroll
                    for (int sb = 0; sb < kSubs; sb++) {
                    const int ir = 8 * sb + ii;  // the row in the step
                    const int i = rb + ir;
                    const bool active = col_ok && i >= 0 && i < H;
                    // Inactive lanes (rows outside the plane, chunks past the level's end) run the
                    // fast path on the level's first chunk and store nothing: no branch around
                    // the item, whose vote predicates ptxas (sm_90) would carry across it.
                    const int cs = active ? ca + (w >> 3) * 8 : ca;
                    float f[kBitRows];
                    {
                        // (inactive lanes: the step's last loaded row, which no level writes)
                        const int so = !active ? os0 + kStepRows - 1 : bo + ir < OCAP ? bo + ir : bo + ir - OCAP;
                        // level t - 1's window of row i: rows i - R .. i + R at bits
                        // (i - R + (t - 1) R) mod 32 = (s0 + ir - 2R) mod 32 on (rotated to bit 2)
                        const unsigned sh = (unsigned)(s0 + ir - 2 * R - 2);
                        float acc[kBitRows];
#pragma unroll
                        for (int jj = 0; jj < kBitRows; jj++) acc[jj] = 0.0f;
                        if (!active || (i >= R && i + R < H && cs - R >= img0 && cs + kBitRows + R <= img1)) {
                            // the words of columns cs - 4 .. cs + 11, four aligned 16-byte loads
                            unsigned wv[16];
#pragma unroll
                            for (int v4 = 0; v4 < 4; v4++) {
                                const uint4 u = *reinterpret_cast<const uint4*>(bprev + cs - 4 + 4 * v4);
                                wv[4 * v4] = u.x, wv[4 * v4 + 1] = u.y, wv[4 * v4 + 2] = u.z, wv[4 * v4 + 3] = u.w;
                            }
#pragma unroll
                            for (int q = 0; q < kBitRows + 2 * R; q++) {
                                const unsigned wd = wv[q + 4 - R];
                                const float x = *reinterpret_cast<const float*>(
                                    reinterpret_cast<const char*>(sTab) + (__funnelshift_r(wd, wd, sh) & kByteMask));
#pragma unroll
                                for (int jj = 0; jj < kBitRows; jj++) {
                                    const int k = q - jj;
                                    if (k >= 0 && k <= 2 * R) acc[jj] = fmaf(a.g[k], x, acc[jj]);
                                }
                            }
                        } else {  // zeros outside the image, as the float kernels read them
                            Taps<R> g;
#pragma unroll
                            for (int k = 0; k <= 2 * R; k++) g.g[k] = a.g[k];
                            const Acc8 r8 = td_bit_guarded<R>(NT + kBitPad + (t - 1) * EWB, g, vc, cs, i, H, img0, img1, sh + 2);
#pragma unroll
                            for (int jj = 0; jj < kBitRows; jj++) acc[jj] = r8.v[jj];
                        }
                        float4* po = reinterpret_cast<float4*>(&sO[so * OP + cs]);  // 16-byte aligned
                        const float4 o0 = po[0], o1 = po[1];
                        const float ov[kBitRows] = {o0.x, o0.y, o0.z, o0.w, o1.x, o1.y, o1.z, o1.w};
                        float yv[kBitRows];
#pragma unroll
                        for (int jj = 0; jj < kBitRows; jj++) {
                            f[jj] = ov[jj] - lambda * acc[jj];
                            // LAST: y staged in place (only this thread reads sO[so][cs ..] now;
                            // columns outside [c0, c1) are never written out). o * u as
                            // sa_td_out computes it where u != 0, that is wherever alpha != 0.
                            yv[jj] = RELU ? sa_td_out(ov[jj], f[jj] > 0.0f ? 1.0f : 0.0f)
                                          : ov[jj] * (f[jj] > 0.0f ? 1.0f : alpha);
                        }
                        if (LAST && active) {
                            po[0] = make_float4(yv[0], yv[1], yv[2], yv[3]);
                            po[1] = make_float4(yv[4], yv[5], yv[6], yv[7]);
                        }
                    }
                    if (!LAST) {
                        // Ballot jj: bit 8k + ii = the gate of row ii, column jj of the warp's
                        // chunk k. Lane 8k + jj stores byte k of ballot jj: the 8 rows of column
                        // c0 + w0 + lane, picked by byte permutes (byte k of each ballot, then
                        // ballot jj of those) rather than a select per ballot.
                        unsigned m[kBitRows];
#pragma unroll
                        for (int jj = 0; jj < kBitRows; jj++) m[jj] = __ballot_sync(0xffffffffu, active && f[jj] > 0.0f);
                        const unsigned b0 = __byte_perm(__byte_perm(m[0], m[1], pick_k), __byte_perm(m[2], m[3], pick_k), 0x5410);
                        const unsigned b1 = __byte_perm(__byte_perm(m[4], m[5], pick_k), __byte_perm(m[6], m[7], pick_k), 0x5410);
                        const int c = ca + w0 + lane;
                        if (c < c1) bcur[c * 4 + slot + sb] = (unsigned char)__byte_perm(b0, b1, lane & 7);
                    }
                    }
                }
                __syncthreads();
            };
            for (int t = 1; t < T; t++) level(t, std::false_type(), std::false_type());
            if (alpha == 0.0f)
                level(T, std::true_type(), std::true_type());
            else
                level(T, std::true_type(), std::false_type());
            os0 = os0 + kStepRows < OCAP ? os0 + kStepRows : 0;
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
            return launch_resident(fn, "td_tile_kernel", td_tile_kernel<decltype(rc)::value, decltype(sc)::value>,
                                   a.planes * a.tiles, dim3(kBlockX, kBlockY), plan.smem, c, a);
        });
    });
}

std::atomic<int> g_wave_mode{0};  // sa_internal_cuda_td_wave: 0 the planner, 1 never, 2 float, 3 bits wherever they fit

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
            return launch_resident(fn, "td_wave_kernel", td_wave_kernel<decltype(rc)::value, decltype(sc)::value>,
                                   a.planes * a.strips_x, dim3(kThreads), bytes, c, a);
        });
    });
}

int td_launch_bits(const char* fn, const LaunchCtx& c, const TdArgs& t, int T, int tw, size_t bytes, float* y) {
    BitArgs a = {};
    a.o = t.o;
    a.y = y;
    a.H = (int)t.H;
    a.W = (int)t.W;
    a.planes = t.planes;
    a.TW = tw;
    a.strips_x = (t.W + tw - 1) / tw;
    a.T = T;
    td_bit_bytes(t.r, tw, T, &a.EW, &a.EWB, &a.OP);
    a.alpha = t.alpha;
    a.lambda = t.lambda;
    a.vc = 1.0f - 2.0f * t.alpha;  // v of a closed gate, as the float kernels compute it
    for (int k = 0; k < kMaxTaps; k++) a.g[k] = t.g[k];
    return with_value<1, 2, 3, 4>(t.r, [&](auto rc) {
        return launch_resident(fn, "td_bit_kernel", td_bit_kernel<decltype(rc)::value>, a.planes * a.strips_x,
                               dim3(kThreads), bytes, c, a);
    }, [&] { return fail(SA_ERR_INTERNAL, "%s: the TD bit wavefront takes radius 1 to 4, not %d", fn, t.r); });
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
    const bool narrow = a.H < (1 << 30) && a.W < (1 << 30);  // the wavefronts' 32-bit rows and columns
    const int wave = g_wave_mode.load(std::memory_order_relaxed);
    // The bit wavefront (td_bit_kernel), hard form, radius 1 to 4: strips as wide as keep every
    // level's items within one pass of the block's threads (256 - 2 T r columns), narrower
    // where that leaves SMs without a block; three blocks per SM at least. A strip as wide as
    // the image has no halo to recompute, whatever T r is.
    if (!soft && r >= 1 && r <= 4 && narrow && (wave == 0 || wave == 3)) {
        const size_t third_sm = (size_t)std::max(0, c.smem_per_sm / 3 - c.smem_reserved);
        const int widest = std::max(32, kThreads - 2 * T * r);  // (a ring of exactly kThreads columns)
        for (int tw0 : {widest, 128, 64, 32}) {
            if (tw0 > widest) continue;
            const int tw = (int)std::min<int64_t>(tw0, a.W);
            int ew, ewb, op;
            const size_t bytes = td_bit_bytes(r, tw, T, &ew, &ewb, &op);
            const int64_t strips = (a.W + tw - 1) / tw;
            const bool wide_enough = (int64_t)T * r <= tw || strips == 1;
            const bool fills = a.planes * strips >= c.sms || tw0 == 32 || strips == 1;
            if (bytes <= std::min<size_t>((size_t)c.smem_optin, third_sm) && ((wide_enough && fills) || wave == 3))
                return td_launch_bits(fn, c, a, T, tw, bytes, y);
        }
    }
    const size_t half_sm_wave = (size_t)std::max(0, c.smem_per_sm / 2 - c.smem_reserved);
    if (wave != 1) {
        for (int tw : {128, 64, 32}) {
            const size_t bytes = 4 * td_wave_floats(tw, T, r);
            const int64_t strips = (a.W + tw - 1) / tw;
            const bool wide_enough = (int64_t)T * r * 2 <= 2 * tw;
            const bool fills = a.planes * strips >= c.sms || tw == 32;
            if (bytes <= std::min<size_t>((size_t)c.smem_optin, half_sm_wave) && (wide_enough || wave >= 2) && fills &&
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
    if (mode >= 0) g_wave_mode.store(mode <= 3 ? mode : 0);
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
