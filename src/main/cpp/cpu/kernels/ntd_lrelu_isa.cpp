// NTD-LReLU CPU kernels, compiled once per instruction set (isa.h): one iteration over a block
// of rows for S = 0..7 fixed at compile time, and (baseline build only, see KernelTable) the
// per-tile stages: the padded guide, the nonlocal weights, their normalisation and v^0.
// ntd_lrelu.cpp plans the tiles (NtdArgs: each stage sees the tile's extended region as its
// image) and runs them as tasks.
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <utility>

#include "isa.h"
#include "simd.h"
#include "spatialact/spatialact.h"
#include "td_gate.h"

namespace sa {
namespace SA_ISA_NS {
namespace {

// W v over rows [i0, i1) and columns [x0, x1) of the tile for CB channels of the task (from
// cl0) into acc (CB rows of W + kLanes floats): every weight vector is loaded once for the CB
// channels. Per channel and pixel the taps are summed from 0 in raster order of the offsets,
// one fused multiply-add each on FMA ISAs (the order and rounding of the kernel before tiles).
template <int S, int CB>
SA_INLINE void ntd_wv(const NtdArgs& j, int64_t i, int64_t cl0, float* __restrict acc) {
    using namespace simd;
    constexpr int D = 2 * S + 1;
    const int64_t W = j.W, pvv = j.pvv, vplane = j.Hv * pvv;
    const int64_t x0 = j.x0, x1 = j.x1;
    const float* __restrict wrow = j.wt + i * (int64_t)(D * D) * W;
    const float* vs[CB];
    for (int cc = 0; cc < CB; cc++) vs[cc] = j.va + (cl0 + cc) * vplane + i * pvv;  // v(i - S, -S)
    // Whole vectors only: the last one runs past x1 (reading the next weight and v rows, still
    // inside the task's workspace); its extra lanes land in acc's padding and are never used.
    const int64_t as = W + kLanes;  // acc row stride
    for (int64_t x = x0; x < x1; x += kLanes) {
        V s[CB];
        for (int cc = 0; cc < CB; cc++) s[cc] = set1(0.0f);
        for (int dy = 0; dy < D; dy++) {
            const float* wr = wrow + (int64_t)dy * D * W + x;
            const int64_t vo = (int64_t)dy * pvv + x;
#pragma GCC unroll 15
            for (int dx = 0; dx < D; dx++) {
                const V w = load(wr + (int64_t)dx * W);
#pragma GCC unroll 8
                for (int cc = 0; cc < CB; cc++) s[cc] = fmadd(w, load(vs[cc] + vo + dx), s[cc]);
            }
        }
        for (int cc = 0; cc < CB; cc++) store(acc + cc * as + x, s[cc]);
    }
}

// What one dense iteration writes: the new v (into vb), y, or f itself (into vb, where v would
// go: the incremental scheme's first iteration).
enum NtdOut { kOutV, kOutY, kOutF };

// One iteration over rows [i0, i1) and columns [x0, x1) of the tile, for the channels of the
// task, CB at a time: acc = W v, then f = o - lambda acc and the gate (the new v, or y), or f.
template <int S, bool SOFT, int OUT, bool RELU, int CB>
SA_INLINE void ntd_iter_rows(const NtdArgs& j, int64_t i0, int64_t i1, int64_t cl0, float* acc) {
    const int64_t W = j.W, pvv = j.pvv, vplane = j.Hv * pvv;
    const int64_t x0 = j.x0, x1 = j.x1;
    const float lambda = j.lambda;
    const GateParams gp = j.gp;
    for (int64_t i = i0; i < i1; i++) {
        ntd_wv<S, CB>(j, i, cl0, acc);
        for (int cc = 0; cc < CB; cc++) {
            const int64_t cl = cl0 + cc, c = j.c0 + cl;
            const int64_t off = ((j.n * j.C + c) * j.IH + j.er0 + i) * j.IW + j.ec0;
            const float* __restrict orow = j.o + off;
            const float* __restrict a = acc + cc * (W + simd::kLanes);
            float* __restrict vd = j.vb + cl * vplane + (i + S) * pvv + S;  // v(i, 0)
            if (OUT == kOutY) {
                td_gate_loop<SOFT, true, RELU>(j.y + off, a, orow, lambda, gp, x0, x1);
            } else if (OUT == kOutV) {
                td_gate_loop<SOFT, false, false>(vd, a, orow, lambda, gp, x0, x1);
            } else {
#pragma omp simd
                for (int64_t x = x0; x < x1; x++) vd[x] = orow[x] - lambda * a[x];  // as td_gate_loop forms f
            }
        }
    }
}

template <int S, bool SOFT, int OUT, bool RELU>
SA_INLINE void ntd_iter_channels(const NtdArgs& j, int64_t i0, int64_t i1, float* acc) {
    // Rows outer, channel blocks inner: a row's (2S+1)^2 weight rows are loaded from memory
    // once and stay in the near caches for all channel blocks of the task.
    const int64_t nc = j.c1 - j.c0;
    for (int64_t i = i0; i < i1; i++) {
        int64_t cl = 0;
        for (; cl + 8 <= nc; cl += 8) ntd_iter_rows<S, SOFT, OUT, RELU, 8>(j, i, i + 1, cl, acc);
        for (; cl + 4 <= nc; cl += 4) ntd_iter_rows<S, SOFT, OUT, RELU, 4>(j, i, i + 1, cl, acc);
        for (; cl < nc; cl++) ntd_iter_rows<S, SOFT, OUT, RELU, 1>(j, i, i + 1, cl, acc);
    }
}

// acc: 8 x (W + 16) floats (ntd_sizes).
template <int S, bool SOFT>
void ntd_iter_fn(const NtdArgs& j, int64_t i0, int64_t i1, float* acc) {
    if (j.t == j.T) {
        with_relu<SOFT>(j.gp, [&](auto relu) { ntd_iter_channels<S, SOFT, kOutY, decltype(relu)::value>(j, i0, i1, acc); });
    } else {
        ntd_iter_channels<S, SOFT, kOutV, false>(j, i0, i1, acc);
    }
}

// The hard form's incremental scheme (T >= 2; docs/TD-LReLU.md, "NTD incremental scheme"): v is
// two-valued, so after the first iteration f changes only where a gate in its window flipped,
// by -lambda w(x, p) Delta v(p), and only those pixels' gates can change. Iteration 1 is dense
// (the kernels above, f kept in vb where v would go); then per channel the flips of the last
// iteration (a list in raster order) are added to f over their windows within the iteration's
// rectangle, the gates of those windows re-evaluated, and the new flips make the next list; an
// empty list is the fixed point. f is a running sum, so it rounds differently from the dense
// iterations (within the hard form's agreement), but every pixel's f receives the same terms
// in the same order (iteration by iteration, flips in raster order) in any tiling: the tiles'
// output is the same bits as the whole image's.
//
// The rectangle of iteration t is the output rectangle grown by (T - t) * S (clipped to E);
// the windows of the flips of rectangle t - 1 cover everything rectangle t reads.
struct NtdRect {
    int64_t r0, r1, c0, c1;
};
SA_INLINE NtdRect ntd_rect(const NtdArgs& j, int t) {
    const int64_t g = (int64_t)(j.T - t) * j.S;
    return {std::max<int64_t>(0, j.R0 - g), std::min<int64_t>(j.H, j.R1 + g), std::max<int64_t>(0, j.C0 - g),
            std::min<int64_t>(j.W, j.C1 + g)};
}

// Pushes i * W + x for every x in [x0, x1) whose byte in d is non-zero, in order: 8 bytes at a
// time, most of them zero.
SA_INLINE int64_t push_nonzero(const uint8_t* d, int64_t i, int64_t W, int64_t x0, int64_t x1, int32_t* list, int64_t n) {
    const int32_t base = (int32_t)(i * W);
    int64_t x = x0;
    for (; x + 8 <= x1; x += 8) {
        uint64_t w;
        memcpy(&w, d + x, 8);
        while (w) {
            const int b = __builtin_ctzll(w) >> 3;
            list[n++] = base + (int32_t)(x + b);
            w &= ~(0xffull << (8 * b));
        }
    }
    for (; x < x1; x++)
        if (d[x]) list[n++] = base + (int32_t)x;
    return n;
}

template <int S, bool RELU>
SA_INLINE void ntd_incr_channel(const NtdArgs& j, int64_t cl, uint8_t* __restrict diff) {
    constexpr int D = 2 * S + 1, K = D * D;
    const int64_t W = j.W, pvv = j.pvv, IW = j.IW, c = j.c0 + cl;
    const GateParams gp = j.gp;
    float* __restrict F = j.vb + cl * j.Hv * pvv + S * pvv + S;  // f(i, x) = F[i * pvv + x]
    uint8_t* __restrict u = j.u;                                 // gate open at (i, x): u[i * W + x]
    const float* __restrict o = j.o + ((j.n * j.C + c) * j.IH + j.er0) * IW + j.ec0;  // o[i * IW + x]
    // f changes by -lambda w Delta v: a gate that opens takes v from vclosed to -1, one that
    // closes from -1 to vclosed.
    const float dopen = j.lambda * (1.0f + gp.vclosed), dclose = -dopen;
    int32_t* cur = j.la;
    int32_t* nxt = j.lb;
    int64_t ncur = 0;
    const NtdRect q1 = ntd_rect(j, 1);
    for (int64_t i = q1.r0; i < q1.r1; i++) {  // u^1, and the gates that flipped from u^0
        const float* __restrict fr = F + i * pvv;
        const float* __restrict orow = o + i * IW;
        uint8_t* __restrict ur = u + i * W;
#pragma omp simd
        for (int64_t x = q1.c0; x < q1.c1; x++) {
            const uint8_t a = fr[x] > 0.0f, b = orow[x] > 0.0f;
            ur[x] = a;
            diff[x] = a ^ b;
        }
        ncur = push_nonzero(diff, i, W, q1.c0, q1.c1, cur, ncur);
    }
    for (int t = 2; t <= j.T && ncur > 0; t++) {
        const NtdRect q = ntd_rect(j, t);
        for (int64_t n = 0; n < ncur; n++) {
            const int64_t p = cur[n], pi = p / W, px = p - pi * W;
            const float dc = u[p] ? dopen : dclose;
            const int64_t ya = std::max(q.r0, pi - S), yb = std::min(q.r1, pi + S + 1);
            const int64_t xa = std::max(q.c0, px - S), xb = std::min(q.c1, px + S + 1);
            for (int64_t yi = ya; yi < yb; yi++) {
                // w(x, p) for x = (yi, xx): offset p - x, k = (pi - yi + S) * D + (px - xx + S),
                // at wt[(yi * K + k) * W + xx] = wr[-xx * (W - 1)].
                const float* wr = j.wt + (yi * K + (pi - yi + S) * D + px + S) * W;
                float* fr = F + yi * pvv;
                for (int64_t xx = xa; xx < xb; xx++) fr[xx] += dc * wr[-xx * (W - 1)];
            }
        }
        int64_t nn = 0;
        for (int64_t n = 0; n < ncur; n++) {
            const int64_t p = cur[n], pi = p / W, px = p - pi * W;
            const int64_t ya = std::max(q.r0, pi - S), yb = std::min(q.r1, pi + S + 1);
            const int64_t xa = std::max(q.c0, px - S), xb = std::min(q.c1, px + S + 1);
            for (int64_t yi = ya; yi < yb; yi++) {
                const float* fr = F + yi * pvv;
                uint8_t* ur = u + yi * W;
                for (int64_t xx = xa; xx < xb; xx++) {
                    const uint8_t a = fr[xx] > 0.0f;
                    if (a != ur[xx]) {  // a second visit of the same pixel finds it updated
                        ur[xx] = a;
                        nxt[nn++] = (int32_t)(yi * W + xx);
                    }
                }
            }
        }
        std::sort(nxt, nxt + nn);
        std::swap(cur, nxt);
        ncur = nn;
    }
    const NtdRect qt = ntd_rect(j, j.T);  // the output rectangle: y from o and the last gates
    for (int64_t i = qt.r0; i < qt.r1; i++) {
        const float* __restrict orow = o + i * IW;
        const uint8_t* __restrict ur = u + i * W;
        float* __restrict yr = j.y + ((j.n * j.C + c) * j.IH + j.er0 + i) * IW + j.ec0;
#pragma omp simd
        for (int64_t x = qt.c0; x < qt.c1; x++) yr[x] = y_of<false, RELU>(orow[x], ur[x] ? 1.0f : -1.0f, gp);
    }
}

// acc: as ntd_iter_fn's; after the dense iteration its first W bytes hold a row of flip marks.
template <int S>
void ntd_incr_fn(const NtdArgs& j0, float* acc) {
    NtdArgs j = j0;
    const NtdRect q1 = ntd_rect(j, 1);
    j.t = 1;
    j.x0 = q1.c0;
    j.x1 = q1.c1;
    ntd_iter_channels<S, false, kOutF, false>(j, q1.r0, q1.r1, acc);
    uint8_t* diff = reinterpret_cast<uint8_t*>(acc);
    with_relu<false>(j.gp, [&](auto relu) {
        for (int64_t cl = 0; cl < j.c1 - j.c0; cl++) ntd_incr_channel<S, decltype(relu)::value>(j, cl, diff);
    });
}

template <int... S>
NtdIncrFn ntd_incr_search(int s, std::integer_sequence<int, S...>) {
    static constexpr NtdIncrFn fns[] = {ntd_incr_fn<S>...};
    return fns[s >= 0 && s < (int)sizeof...(S) ? s : (int)sizeof...(S) - 1];
}

// fns[S] has S at compile time.
template <bool SOFT, int... S>
NtdIterFn ntd_iter_search(int s, std::integer_sequence<int, S...>) {
    static constexpr NtdIterFn fns[] = {ntd_iter_fn<S, SOFT>...};
    return fns[s >= 0 && s < (int)sizeof...(S) ? s : (int)sizeof...(S) - 1];
}

}  // namespace

NtdIterFn ntd_iter(bool soft, int S) {
    constexpr auto searches = std::make_integer_sequence<int, SA_NTD_MAX_SEARCH + 1>{};
    return soft ? ntd_iter_search<true>(S, searches) : ntd_iter_search<false>(S, searches);
}

NtdIncrFn ntd_incr(int S) { return ntd_incr_search(S, std::make_integer_sequence<int, SA_NTD_MAX_SEARCH + 1>{}); }

}  // namespace SA_ISA_NS

#if defined(SA_ISA_BUILD_baseline)
namespace isa_baseline {

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

// v^0 of one (channel of the task, padded row) of the tile in both v buffers, with their
// zero ring. (Both: pixels outside an iteration's rectangle keep older values, which only
// pixels outside the next rectangle read; this keeps them finite and deterministic.)
void ntd_init(const NtdArgs& j, int64_t task) {
    const int64_t H = j.H, W = j.W, S = j.S;
    const int64_t cl = task / j.Hv, pi = task % j.Hv;  // padded row
    float* ra = j.va + (cl * j.Hv + pi) * j.pvv;
    float* rb = j.vb + (cl * j.Hv + pi) * j.pvv;
    if (pi < S || pi >= S + H) {
        memset(ra, 0, sizeof(float) * (size_t)j.pvv);
        memset(rb, 0, sizeof(float) * (size_t)j.pvv);
        return;
    }
    const float* orow = j.o + ((j.n * j.C + j.c0 + cl) * j.IH + j.er0 + (pi - S)) * j.IW + j.ec0;
    memset(ra, 0, sizeof(float) * (size_t)S);
    memset(ra + S + W, 0, sizeof(float) * (size_t)(j.pvv - S - W));
    if (j.gp.eps > 0.0f)
        td_init_row<true>(ra + S, orow, W, j.gp);
    else
        td_init_row<false>(ra + S, orow, W, j.gp);
    memcpy(rb, ra, sizeof(float) * (size_t)j.pvv);
}

}  // namespace isa_baseline
#endif
}  // namespace sa
