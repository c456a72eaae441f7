// The per-tile stages of the CPU NTD-LReLU (ntd_lrelu.cpp runs them, ntd_lrelu_isa.cpp has the
// iterations), compiled once per instruction set like every kernel file, but with
// -ffp-contract=off (CMakeLists.txt): no multiply-add is fused, so every build rounds each
// operation alone and gives the same bits (the weights, the guide, v^0) on every CPU, vectorised
// as wide as the CPU allows. Only +, -, *, / and comparisons (vexp included) are used: all
// IEEE-rounded the same way at any vector width.
#include <stdint.h>
#include <string.h>

#include <algorithm>

#include "isa.h"
#include "spatialact/spatialact.h"
#include "td_gate.h"

namespace sa {
namespace SA_ISA_NS {

// One padded row a of the tile's guide (task = c * Hg + a): image row clamp(er0 - pad + a),
// columns ec0 - pad .. ec0 - pad + Wg - 1 clamped to the image; the channel mean (channel
// order, times (float)(1/C) when C > 1) or a copy of the caller's guide.
void ntd_guide(const NtdArgs& j, int64_t task) {
    const int64_t IH = j.IH, IW = j.IW, pad = j.P + j.S;
    const int64_t a = task % j.Hg, c = task / j.Hg;  // c < Cg
    const int64_t q = std::min<int64_t>(IH - 1, std::max<int64_t>(0, j.er0 - pad + a));
    float* dst = j.gpad + (c * j.Hg + a) * j.Wg;
    const int64_t g0 = j.ec0 - pad;                              // image column of dst[0]
    const int64_t b0 = std::max<int64_t>(0, -g0), b1 = std::min<int64_t>(j.Wg, IW - g0);  // in the image
    float* d = dst + b0;
    const int64_t n = b1 - b0;
    if (j.guide) {
        memcpy(d, j.guide + ((j.n * j.Cg + c) * IH + q) * IW + g0 + b0, sizeof(float) * (size_t)n);
    } else {
        const float* src = j.o + (j.n * j.C * IH + q) * IW + g0 + b0;
        memcpy(d, src, sizeof(float) * (size_t)n);
        for (int64_t ch = 1; ch < j.C; ch++) {
            const float* sc = src + ch * IH * IW;
#pragma omp simd
            for (int64_t x = 0; x < n; x++) d[x] += sc[x];
        }
        const float inv = (float)(1.0 / (double)j.C);
        if (j.C > 1) {
#pragma omp simd
            for (int64_t x = 0; x < n; x++) d[x] *= inv;
        }
    }
    for (int64_t b = 0; b < b0; b++) dst[b] = dst[b0];
    for (int64_t b = b1; b < j.Wg; b++) dst[b] = dst[b1 - 1];
}

// Weights of rows [i0, i1): per search offset, squared guide differences over the patch-
// extended rows, a horizontal box sum, a vertical box sum, exp. Scratch: (rows + 2P) x
// (W + 2P) for the squared differences and (rows + 2P) x W for the horizontal sums.
void ntd_weights(const NtdArgs& j, int64_t i0, int64_t i1, float* E, float* Hs) {
    const int64_t H = j.H, W = j.W, Cg = j.Cg;
    const int S = j.S, P = j.P, K = ntd_K(S), pad = P + S;
    const int64_t We = W + 2 * P, re = (i1 - i0) + 2 * P;
    const int np = (2 * P + 1) * (2 * P + 1);
    const float scale = (float)(1.0 / ((double)np * (double)Cg * (double)j.h * (double)j.h));
    for (int dy = -S; dy <= S; dy++) {
        for (int dx = -S; dx <= S; dx++) {
            const int k = (dy + S) * (2 * S + 1) + (dx + S);
            if (dy == 0 && dx == 0) {
                for (int64_t i = i0; i < i1; i++) {
                    float* w = j.wt + (i * K + k) * W;
#pragma omp simd
                    for (int64_t x = 0; x < W; x++) w[x] = 1.0f;
                }
                continue;
            }
            // E[e][b]: extended row q = i0 - P + e, extended column b - P.
            for (int64_t e = 0; e < re; e++) {
                const int64_t q = i0 - P + e;
                float* er = E + e * We;
                for (int64_t c = 0; c < Cg; c++) {
                    const float* g0 = j.gpad + (c * j.Hg + q + pad) * j.Wg + (pad - P);
                    const float* g1 = j.gpad + (c * j.Hg + q + dy + pad) * j.Wg + (pad - P + dx);
                    if (c == 0) {
#pragma omp simd
                        for (int64_t b = 0; b < We; b++) {
                            const float d = g0[b] - g1[b];
                            er[b] = d * d;
                        }
                    } else {
#pragma omp simd
                        for (int64_t b = 0; b < We; b++) {
                            const float d = g0[b] - g1[b];
                            er[b] += d * d;
                        }
                    }
                }
                float* hr = Hs + e * W;
#pragma omp simd
                for (int64_t x = 0; x < W; x++) hr[x] = er[x];
                for (int b = 1; b <= 2 * P; b++) {
                    const float* eb = er + b;
#pragma omp simd
                    for (int64_t x = 0; x < W; x++) hr[x] += eb[x];
                }
            }
            for (int64_t i = i0; i < i1; i++) {
                float* w = j.wt + (i * K + k) * W;
                const float* h0 = Hs + (i - i0) * W;
#pragma omp simd
                for (int64_t x = 0; x < W; x++) w[x] = h0[x];
                for (int a = 1; a <= 2 * P; a++) {
                    const float* ha = h0 + a * W;
#pragma omp simd
                    for (int64_t x = 0; x < W; x++) w[x] += ha[x];
                }
                if (i + dy < 0 || i + dy >= H) {  // y outside the image: no weight
                    memset(w, 0, sizeof(float) * (size_t)W);
                    continue;
                }
                const int64_t x0 = std::max<int64_t>(0, -dx), x1 = std::min<int64_t>(W, W - dx);
#pragma omp simd
                for (int64_t x = 0; x < W; x++) {
                    const float d = w[x] * scale;
                    const bool in = x >= x0 && x < x1;
                    // NaN distance (a NaN or infinite guide value): the pair is dissimilar.
                    // Beyond d = 87 the weight (< 1.7e-38) is taken as 0.
                    w[x] = (in && d < 87.0f) ? vexp(-d) : 0.0f;
                }
            }
        }
    }
}

// k-nearest truncation and normalisation of one image row.
void ntd_normalise(const NtdArgs& j, int64_t i, float* scratch) {
    const int64_t W = j.W;
    const int K = ntd_K(j.S), self = K / 2;
    float* base = j.wt + i * K * W;
    const bool knn = j.knn > 0 && j.knn < K;
    float* sum = scratch;
    if (knn) {
        // Rank of candidate k at x: how many other candidates beat it, a candidate k2 beating
        // k when w[k2] > w[k], or w[k2] == w[k] and k2 < k (lower raster index: y = x +
        // offset(k), and k runs in raster order of the offsets). Keep the knn-1 best; x itself
        // (k = self, weight 1) is always kept and not ranked. Ranks first, then zeroing.
        const float need = (float)(j.knn - 1);
        float* rank = scratch + W;  // K x W, float counts (exact up to 2^24)
        for (int k = 0; k < K; k++) {
            if (k == self) continue;
            float* rk = rank + k * W;
            const float* wk = base + k * W;
            memset(rk, 0, sizeof(float) * (size_t)W);
            for (int k2 = 0; k2 < K; k2++) {
                if (k2 == self || k2 == k) continue;
                const float* w2 = base + k2 * W;
                if (k2 < k) {
#pragma omp simd
                    for (int64_t x = 0; x < W; x++) rk[x] += w2[x] >= wk[x] ? 1.0f : 0.0f;
                } else {
#pragma omp simd
                    for (int64_t x = 0; x < W; x++) rk[x] += w2[x] > wk[x] ? 1.0f : 0.0f;
                }
            }
        }
        for (int k = 0; k < K; k++) {
            if (k == self) continue;
            float* wk = base + k * W;
            const float* rk = rank + k * W;
#pragma omp simd
            for (int64_t x = 0; x < W; x++) wk[x] = rk[x] < need ? wk[x] : 0.0f;
        }
    }
    // sum over the window (self weight 1 keeps it >= 1), then divide.
    memcpy(sum, base, sizeof(float) * (size_t)W);
    for (int k = 1; k < K; k++) {
        const float* w = base + k * W;
#pragma omp simd
        for (int64_t x = 0; x < W; x++) sum[x] += w[x];
    }
    for (int k = 0; k < K; k++) {
        float* w = base + k * W;
#pragma omp simd
        for (int64_t x = 0; x < W; x++) w[x] = w[x] / sum[x];
    }
}

// The incremental scheme's weights by source (ntd_incr): for each pixel p of source row pi of
// the tile, the (2S+1)^2 weights w(x, p) of the pixels x whose window holds p, x = (pi + S - a,
// px - S + b) at ws[p * K + a * D + b] (0 where x is outside the tile), so that a flip at p
// reads one contiguous block instead of K weights spread over the tile. A copy: the same bits
// in every build.
void ntd_sources(const NtdArgs& j, int64_t pi) {
    const int64_t H = j.H, W = j.W;
    const int S = j.S, D = 2 * S + 1, K = D * D;
    float* dst = j.ws + pi * W * K;
    for (int a = 0; a < D; a++) {
        const int64_t yi = pi + S - a;  // the target row; offset p - x = (a - S, S - b)
        for (int b = 0; b < D; b++) {
            float* d = dst + a * D + b;
            const int k = a * D + (D - 1 - b);
            const int64_t dx = S - b;  // x = px - dx
            if (yi < 0 || yi >= H) {
                for (int64_t px = 0; px < W; px++) d[px * K] = 0.0f;
                continue;
            }
            const float* w = j.wt + (yi * K + k) * W;
            for (int64_t px = 0; px < W; px++) {
                const int64_t xx = px - dx;
                d[px * K] = xx >= 0 && xx < W ? w[xx] : 0.0f;
            }
        }
    }
}

// v^0 of one (channel of the task, padded row) of the tile in both v buffers, with their
// zero ring. (Both: pixels outside an iteration's rectangle keep older values, which only
// pixels outside the next rectangle read; this keeps them finite and deterministic.) The
// incremental scheme (j.u set) only needs va: vb takes f over the first rectangle.
// (Called once per row and channel, ~10^4 times per tile: no divisions, and the ring's few
// floats zeroed by loops, not memset calls; the empty asm keeps GCC from making them calls.)
void ntd_init(const NtdArgs& j, int64_t cl, int64_t pi) {
    const int64_t H = j.H, W = j.W, S = j.S;
    float* ra = j.va + (cl * j.Hv + pi) * j.pvv;
    float* rb = j.vb + (cl * j.Hv + pi) * j.pvv;
    const bool both = j.u == nullptr;  // the incremental scheme keeps f in vb: nothing to set
    if (pi < S || pi >= S + H) {
        memset(ra, 0, sizeof(float) * (size_t)j.pvv);
        if (both) memset(rb, 0, sizeof(float) * (size_t)j.pvv);
        return;
    }
    const float* orow = j.o + ((j.n * j.C + j.c0 + cl) * j.IH + j.er0 + (pi - S)) * j.IW + j.ec0;
    for (int64_t k = 0; k < S; k++) {
        ra[k] = 0.0f;
        __asm__("" : "+r"(k));
    }
    for (int64_t k = S + W; k < j.pvv; k++) {
        ra[k] = 0.0f;
        __asm__("" : "+r"(k));
    }
    if (j.gp.eps > 0.0f)
        td_init_row<true>(ra + S, orow, W, j.gp);
    else
        td_init_row<false>(ra + S, orow, W, j.gp);
    if (both) memcpy(rb, ra, sizeof(float) * (size_t)j.pvv);
}

}  // namespace SA_ISA_NS
}  // namespace sa
