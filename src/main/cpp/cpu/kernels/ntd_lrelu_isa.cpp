// NTD-LReLU CPU kernels, compiled once per instruction set (isa.h): one iteration over a block
// of rows for S = 0..7 fixed at compile time, and the hard form's incremental scheme. The
// per-tile stages (guide, weights, normalisation, v^0, weights by source) are in
// ntd_stages_isa.cpp.
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

// The incremental scheme's first iteration on one row: f = o - lambda s (as td_gate_loop forms
// it), the gate in bit 0 of u, and in bit 1 whether it differs from v^0's. (A function with
// restrict parameters, as td_gate_loop: with the pointers local to the caller GCC left it scalar.)
SA_INLINE void ntd_f_row(float* __restrict vd, uint8_t* __restrict ur, const float* __restrict s,
                         const float* __restrict orow, float lambda, int64_t x0, int64_t x1) {
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    // 16 lanes with a masked tail: GCC's own loop takes 32 (for the bytes) and leaves up to 31
    // columns of each row to a scalar epilogue, a quarter of a row of ~90.
    const __m512 l = _mm512_set1_ps(lambda), z = _mm512_setzero_ps();
    const __m128i one = _mm_set1_epi8(1), two = _mm_set1_epi8(2);
    for (int64_t x = x0; x < x1; x += 16) {
        const __mmask16 m = x + 16 <= x1 ? (__mmask16)0xffff : (__mmask16)((1u << (x1 - x)) - 1u);
        const __m512 ov = _mm512_maskz_loadu_ps(m, orow + x), sv = _mm512_maskz_loadu_ps(m, s + x);
        const __m512 f = _mm512_fnmadd_ps(l, sv, ov);  // o - lambda s, one rounding (the FMA builds' f)
        _mm512_mask_storeu_ps(vd + x, m, f);
        const __mmask16 g = _mm512_cmp_ps_mask(f, z, _CMP_GT_OQ), g0 = _mm512_cmp_ps_mask(ov, z, _CMP_GT_OQ);
        const __m128i u = _mm_or_si128(_mm_maskz_mov_epi8(g, one), _mm_maskz_mov_epi8((__mmask16)(g ^ g0), two));
        _mm_mask_storeu_epi8(ur + x, m, u);
    }
#else
#pragma omp simd
    for (int64_t x = x0; x < x1; x++) {
        const float f = orow[x] - lambda * s[x];
        vd[x] = f;
        const bool g = f > 0.0f, g0 = orow[x] > 0.0f;
        ur[x] = g ? (g0 ? 1 : 3) : (g0 ? 2 : 0);
    }
#endif
}

// y over [x0, x1) of a row from o and the gates in bit 0 of u (the same rule as every later
// rewrite of y, so y always follows the stored gate whatever the compiler fuses).
template <bool RELU>
SA_INLINE void ntd_y_row(float* __restrict y, const uint8_t* __restrict ur, const float* __restrict orow,
                         const GateParams& gp, int64_t x0, int64_t x1) {
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    // 16 lanes with a masked tail, y_of's rule on the gate bits (GCC's loop over the bytes took
    // 64 lanes per step and left most of a 128-pixel row to a scalar epilogue: perf put 8-10%
    // of the NTD call there, an A/B of the two builds measured 1-6%).
    const __m512 one = _mm512_set1_ps(1.0f), av = _mm512_set1_ps(gp.alpha);
    for (int64_t x = x0; x < x1; x += 16) {
        const __mmask16 m = x + 16 <= x1 ? (__mmask16)0xffff : (__mmask16)((1u << (x1 - x)) - 1u);
        const __mmask16 open = _mm_mask_test_epi8_mask(m, _mm_maskz_loadu_epi8(m, ur + x), _mm_set1_epi8(1));
        const __m512 ov = _mm512_maskz_loadu_ps(m, orow + x);
        __m512 yv;
        if (RELU)  // open, or NaN o (kept): o; else +0
            yv = _mm512_maskz_mov_ps(open | _mm512_cmp_ps_mask(ov, ov, _CMP_UNORD_Q), ov);
        else  // o * 1 or o * alpha, as y_of
            yv = _mm512_mul_ps(ov, _mm512_mask_blend_ps(open, av, one));
        _mm512_mask_storeu_ps(y + x, m, yv);
    }
#else
    const GateParams q = gp;
#pragma omp simd
    for (int64_t x = x0; x < x1; x++) y[x] = y_of<false, RELU>(orow[x], (ur[x] & 1) ? 1.0f : -1.0f, q);
#endif
}

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
                uint8_t* ur = j.u + (cl * j.H + i) * W;
                ntd_f_row(vd, ur, a, orow, lambda, x0, x1);
                if (i >= j.R0 && i < j.R1)  // y of the output rectangle from the stored gates
                    ntd_y_row<RELU>(j.y + off, ur, orow, gp, j.C0, j.C1);
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

template <int S, bool RELU>
SA_INLINE void ntd_incr_channel(const NtdArgs& j, int64_t cl) {
    constexpr int D = 2 * S + 1, K = D * D;
    const int64_t W = j.W, pvv = j.pvv, IW = j.IW, c = j.c0 + cl;
    const GateParams gp = j.gp;
    float* __restrict F = j.vb + cl * j.Hv * pvv + S * pvv + S;  // f(i, x) = F[i * pvv + x]
    uint8_t* __restrict u = j.u + cl * j.H * W;                  // the gate at (i, x): u[i * W + x]
    const float* __restrict o = j.o + ((j.n * j.C + c) * j.IH + j.er0) * IW + j.ec0;  // o[i * IW + x]
    float* __restrict y = j.y + ((j.n * j.C + c) * j.IH + j.er0) * IW + j.ec0;        // y[i * IW + x]
    // f changes by -lambda w Delta v: a gate that opens takes v from vclosed to -1, one that
    // closes from -1 to vclosed.
    const float dopen = j.lambda * (1.0f + gp.vclosed), dclose = -dopen;
    // p = pi * W + px without a division (the lists hold p < 2^31): a double estimate, corrected.
    const double rw = 1.0 / (double)W;
    auto split = [W, rw](int64_t p, int64_t& pi, int64_t& px) {
        pi = (int64_t)((double)p * rw);
        px = p - pi * W;
        if (px < 0) pi--, px += W;
        if (px >= W) pi++, px -= W;
    };
    int32_t* cur = j.la;
    int32_t* nxt = j.lb;
    // The flips of iteration 1 (bit 1 of u, set by the dense pass), in raster order; the bit
    // is cleared. Most 8-byte words have none.
    int64_t ncur = 0;
    const NtdRect q1 = ntd_rect(j, 1);
    for (int64_t i = q1.r0; i < q1.r1; i++) {
        uint8_t* ur = u + i * W;
        const int32_t base = (int32_t)(i * W);
        int64_t x = q1.c0;
        for (; x + 8 <= q1.c1; x += 8) {
            uint64_t w;
            memcpy(&w, ur + x, 8);
            uint64_t m = w & 0x0202020202020202ull;
            if (!m) continue;
            w ^= m;
            memcpy(ur + x, &w, 8);
            while (m) {
                const int bit = __builtin_ctzll(m);
                cur[ncur++] = base + (int32_t)(x + (bit >> 3));
                m &= m - 1;
            }
        }
        for (; x < q1.c1; x++)
            if (ur[x] & 2) {
                ur[x] &= 1;
                cur[ncur++] = base + (int32_t)x;
            }
    }
    for (int t = 2; t <= j.T && ncur > 0; t++) {
        const NtdRect q = ntd_rect(j, t);
        // f += -lambda w(x, p) Delta v(p) over the windows, flips in raster order (each pixel
        // of the rectangle receives its terms in the same order in any tiling).
        for (int64_t n = 0; n < ncur; n++) {
            if (n + 8 < ncur) {  // the weights of a flip 8 ahead: K floats, far from this one's
                const char* pf = reinterpret_cast<const char*>(j.ws + (int64_t)cur[n + 8] * K);
                for (int l = 0; l < K * 4; l += 64) __builtin_prefetch(pf + l);
            }
            const int64_t p = cur[n];
            int64_t pi, px;
            split(p, pi, px);
            const float dc = u[p] ? dopen : dclose;
            const int64_t ya = std::max(q.r0, pi - S), yb = std::min(q.r1, pi + S + 1);
            const int64_t la = std::max(q.c0, px - S) - (px - S), lb = std::min(q.c1, px + S + 1) - (px - S);
            const float* __restrict qp = j.ws + p * K;  // w(x, p), x = (pi + S - a, px - S + b) at qp[a * D + b]
#if defined(__AVX512F__)
            const __mmask16 m = (__mmask16)(((1u << lb) - 1u) & ~((1u << la) - 1u));  // D <= 15 lanes
            const __m512 dv = _mm512_set1_ps(dc);
            for (int64_t yi = ya; yi < yb; yi++) {
                float* fr = F + yi * pvv + (px - S);
                const __m512 qv = _mm512_maskz_loadu_ps(m, qp + (pi + S - yi) * D);
                _mm512_mask_storeu_ps(fr, m, _mm512_fmadd_ps(dv, qv, _mm512_maskz_loadu_ps(m, fr)));
            }
#else
            for (int64_t yi = ya; yi < yb; yi++) {
                const float* __restrict qr = qp + (pi + S - yi) * D;
                float* __restrict fr = F + yi * pvv + (px - S);
                for (int64_t b = la; b < lb; b++) fr[b] += dc * qr[b];
            }
#endif
        }
        // The gates of the windows again: the changed ones make the next list, and y where the
        // output rectangle holds them (the dense pass wrote y from the gates of iteration 1).
        int64_t nn = 0;
        const bool last = t == j.T;  // its flips only rewrite y
        for (int64_t n = 0; n < ncur; n++) {
            int64_t pi, px;
            split(cur[n], pi, px);
            const int64_t ya = std::max(q.r0, pi - S), yb = std::min(q.r1, pi + S + 1);
            const int64_t xa = std::max(q.c0, px - S), xb = std::min(q.c1, px + S + 1);
            for (int64_t yi = ya; yi < yb; yi++) {
                const float* fr = F + yi * pvv;
                uint8_t* ur = u + yi * W;
                auto flip = [&](int64_t xx, uint8_t g) {  // a second visit of the pixel finds it updated
                    ur[xx] = g;
                    if (!last) nxt[nn++] = (int32_t)(yi * W + xx);
                    if (yi >= j.R0 && yi < j.R1 && xx >= j.C0 && xx < j.C1)
                        y[yi * IW + xx] = y_of<false, RELU>(o[yi * IW + xx], g ? 1.0f : -1.0f, gp);
                };
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
                const __mmask16 m = (__mmask16)((1u << (xb - xa)) - 1u);
                const __mmask16 g = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, fr + xa), _mm512_setzero_ps(), _CMP_GT_OQ);
                const __mmask16 open = _mm_test_epi8_mask(_mm_maskz_loadu_epi8(m, ur + xa), _mm_set1_epi8(1));
                for (uint32_t ch = (uint32_t)(g ^ open); ch; ch &= ch - 1) {
                    const int b = __builtin_ctz(ch);
                    flip(xa + b, (uint8_t)((g >> b) & 1));
                }
#else
                for (int64_t xx = xa; xx < xb; xx++) {
                    const uint8_t g = fr[xx] > 0.0f;
                    if (g != ur[xx]) flip(xx, g);
                }
#endif
            }
        }
        if (last) break;
        std::sort(nxt, nxt + nn);
        std::swap(cur, nxt);
        ncur = nn;
    }
}

// acc: as ntd_iter_fn's.
template <int S>
void ntd_incr_fn(const NtdArgs& j0, float* acc) {
    NtdArgs j = j0;
    const NtdRect q1 = ntd_rect(j, 1);
    j.t = 1;
    j.x0 = q1.c0;
    j.x1 = q1.c1;
    with_relu<false>(j.gp, [&](auto relu) {
        constexpr bool R = decltype(relu)::value;
        // v^0 row by row just ahead of the rows that read it (padded rows i .. i + 2S for row
        // i), so that o's rows are still in cache when the dense pass reads them again for f,
        // and only the rows iteration 1 reads are made.
        const int64_t nc = j.c1 - j.c0;
        // (The whole-vector tail of ntd_wv may read a padded row not made yet, or past va: its
        // lanes land in acc's padding and are never used, as for the dense iterations.)
        int64_t next = q1.r0;  // the next padded row of v^0 to make
        for (int64_t i = q1.r0; i < q1.r1; i++) {
            for (; next <= i + 2 * S && next < j.Hv; next++)
                for (int64_t cl = 0; cl < nc; cl++) ntd_init(j, cl, next);
            ntd_iter_channels<S, false, kOutF, R>(j, i, i + 1, acc);
        }
        for (int64_t cl = 0; cl < j.c1 - j.c0; cl++) ntd_incr_channel<S, R>(j, cl);
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

}  // namespace sa
