// TD-LReLU CPU kernels, compiled once per instruction set (isa.h): all T iterations over one
// tile, either as a wavefront down the rows (td_wave_body) or on a whole-tile v buffer
// (td_tile_body), for radii 1..8 fixed at compile time and any radius at run time (R = 0);
// td_lrelu.cpp plans the tiles and runs them. Per iteration and row: a vertical Gaussian pass
// over 2r+1 rows of v = 1 - 2u into one scratch row, a horizontal pass, f = o - lambda * G*v and
// the gate (td_gate.h).
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "isa.h"
#include "simd.h"
#include "spatialact/spatialact.h"
#include "td_gate.h"

namespace sa {
namespace SA_ISA_NS {
namespace {

// Vertical pass: tmp[j] = sum_k g[k] * rows[k][j], j in [j0, j1).
template <int R>
SA_INLINE void td_vpass(float* __restrict tmp, const float* const* rows, const float* g, int r, int64_t j0,
                        int64_t j1) {
    if constexpr (R > 0) {
        const float* rr[2 * R + 1];
        float gg[2 * R + 1];
        for (int k = 0; k <= 2 * R; k++) {
            rr[k] = rows[k];
            gg[k] = g[k];
        }
#pragma omp simd
        for (int64_t j = j0; j < j1; j++) {
            float s = gg[0] * rr[0][j];
#pragma GCC unroll 17
            for (int k = 1; k <= 2 * R; k++) s += gg[k] * rr[k][j];
            tmp[j] = s;
        }
    } else {
        const float g0 = g[0];
        const float* r0 = rows[0];
#pragma omp simd
        for (int64_t j = j0; j < j1; j++) tmp[j] = g0 * r0[j];
        for (int k = 1; k <= 2 * r; k++) {
            const float gk = g[k];
            const float* rk = rows[k];
#pragma omp simd
            for (int64_t j = j0; j < j1; j++) tmp[j] += gk * rk[j];
        }
    }
}

// Horizontal pass, f and the gate for one row: j in [j0, j1); tmp is indexed so that
// tmp[j + k] is the vertical result at column j - r + k. With FINAL, writes y, else the new v.
template <int R, bool SOFT, bool FINAL, bool RELU>
SA_INLINE void td_hloop(float* __restrict out, const float* __restrict tmp, const float* __restrict orow,
                        const float* g, float lambda, const GateParams& gp, int64_t j0, int64_t j1) {
    float gg[2 * R + 1];
    for (int k = 0; k <= 2 * R; k++) gg[k] = g[k];
    const GateParams q = gp;
#pragma omp simd
    for (int64_t j = j0; j < j1; j++) {
        float s = gg[0] * tmp[j];
#pragma GCC unroll 17
        for (int k = 1; k <= 2 * R; k++) s += gg[k] * tmp[j + k];
        const float f = orow[j] - lambda * s;
        out[j] = FINAL ? y_of<SOFT, RELU>(orow[j], f, q) : v_of<SOFT>(f, q);
    }
}

// Runtime radius: the horizontal sums accumulated tap by tap into hs (a scratch row),
// hs[j] = sum_k g[k] * tmp[j + k], j in [j0, j1).
SA_INLINE void td_hsum_rows(float* __restrict hs, const float* __restrict tmp, const float* g, int r, int64_t j0,
                            int64_t j1) {
    const float g0 = g[0];
#pragma omp simd
    for (int64_t j = j0; j < j1; j++) hs[j] = g0 * tmp[j];
    for (int k = 1; k <= 2 * r; k++) {
        const float gk = g[k];
        const float* tk = tmp + k;
#pragma omp simd
        for (int64_t j = j0; j < j1; j++) hs[j] += gk * tk[j];
    }
}

template <int R, bool SOFT, bool FINAL>
SA_INLINE void td_hpass(float* __restrict out, const float* __restrict tmp, const float* __restrict orow,
                        float* __restrict hs, const float* g, int r, float lambda, const GateParams& gp,
                        int64_t j0, int64_t j1) {
    if constexpr (R > 0) {
        if constexpr (FINAL) {
            with_relu<SOFT>(gp, [&](auto relu) {
                td_hloop<R, SOFT, true, decltype(relu)::value>(out, tmp, orow, g, lambda, gp, j0, j1);
            });
        } else {
            td_hloop<R, SOFT, false, false>(out, tmp, orow, g, lambda, gp, j0, j1);
        }
    } else {
        td_hsum_rows(hs, tmp, g, r, j0, j1);  // runtime radius: into hs, then gate
        with_relu<SOFT>(gp, [&](auto relu) {
            td_gate_loop<SOFT, FINAL, decltype(relu)::value>(out, hs, orow, lambda, gp, j0, j1);
        });
    }
}

// The extended region of a tile's T iterations (td_tile_body, td_sparse_body): the output
// rectangle grown by T*r and clipped to the image, and the padded row pitch of v over it.
struct TileExtent {
    int64_t halo, r0, r1, c0, c1, h, w, pv;
    TileExtent(const TdTile& a, int r)
        : halo((int64_t)a.T * r),
          r0(std::max<int64_t>(0, a.R0 - halo)),
          r1(std::min<int64_t>(a.H, a.R1 + halo)),
          c0(std::max<int64_t>(0, a.C0 - halo)),
          c1(std::min<int64_t>(a.W, a.C1 + halo)),
          h(r1 - r0),
          w(c1 - c0),
          pv(round_up(w + 2 * r, 16)) {}
};

// All T iterations over one tile. Local coordinates: the extended region E = output
// rectangle grown by T*r and clipped to the image, rows [er0, er1), columns [ec0, ec1).
// V holds v over E with a ring of r zeros (zero padding of v at the image border; at a halo
// border the ring only feeds pixels that are recomputed by the neighbouring tile).
// Iteration t computes f over E shrunk by (T - t) * r at the non-image borders, which is
// exactly what iteration t + 1 reads; iteration T covers the output rectangle.
template <int R, bool SOFT>
SA_INLINE void td_tile_body(const TdTile& a, float* ws) {
    const int r = R > 0 ? R : a.r;
    const int T = a.T;
    const int64_t W = a.W;
    const TileExtent e(a, r);
    const int64_t er0 = e.r0, er1 = e.r1, ec0 = e.c0, ec1 = e.c1, eh = e.h, ew = e.w, pv = e.pv;
    float* V = ws;                                // (eh + 2r) x pv
    float* tmp = V + (eh + 2 * r) * pv;           // pv
    float* ring = tmp + pv;                       // (r + 1) x pv; also the hs row of R == 0
    float* hs = ring;                             // used only when R == 0 (then ring is r+1 >= 2 rows)
    const GateParams gp = a.gp;
    const float lambda = a.lambda;
    const float* g = a.g;
    auto vrow = [&](int64_t i) { return V + (i + r) * pv + r; };  // local row i, column 0
    auto orow = [&](int64_t i) { return a.o + (er0 + i) * W + ec0; };

    // v^0 over E, zero ring.
    for (int64_t i = -r; i < 0; i++) memset(vrow(i) - r, 0, sizeof(float) * (size_t)pv);
    for (int64_t i = eh; i < eh + r; i++) memset(vrow(i) - r, 0, sizeof(float) * (size_t)pv);
    for (int64_t i = 0; i < eh; i++) {
        float* v = vrow(i);
        memset(v - r, 0, sizeof(float) * (size_t)r);
        td_init_row<SOFT>(v, orow(i), ew, gp);
        memset(v + ew, 0, sizeof(float) * (size_t)(pv - r - ew));
    }

    // With R == 0 the ring doubles as hs; give hs its own row past the ring instead.
    if (R == 0) hs = ring + (int64_t)(r + 1) * pv;

    const float* rows[2 * SA_TD_MAX_RADIUS + 1];
    for (int t = 1; t <= T; t++) {
        const int64_t grow = (int64_t)(T - t) * r;
        const int64_t lr0 = std::max<int64_t>(er0, a.R0 - grow) - er0;
        const int64_t lr1 = std::min<int64_t>(er1, a.R1 + grow) - er0;
        const int64_t lc0 = std::max<int64_t>(ec0, a.C0 - grow) - ec0;
        const int64_t lc1 = std::min<int64_t>(ec1, a.C1 + grow) - ec0;
        const int64_t ncols = lc1 - lc0;
        const bool final_it = t == T;
        for (int64_t i = lr0; i < lr1; i++) {
            // The old row i - r - 1 is no longer read: its new values leave the ring.
            if (!final_it && i - r - 1 >= lr0)
                memcpy(vrow(i - r - 1) + lc0, ring + ((i - r - 1) % (r + 1)) * pv + lc0, sizeof(float) * (size_t)ncols);
            for (int k = 0; k <= 2 * r; k++) rows[k] = vrow(i - r + k) - r;  // padded column 0
            // tmp[pj] for padded columns pj in [lc0, lc1 + 2r): local columns lc0 - r .. lc1 + r - 1.
            td_vpass<R>(tmp, rows, g, r, lc0, lc1 + 2 * r);
            if (final_it) {
                float* yrow = a.y + (er0 + i) * W + ec0;
                td_hpass<R, SOFT, true>(yrow, tmp, orow(i), hs, g, r, lambda, gp, lc0, lc1);
            } else {
                float* out = ring + (i % (r + 1)) * pv;
                td_hpass<R, SOFT, false>(out, tmp, orow(i), hs, g, r, lambda, gp, lc0, lc1);
            }
        }
        if (!final_it) {
            for (int64_t i = std::max<int64_t>(lr0, lr1 - r - 1); i < lr1; i++)
                memcpy(vrow(i) + lc0, ring + (i % (r + 1)) * pv + lc0, sizeof(float) * (size_t)ncols);
        }
    }
}

// All T iterations over one tile as a wavefront down the rows. Iteration (level) t keeps
// the 2r+B most recent rows of v^t in a ring (B = kWaveBlock); at step s (advancing by B)
// level t computes rows [s - t*r, s - t*r + B), which read rows of level t-1 up to
// s - (t-1)*r + B - 1: written earlier in the same step; the rows they overwrite in the ring
// are below s - (t+1)*r, the oldest row level t still reads. The working set is T*(2r+B)
// rows (about 120 KiB for T=5, r=3, W=256), so everything between reading a row of o and
// writing the row of y stays in L1/L2. Level t covers the output rectangle grown by
// (T - t)*r and clipped to the image, as in td_tile_body; rows of level t-1 outside the
// image read as a zero row, columns outside it as the rings' zero margins.
template <int R, bool SOFT>
SA_INLINE void td_wave_body(const TdTile& a, float* ws) {
    const int r = R > 0 ? R : a.r;
    const int T = a.T;
    const int B = kWaveBlock;
    const int D = 2 * r + B;  // ring rows per level
    const int64_t H = a.H, W = a.W;
    const int64_t halo = (int64_t)T * r;
    const int64_t ec0 = std::max<int64_t>(0, a.C0 - halo), ec1 = std::min<int64_t>(W, a.C1 + halo);
    const int64_t ew = ec1 - ec0;
    const int64_t pv = round_up(ew + 2 * r, 16);
    float* rings = ws;                            // T levels x D rows x pv
    float* zero = rings + (int64_t)T * D * pv;    // pv zeros
    float* tmp = zero + pv;                       // pv
    float* hs = tmp + pv;                         // pv, runtime radius only
    memset(rings, 0, sizeof(float) * (size_t)(((int64_t)T * D + 1) * pv));
    const GateParams gp = a.gp;
    const float lambda = a.lambda;
    const float* g = a.g;
    // Row i of level t; column 0 is image column ec0, r zero columns on each side.
    auto ring_row = [&](int t, int64_t i) { return rings + ((int64_t)t * D + i % D) * pv + r; };
    auto rlo = [&](int t) { return std::max<int64_t>(0, a.R0 - (int64_t)(T - t) * r); };
    auto rhi = [&](int t) { return std::min<int64_t>(H, a.R1 + (int64_t)(T - t) * r); };
    auto clo = [&](int t) { return std::max<int64_t>(ec0, a.C0 - (int64_t)(T - t) * r) - ec0; };
    auto chi = [&](int t) { return std::min<int64_t>(ec1, a.C1 + (int64_t)(T - t) * r) - ec0; };

    const float* rows[2 * SA_TD_MAX_RADIUS + 1];
    const int64_t s0 = rlo(0), s1 = rhi(0) - 1 + halo;
    for (int64_t s = s0; s <= s1; s += B) {
        // level 0: v^0 = 1 - 2 gate(o)
        {
            const int64_t c0 = clo(0), c1 = chi(0);
            for (int64_t i = s; i < std::min<int64_t>(s + B, rhi(0)); i++)
                td_init_row<SOFT>(ring_row(0, i) + c0, a.o + i * W + ec0 + c0, c1 - c0, gp);
        }
        for (int t = 1; t <= T; t++) {
            const int64_t b0 = s - (int64_t)t * r;
            if (b0 + B <= rlo(t)) break;  // later levels are further behind
            const int64_t i0 = std::max(b0, rlo(t)), i1 = std::min(b0 + B, rhi(t));
            const float* lvl = rings + (int64_t)(t - 1) * D * pv;
            const int64_t c0 = clo(t), c1 = chi(t);
            for (int64_t i = i0; i < i1; i++) {
                // rows i - r .. i + r of level t - 1: consecutive ring slots from slot(i - r)
                int slot = (int)((i - r + D) % D);  // i - r >= -r > -D
                for (int k = 0; k <= 2 * r; k++) {
                    const int64_t q = i - r + k;
                    rows[k] = (q >= 0 && q < H) ? lvl + (int64_t)slot * pv : zero;
                    slot = slot + 1 == D ? 0 : slot + 1;
                }
                td_vpass<R>(tmp, rows, g, r, c0, c1 + 2 * r);
                const float* orow = a.o + i * W + ec0;
                if (t == T)
                    td_hpass<R, SOFT, true>(a.y + i * W + ec0, tmp, orow, hs, g, r, lambda, gp, c0, c1);
                else
                    td_hpass<R, SOFT, false>(ring_row(t, i), tmp, orow, hs, g, r, lambda, gp, c0, c1);
            }
        }
    }
}

// ---- hard form, delta scheme (td_sparse_body) ------------------------------------------------
//
// The same iteration as td_tile_body, hard form only, computing only what can change and
// computing it exactly as td_tile_body does, so the result is bit-identical to the direct
// kernels of the same ISA:
// - A pixel with |o| > 1.001 lambda never changes its gate: |G*v| <= 1 (up to rounding, far
//   below 1e-3), so f has the sign of o in every iteration. Such pixels are never computed
//   ("inactive"); blocks of 16 columns without an active pixel are skipped.
// - f^t at a pixel depends only on v^t in its (2r+1) x (2r+1) window. When no gate in that
//   window flipped in iteration t, f^t = f^{t-1} bit for bit (same inputs, same order), so its
//   gate does not change: iteration t + 1 recomputes only blocks of 16 columns within r of a
//   block where a gate flipped in iteration t, with the same vertical and horizontal passes
//   over runs of such blocks.
// - An iteration in which no gate flipped is a fixed point: every later one is identical, so
//   the loop stops.
// Gates live in V (v = -1 open, 1 - 2 alpha closed) over the extended tile; new rows wait in a
// ring of r + 1 rows as in td_tile_body, and when a row leaves the ring its recomputed blocks
// are compared with the old ones (the flips of the iteration) and copied. y is written at the
// end from V: o * 1 or o * alpha (ReLU: o or +0, NaN kept), exactly as y_of writes it.
constexpr int kSpBlock = 16;
constexpr int kSpGap = 8;  // gaps of fewer blocks between two runs are computed with them
  // columns per block of the flip masks

SA_INLINE void mask_dilate(uint64_t* m, int nw, int steps) {
    for (int s = 0; s < steps; s++) {
        uint64_t carry_up = 0;  // bit 63 of word w-1 moves into bit 0 of word w
        for (int w = 0; w < nw; w++) {
            const uint64_t x = m[w];
            const uint64_t next_low = w + 1 < nw ? (m[w + 1] & 1u) : 0;
            m[w] = x | (x << 1) | carry_up | (x >> 1) | (next_low << 63);
            carry_up = x >> 63;
        }
    }
}

// dst[0..16) = src[0..16); true when any value changed (v is -1 or 1 - 2 alpha, never NaN).
SA_INLINE bool diff_copy16(const float* __restrict src, float* __restrict dst) {
#if defined(__AVX512F__)
    const __m512 a = _mm512_loadu_ps(src), b = _mm512_loadu_ps(dst);
    _mm512_storeu_ps(dst, a);
    return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ) != 0;
#elif defined(__AVX2__)
    const __m256 a0 = _mm256_loadu_ps(src), b0 = _mm256_loadu_ps(dst);
    const __m256 a1 = _mm256_loadu_ps(src + 8), b1 = _mm256_loadu_ps(dst + 8);
    _mm256_storeu_ps(dst, a0);
    _mm256_storeu_ps(dst + 8, a1);
    return _mm256_movemask_ps(_mm256_or_ps(_mm256_cmp_ps(a0, b0, _CMP_NEQ_UQ), _mm256_cmp_ps(a1, b1, _CMP_NEQ_UQ))) != 0;
#elif defined(__aarch64__)
    uint32x4_t d = vdupq_n_u32(0);
    for (int k = 0; k < 16; k += 4) {
        const float32x4_t a = vld1q_f32(src + k), b = vld1q_f32(dst + k);
        vst1q_f32(dst + k, a);
        d = vorrq_u32(d, vmvnq_u32(vceqq_f32(a, b)));  // not equal, or unordered
    }
    return vmaxvq_u32(d) != 0;
#else
    __m128 d = _mm_setzero_ps();
    for (int k = 0; k < 16; k += 4) {
        const __m128 a = _mm_loadu_ps(src + k), b = _mm_loadu_ps(dst + k);
        _mm_storeu_ps(dst + k, a);
        d = _mm_or_ps(d, _mm_cmpneq_ps(a, b));
    }
    return _mm_movemask_ps(d) != 0;
#endif
}

// True when some of o[0..16) has !(|o| > thr) (NaN included).
SA_INLINE bool any_active16(const float* o, float thr) {
#if defined(__AVX512F__)
    const __m512 a = _mm512_abs_ps(_mm512_loadu_ps(o));
    return _mm512_cmp_ps_mask(a, _mm512_set1_ps(thr), _CMP_NGT_UQ) != 0;
#elif defined(__AVX2__)
    const __m256 sm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), t = _mm256_set1_ps(thr);
    const __m256 a0 = _mm256_and_ps(_mm256_loadu_ps(o), sm), a1 = _mm256_and_ps(_mm256_loadu_ps(o + 8), sm);
    return _mm256_movemask_ps(_mm256_or_ps(_mm256_cmp_ps(a0, t, _CMP_NGT_UQ), _mm256_cmp_ps(a1, t, _CMP_NGT_UQ))) != 0;
#elif defined(__aarch64__)
    const float32x4_t t = vdupq_n_f32(thr);
    uint32x4_t d = vdupq_n_u32(0);
    for (int k = 0; k < 16; k += 4) d = vorrq_u32(d, vmvnq_u32(vcgtq_f32(vabsq_f32(vld1q_f32(o + k)), t)));  // !(|o| > thr)
    return vmaxvq_u32(d) != 0;
#else
    const __m128 sm = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff)), t = _mm_set1_ps(thr);
    __m128 d = _mm_setzero_ps();
    for (int k = 0; k < 16; k += 4) d = _mm_or_ps(d, _mm_cmpngt_ps(_mm_and_ps(_mm_loadu_ps(o + k), sm), t));
    return _mm_movemask_ps(d) != 0;
#endif
}

template <bool RELU>
SA_INLINE void td_y_from_v(float* __restrict y, const float* __restrict o, const float* __restrict v, float alpha,
                           int64_t n) {
    const uint32_t ab = __builtin_bit_cast(uint32_t, alpha);
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
        const bool open = v[j] == -1.0f;
        if (RELU) {
            const uint32_t keep = (open | isnan_bits(o[j])) ? 0xffffffffu : 0u;
            y[j] = __builtin_bit_cast(float, __builtin_bit_cast(uint32_t, o[j]) & keep);
        } else {
            const uint32_t m = open ? 0xffffffffu : 0u;
            const uint32_t ub = (0x3f800000u & m) | (ab & ~m);
            y[j] = o[j] * __builtin_bit_cast(float, ub);
        }
    }
}

template <int R>
SA_INLINE void td_sparse_body(const TdTile& a, float* ws) {
    const int r = R > 0 ? R : a.r;
    const int T = a.T;
    const int64_t W = a.W;
    const TileExtent e(a, r);
    const int64_t er0 = e.r0, er1 = e.r1, ec0 = e.c0, ec1 = e.c1, eh = e.h, ew = e.w, pv = e.pv;
    const int nb = (int)((ew + kSpBlock - 1) / kSpBlock);
    const int nw = (nb + 63) / 64;
    float* V = ws;                       // (eh + 2r) x pv
    float* tmp = V + (eh + 2 * r) * pv;  // pv
    float* hs = tmp + pv;                // pv (runtime radius)
    float* ring = hs + pv;               // (r + 1) x pv
    uint64_t* act = reinterpret_cast<uint64_t*>(ring + (int64_t)(r + 1) * pv);  // eh x nw
    uint64_t* flip = act + eh * nw;      // eh x nw: flips of the previous iteration
    uint64_t* nflip = flip + eh * nw;    // eh x nw: flips of this one
    uint64_t* rmask = nflip + eh * nw;   // (r + 1) x nw: blocks computed into each ring slot
    uint64_t* need = rmask + (int64_t)(r + 1) * nw;  // nw
    const GateParams gp = a.gp;
    const float lambda = a.lambda;
    const float* g = a.g;
    // |o| <= thr (or NaN): the gate may change. Computed in double, so a huge lambda gives inf.
    const double thr_d = (double)lambda * 1.001;
    const float thr = thr_d > 3.4e38 ? __builtin_inff() : (float)thr_d;
    auto vrow = [&](int64_t i) { return V + (i + r) * pv + r; };
    auto orow = [&](int64_t i) { return a.o + (er0 + i) * W + ec0; };

    // v^0 over E with the zero ring, and the active blocks of every row. Rows are set up as
    // iteration 1 first reads them (init_to), so reading o overlaps that iteration's work.
    for (int64_t i = -r; i < 0; i++) memset(vrow(i) - r, 0, sizeof(float) * (size_t)pv);
    for (int64_t i = eh; i < eh + r; i++) memset(vrow(i) - r, 0, sizeof(float) * (size_t)pv);
    memset(act, 0, sizeof(uint64_t) * (size_t)(3 * eh * nw));
    int64_t inited = 0;
    auto init_to = [&](int64_t end) {
      for (int64_t i = inited; i < std::min(end, eh); i++) {
        float* v = vrow(i);
        const float* o = orow(i);
        memset(v - r, 0, sizeof(float) * (size_t)r);
        td_init_row<false>(v, o, ew, gp);
        memset(v + ew, 0, sizeof(float) * (size_t)(pv - r - ew));
        uint64_t* am = act + i * nw;
        for (int b = 0; b < nb; b++) {
            const int64_t j0 = (int64_t)b * kSpBlock, j1 = std::min<int64_t>(ew, j0 + kSpBlock);
            bool any = false;
            if (j1 - j0 == kSpBlock) {
                any = any_active16(o + j0, thr);
            } else {
                for (int64_t j = j0; j < j1; j++) any |= !(std::fabs(o[j]) > thr);
            }
            if (any) am[b >> 6] |= uint64_t(1) << (b & 63);
        }
      }
      inited = std::max(inited, std::min(end, eh));
    };

    const int dil = (r + kSpBlock - 1) / kSpBlock;
    const float* rows[2 * SA_TD_MAX_RADIUS + 1];
    // Row i's recomputed blocks leave the ring: flips recorded, values copied into V.
    bool final_it = false, done = false;
    const int64_t oc0 = a.C0 - ec0, on = a.C1 - a.C0;  // output columns, local
    auto write_y = [&](int64_t i) {  // y of local row i from its final gates
        float* y = a.y + (er0 + i) * W + a.C0;
        const float* o = orow(i) + oc0;
        const float* v = vrow(i) + oc0;
        if (gp.alpha == 0.0f)
            td_y_from_v<true>(y, o, v, gp.alpha, on);
        else
            td_y_from_v<false>(y, o, v, gp.alpha, on);
    };
    auto retire = [&](int64_t i, int64_t lc0, int64_t lc1, bool& any_flip) {
        const int slot = (int)(i % (r + 1));
        const uint64_t* rm = rmask + (int64_t)slot * nw;
        const float* src = ring + (int64_t)slot * pv;
        float* dst = vrow(i);
        uint64_t* nf = nflip + i * nw;
        uint64_t anyf = 0;
        for (int w = 0; w < nw; w++) {
            uint64_t bits = rm[w], nfw = 0;
            while (bits) {
                const int bb = __builtin_ctzll(bits);
                bits &= bits - 1;
                const int64_t j0 = (int64_t)(w * 64 + bb) * kSpBlock;
                uint64_t diff;
                if (j0 >= lc0 && j0 + kSpBlock <= lc1) {
                    diff = diff_copy16(src + j0, dst + j0);
                } else {
                    diff = 0;
                    const int64_t a0 = std::max<int64_t>(lc0, j0), a1 = std::min<int64_t>(lc1, j0 + kSpBlock);
                    for (int64_t j = a0; j < a1; j++) {
                        diff |= src[j] != dst[j];
                        dst[j] = src[j];
                    }
                }
                nfw |= diff << bb;  // in registers: no store per flipped block
            }
            nf[w] |= nfw;
            anyf |= nfw;
        }
        if (anyf) any_flip = true;
        if (final_it) write_y(i);  // iteration T covers exactly the output rows
    };

    for (int t = 1; t <= T; t++) {
        final_it = t == T;
        const int64_t grow = (int64_t)(T - t) * r;
        const int64_t lr0 = std::max<int64_t>(er0, a.R0 - grow) - er0;
        const int64_t lr1 = std::min<int64_t>(er1, a.R1 + grow) - er0;
        const int64_t lc0 = std::max<int64_t>(ec0, a.C0 - grow) - ec0;
        const int64_t lc1 = std::min<int64_t>(ec1, a.C1 + grow) - ec0;
        const int b_lo = (int)(lc0 / kSpBlock), b_hi = (int)((lc1 + kSpBlock - 1) / kSpBlock);  // [b_lo, b_hi)
        bool any_flip = false;
        memset(nflip, 0, sizeof(uint64_t) * (size_t)(eh * nw));
        // Rows of o in blocks of 16: long streams for the prefetchers.
        if (t == 1) init_to(lr0 + r + 1 + 16);
        for (int64_t i = lr0; i < lr1; i++) {
            if (t == 1 && inited < i + r + 1) init_to(i + r + 1 + 16);
            if (i - r - 1 >= lr0) retire(i - r - 1, lc0, lc1, any_flip);
            // Blocks of row i to compute: active ones (iteration 1), or active ones within r
            // of a flip of the previous iteration, inside the columns of this iteration.
            const uint64_t* am = act + i * nw;
            bool empty = true;
            if (t == 1) {
                for (int w = 0; w < nw; w++) need[w] = am[w];
            } else {
                const int64_t q0 = std::max<int64_t>(0, i - r), q1 = std::min<int64_t>(eh, i + r + 1);
                for (int w = 0; w < nw; w++) {
                    uint64_t acc = 0;  // in a register: need may alias the flip masks' type
                    for (int64_t q = q0; q < q1; q++) acc |= flip[q * nw + w];
                    need[w] = acc;
                }
                mask_dilate(need, nw, dil);
                for (int w = 0; w < nw; w++) need[w] &= am[w];
            }
            for (int w = 0; w < nw; w++) {
                const int base = w * 64;
                uint64_t keep = ~uint64_t(0);
                if (b_lo > base) keep &= b_lo - base >= 64 ? 0 : ~uint64_t(0) << (b_lo - base);
                if (b_hi < base + 64) keep &= b_hi <= base ? 0 : ~uint64_t(0) >> (64 - (b_hi - base));
                need[w] &= keep;
                empty &= need[w] == 0;
            }
            uint64_t* rm = rmask + (int64_t)(i % (r + 1)) * nw;
            for (int w = 0; w < nw; w++) rm[w] = need[w];
            if (empty) continue;
            for (int k = 0; k <= 2 * r; k++) rows[k] = vrow(i - r + k) - r;  // padded column 0
            float* out = ring + (i % (r + 1)) * pv;
            const float* o = orow(i);
            // Runs of blocks, one vertical and one horizontal pass each; gaps of up to
            // kSpGap blocks are computed too (a run costs about that much to set up, and
            // recomputing a block that cannot change gives its old values, bit for bit).
            // The ring slot's mask says what was computed, so retire copies exactly that.
            auto bit = [&](int q) { return (int)((need[q >> 6] >> (q & 63)) & 1); };
            int b = b_lo;
            while (b < b_hi) {
                if (!bit(b)) {
                    b++;
                    continue;
                }
                int e = b + 1;
                for (;;) {
                    while (e < b_hi && bit(e)) e++;
                    int gq = e;
                    while (gq < b_hi && gq - e < kSpGap && !bit(gq)) gq++;
                    if (gq < b_hi && gq - e < kSpGap && bit(gq)) {
                        for (int q = e; q < gq; q++) rm[q >> 6] |= uint64_t(1) << (q & 63);
                        e = gq;
                    } else {
                        break;
                    }
                }
                const int64_t j0 = std::max<int64_t>(lc0, (int64_t)b * kSpBlock);
                const int64_t j1 = std::min<int64_t>(lc1, (int64_t)e * kSpBlock);
                td_vpass<R>(tmp, rows, g, r, j0, j1 + 2 * r);
                td_hpass<R, false, false>(out, tmp, o, hs, g, r, lambda, gp, j0, j1);
                b = e;
            }
        }
        for (int64_t i = std::max<int64_t>(lr0, lr1 - r - 1); i < lr1; i++) retire(i, lc0, lc1, any_flip);
        std::swap(flip, nflip);
        if (final_it) done = true;  // y written as the rows left the ring
        if (!any_flip) break;       // a fixed point: later iterations change nothing
    }
    if (!done)  // stopped early (or T rows never reached): y from the final gates
        for (int64_t gi = a.R0; gi < a.R1; gi++) write_y(gi - er0);
}

template <int R>
void td_sparse_fn(const TdTile& a, float* ws) {
    td_sparse_body<R>(a, ws);
}

template <int... R>
TdTileFn td_sparse_radius(int r, std::integer_sequence<int, R...>) {
    static constexpr TdTileFn fns[] = {td_sparse_fn<R>...};
    return fns[r >= 0 && r < (int)sizeof...(R) ? r : 0];
}

// ---- hard form, incremental scheme (td_incr_body) -------------------------------------------
//
// In the hard form v takes two values, -1 (open) and vclosed = 1 - 2 alpha, so
// G*v^t = G*v^{t-1} + (1 + vclosed) * sum over gates p that flipped of +-G(. - p): after one
// dense iteration only the flipped gates cost anything. Per tile:
// - iteration 1, dense: v^0 from o, the vertical and horizontal passes as the direct kernels
//   compute them, F = f^0 = o - lambda * G*v^0 kept for the whole tile, the gates u^1 and the
//   gates that can still change as bit planes, y written from u^1, and the gates that flipped
//   (u^1 != u^0) in a list, in raster order;
// - iteration t >= 2: every flip of the last iteration, in list order, adds
//   +-lambda (1 + vclosed) G to F over its (2r+1)^2 window (one 16-lane add per window row for
//   r <= 7) and marks the window dirty; then, flip by flip, the window's dirty pixels take their
//   new gates from F (32 columns at a time for r <= 8) and leave dirty, and their flips make
//   the next list, in the order found, and rewrite their y. No flip: a fixed point, the loop
//   stops.
// F after iteration 1 is a running sum, so it rounds differently from the direct kernels' fresh
// G*v: by the rounding of the additions a pixel received, (T - 1)(2r + 1)^2 at most and
// usually a few, i.e. a few ulps of lambda where gates settle quickly. A gate can differ only
// where |f| is within that of 0, inside the hard form's agreement (docs/OPERATORS.md). It does
// not depend on the tiling or the threads: a pixel that is exact in the tile (at least t*r from
// a halo border at iteration t) is only in windows of flips the tile keeps too, and those come
// in the same relative order in every tiling (raster order in iteration 1; by induction after
// it, each window being evaluated in raster order). Zero padding of v outside the tile is a
// truncation whose error moves in by r per iteration, as in td_tile_body: the output rectangle,
// T*r inside the halo, is exact.

// Bit j: p[j] > 0 for j in [0, 16) (NaN: 0).
SA_INLINE uint32_t gt0_mask16(const float* p) {
#if defined(__AVX512F__)
    return (uint32_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(p), _mm512_setzero_ps(), _CMP_GT_OQ);
#elif defined(__AVX2__)
    const __m256 z = _mm256_setzero_ps();
    return (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p), z, _CMP_GT_OQ)) |
           ((uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p + 8), z, _CMP_GT_OQ)) << 8);
#elif defined(__aarch64__)
    static const uint32_t kBit[4] = {1, 2, 4, 8};
    const uint32x4_t lb = vld1q_u32(kBit);
    uint32_t m = 0;
    for (int k = 0; k < 4; k++)
        m |= vaddvq_u32(vandq_u32(vcgtq_f32(vld1q_f32(p + 4 * k), vdupq_n_f32(0.0f)), lb)) << (4 * k);
    return m;
#else
    const __m128 z = _mm_setzero_ps();
    uint32_t m = 0;
    for (int k = 0; k < 4; k++) m |= (uint32_t)_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(p + 4 * k), z)) << (4 * k);
    return m;
#endif
}

// Bit j: |p[j]| <= thr for j in [0, 16) (NaN: 0).
SA_INLINE uint32_t le_abs_mask16(const float* p, float thr) {
#if defined(__AVX512F__)
    return (uint32_t)_mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(p)), _mm512_set1_ps(thr), _CMP_LE_OQ);
#elif defined(__AVX2__)
    const __m256 sm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), t = _mm256_set1_ps(thr);
    return (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(p), sm), t, _CMP_LE_OQ)) |
           ((uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(p + 8), sm), t, _CMP_LE_OQ)) << 8);
#elif defined(__aarch64__)
    static const uint32_t kBit[4] = {1, 2, 4, 8};
    const uint32x4_t lb = vld1q_u32(kBit);
    uint32_t m = 0;
    for (int k = 0; k < 4; k++)
        m |= vaddvq_u32(vandq_u32(vcleq_f32(vabsq_f32(vld1q_f32(p + 4 * k)), vdupq_n_f32(thr)), lb)) << (4 * k);
    return m;
#else
    const __m128 sm = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff)), t = _mm_set1_ps(thr);
    uint32_t m = 0;
    for (int k = 0; k < 4; k++)
        m |= (uint32_t)_mm_movemask_ps(_mm_cmple_ps(_mm_and_ps(_mm_loadu_ps(p + 4 * k), sm), t)) << (4 * k);
    return m;
#endif
}

SA_INLINE uint32_t le_abs_mask_n(const float* p, int64_t n, float thr) {
    uint32_t m = 0;
    for (int64_t j = 0; j < n; j++) m |= (uint32_t)(std::fabs(p[j]) <= thr) << j;
    return m;
}

// The same for the first n < 16 values (a row's last chunk: nothing past them is read).
SA_INLINE uint32_t gt0_mask_n(const float* p, int64_t n) {
    uint32_t m = 0;
    for (int64_t j = 0; j < n; j++) m |= (uint32_t)(p[j] > 0.0f) << j;
    return m;
}

// dst[0..16) += sign * src[0..16), sign = +-1 (exact: one rounding, as an add).
SA_INLINE void add16(float* __restrict dst, const float* __restrict src, simd::V sign) {
    for (int k = 0; k < 16; k += simd::kLanes)
        simd::store(dst + k, simd::fmadd(sign, simd::load(src + k), simd::load(dst + k)));
}

// Horizontal pass into f = o - lambda * s for one row, j in [j0, j1) (tmp as in td_hloop).
template <int R>
SA_INLINE void td_hpass_f(float* __restrict out, const float* __restrict tmp, const float* __restrict orow,
                          float* __restrict hs, const float* g, int r, float lambda, int64_t j0, int64_t j1) {
    if constexpr (R > 0) {
        float gg[2 * R + 1];
        for (int k = 0; k <= 2 * R; k++) gg[k] = g[k];
#pragma omp simd
        for (int64_t j = j0; j < j1; j++) {
            float s = gg[0] * tmp[j];
#pragma GCC unroll 17
            for (int k = 1; k <= 2 * R; k++) s += gg[k] * tmp[j + k];
            out[j] = orow[j] - lambda * s;
        }
    } else {
        td_hsum_rows(hs, tmp, g, r, j0, j1);
#pragma omp simd
        for (int64_t j = j0; j < j1; j++) out[j] = orow[j] - lambda * hs[j];
    }
}

// y over [0, n) from f (y_of, hard form).
template <bool RELU>
SA_INLINE void td_y_from_f(float* __restrict y, const float* __restrict o, const float* __restrict f, const GateParams& gp,
                           int64_t n) {
    const GateParams q = gp;
#pragma omp simd
    for (int64_t j = 0; j < n; j++) y[j] = y_of<false, RELU>(o[j], f[j], q);
}

// Bits [lo, lo + n) of chunk c (16 bits from bit 16c), n >= 1.
SA_INLINE uint32_t window16(int64_t lo, int n, int64_t c) {
    const int64_t a = std::max<int64_t>(lo, 16 * c), b = std::min<int64_t>(lo + n, 16 * c + 16);
    return a < b ? ((((uint32_t)1 << (b - a)) - 1) << (a - 16 * c)) : 0u;
}

#if defined(__AVX512F__)
// Elements [T, T + 16) of prev ++ cur (T <= 16).
template <int T>
SA_INLINE __m512 td_shifted(__m512 prev, __m512 cur) {
    if constexpr (T == 0) return prev;
    else if constexpr (T == 16) return cur;
    // (maskz with every lane: GCC's plain alignr starts from an "undefined" vector it then
    // warns about.)
    else
        return _mm512_castsi512_ps(
            _mm512_maskz_alignr_epi32((__mmask16)0xffff, _mm512_castps_si512(cur), _mm512_castps_si512(prev), T));
}

// sum_t g[t] x[j + t] for the 16 columns starting at element 0 of prev ++ cur: the first tap a
// multiplication, then one FMA per tap, ascending (as td_hpass_f). 2R <= 16.
template <int R, int... T>
SA_INLINE __m512 td_hsum_shifted(const __m512* gv, __m512 prev, __m512 cur, std::integer_sequence<int, T...>) {
    static_assert(2 * R <= 16, "two vectors hold the taps");
    __m512 sv = _mm512_mul_ps(gv[0], prev);
    ((sv = T == 0 ? sv : _mm512_fmadd_ps(gv[T], td_shifted<T>(prev, cur), sv)), ...);
    return sv;
}
#endif

template <int R>
SA_INLINE void td_incr_body(const TdTile& a, float* ws) {
    const int r = R > 0 ? R : a.r;
    const int T = a.T;
    const int64_t W = a.W;
    const TileExtent e(a, r);
    const int64_t er0 = e.r0, ec0 = e.c0, eh = e.h, ew = e.w;
    TdIncrLayout L{};
    td_incr_layout(eh, ew, r, &L);  // the planner checked it
    const int64_t off = L.off, pf = L.pf, pv = L.pv, cpr = pf / 16;  // chunks per row
    const int nck = L.nck, D = 2 * r + 1;
    float* F = ws + L.f;
    float* Q = ws + L.q;  // D x nck*16: the change of F where a gate opens (its negative: closes)
    float* tmp = ws + L.tmp;
    float* hs = ws + L.hs;
    float* vring = ws + L.vring;
    float* zero = ws + L.zero;
    uint16_t* open = reinterpret_cast<uint16_t*>(ws + L.open);
    uint16_t* dirty = reinterpret_cast<uint16_t*>(ws + L.dirty);
    uint16_t* unc = reinterpret_cast<uint16_t*>(ws + L.unc);      // |o| <= thr: the gates that can change
    uint16_t* valid = reinterpret_cast<uint16_t*>(ws + L.valid);  // per chunk of a row: the tile's columns
    uint16_t* ovalid = valid + cpr;                                 // the output's columns
    uint16_t* vvalid = ovalid + cpr;  // per chunk of a padded v row: the tile's columns (pv <= pf)
    uint32_t* list = reinterpret_cast<uint32_t*>(ws + L.list_a);    // this iteration's flips
    uint32_t* next = reinterpret_cast<uint32_t*>(ws + L.list_b);    // the next one's
    const GateParams gp = a.gp;
    const float lambda = a.lambda;
    const float* g = a.g;
    const bool relu = gp.alpha == 0.0f;
    const float* po = a.o;  // the plane being computed (a.planes consecutive ones share the set-up)
    float* py = a.y;
    auto orow = [&](int64_t i) { return po + (er0 + i) * W + ec0; };
    const int64_t oc0 = a.C0 - ec0, on = a.C1 - a.C0, or0 = a.R0 - er0, or1 = a.R1 - er0;

    // The flip windows: lambda (1 + vclosed) g[dy] g[dx], zero past 2r + 1 columns.
    const float wq = lambda * (1.0f + gp.vclosed);
    for (int dy = 0; dy < D; dy++) {
        const float gy = wq * g[dy];
        float* qr = Q + dy * nck * 16;
        for (int k = 0; k < D; k++) qr[k] = gy * g[k];
        for (int k = D; k < nck * 16; k++) qr[k] = 0.0f;
    }
    const size_t plane_bytes = sizeof(uint16_t) * (size_t)((eh + 2 * r) * cpr + 2);
    memset(open, 0, plane_bytes);
    memset(dirty, 0, plane_bytes);
    memset(unc, 0, plane_bytes);
    memset(F, 0, sizeof(float) * (size_t)(r * pf));                      // the padding rows
    memset(F + (eh + r) * pf, 0, sizeof(float) * (size_t)(r * pf));
    for (int64_t c = 0; c < cpr; c++) {
        valid[c] = (uint16_t)window16(off, (int)ew, c);
        ovalid[c] = (uint16_t)window16(off + oc0, (int)on, c);
        vvalid[c] = (uint16_t)window16(r, (int)ew, c);
    }
    memset(zero, 0, sizeof(float) * (size_t)pv);
    memset(tmp + pv, 0, sizeof(float) * 16);  // read (and masked off) by a row's last chunk
    // |o| > 1.001 lambda: the exact f keeps the sign of o for ever (|G*v| <= 1), so such a gate
    // is u^0 = u^1 and is never evaluated again, whatever F's running sum rounds to.
    const float thr = (float)((double)lambda * 1.001);  // lambda <= 1e30 (the planner)

    // ---- iteration 1, dense ----
    // Row q of v^0 lives in ring slot q % D (padded column 0). The row loop keeps the slot of
    // row i - r in s0 and steps it, instead of a division per row pointer (8 per row).
    auto vslot = [&](int64_t x) { return vring + (x >= D ? x - D : x) * pv; };  // x < 2D
    // (The ring rows' margins are zero: the AVX-512 init_v writes them as zeros, the other one
    // writes only the tile's columns and leaves this memset's. Small memsets per row cost as
    // much as a row's arithmetic, so there are none.)
    memset(vring, 0, sizeof(float) * (size_t)(D * pv));
#if defined(__AVX512F__)
    // v^0 = o > 0 ? -1 : vclosed over the whole padded row, zero in the margins, as whole
    // vectors at the positions the vertical pass loads them from (narrow planes have only a
    // vector or two per row, where a compiled loop's peeling and epilogue cost as much again;
    // and a row made just before its first use is loaded while its stores are in flight: a
    // load that straddled two of them, as when the stores were offset by r, waited for both).
    auto init_v = [&](int64_t q, float* vr) {
        const float* o = orow(q) - r;  // padded column 0 (masked off below column r)
        const __m512 m1 = _mm512_set1_ps(-1.0f), vc = _mm512_set1_ps(gp.vclosed), zv = _mm512_setzero_ps();
        for (int64_t j = 0; j < pv; j += 16) {
            const __mmask16 lanes = vvalid[j / 16];  // padded columns [r, r + ew)
            const __m512 ov = _mm512_maskz_loadu_ps(lanes, o + j);
            const __mmask16 open = _mm512_mask_cmp_ps_mask(lanes, ov, zv, _CMP_GT_OQ);
            _mm512_storeu_ps(vr + j, _mm512_maskz_mov_ps(lanes, _mm512_mask_blend_ps(open, vc, m1)));
        }
    };
#else
    auto init_v = [&](int64_t q, float* vr) { td_init_row<false>(vr + r, orow(q), ew, gp); };
#endif
    // Planes after the first reuse everything above: the bit planes outside the tile's
    // chunks and F's padding rows are never evaluated, and dirty is clear again at the end.
    for (int64_t pl = 0; pl < a.planes; pl++) {
        po = a.o + pl * a.H * W;
        py = a.y + pl * a.H * W;
        for (int64_t q = 0; q < std::min<int64_t>(r, eh); q++) init_v(q, vslot(q));
        const float* rows[2 * SA_TD_MAX_RADIUS + 1];
        uint32_t nl = 0;  // flips in list
        // Appends the flat indices of chunk's set bits to l. With AVX-512 without a branch (a
        // compress and a full 16-lane store; the lists have 16 entries of slack): whether a chunk
        // holds a flip is data, and a mispredicted branch per chunk cost more than the work.
#if defined(__AVX512F__)
        const __m512i lane_ids = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        auto push = [&](uint32_t* l, uint32_t& n, int64_t chunk, uint32_t bits) {
            const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32((int)(chunk * 16)), lane_ids);
            _mm512_storeu_si512(l + n, _mm512_maskz_compress_epi32((__mmask16)bits, idx));
            n += (uint32_t)__builtin_popcount(bits);
        };
#else
        auto push = [&](uint32_t* l, uint32_t& n, int64_t chunk, uint32_t bits) {
            for (; bits; bits &= bits - 1) l[n++] = (uint32_t)(chunk * 16 + __builtin_ctz(bits));
        };
#endif
        const int64_t k_lo = off / 16, k_hi = (off + ew + 15) / 16;  // 16-column chunks of the tile
        int64_t s0 = D - r;  // the slot of row i - r: (i - r) mod D
        for (int64_t i = 0; i < eh; i++, s0 = s0 + 1 == D ? 0 : s0 + 1) {
            if (i + r < eh) init_v(i + r, vslot(s0 + 2 * r));
            for (int k = 0; k < D; k++) {
                const int64_t q = i - r + k;
                rows[k] = (q >= 0 && q < eh) ? vslot(s0 + k) : zero;
            }
#if defined(__AVX512F__)
            // R > 0: the vertical pass is fused into the horizontal one below (register shifts).
            if constexpr (R == 0) td_vpass<R>(tmp, rows, g, r, 0, pv);
#else
            td_vpass<R>(tmp, rows, g, r, 0, pv);  // whole vectors: the rows' zero margins reach pv
#endif
            float* Fr = F + (i + r) * pf;
            const float* o = orow(i);
#if defined(__AVX512F__)
            // F's padding columns, by masked vector stores (GCC made the loops below memset
            // calls). off and pf are multiples of 16.
            for (int64_t j = 0; j < off; j += 16) _mm512_storeu_ps(Fr + j, _mm512_setzero_ps());
            for (int64_t j = off + ew; j < pf; j = (j + 16) & ~(int64_t)15)
                _mm512_mask_storeu_ps(Fr + j, (__mmask16)(0xffffu >> (j & 15)), _mm512_setzero_ps());
#else
            for (int64_t j = 0; j < off; j++) Fr[j] = 0.0f;            // F's padding columns
            for (int64_t j = off + ew; j < pf; j++) Fr[j] = 0.0f;
#endif
            // The horizontal pass into F; y from u^1 (output rows); u^1, the gates that may change,
            // and the flips against u^0 (open where o > 0), 16 columns at a time.
            const bool out_row = i >= or0 && i < or1;
            const int64_t cb = (i + r) * cpr;  // the row's first chunk
#if defined(__AVX512F__)
            float* y = py + (er0 + i) * W + ec0;  // local column 0 (padded column off)
            const __m512 one = _mm512_set1_ps(1.0f), av = _mm512_set1_ps(gp.alpha), zv = _mm512_setzero_ps();
            const __m512 tv = _mm512_set1_ps(thr), lv = _mm512_set1_ps(lambda);
            if (R == 0) td_hpass_f<R>(Fr + off, tmp, o, hs, g, r, lambda, 0, ew);
            __m512 gv[2 * R + 1];
            for (int t = 0; t <= 2 * R; t++) gv[t] = _mm512_set1_ps(g[t]);
            // The vertical sums of padded columns [16j, 16j + 16) (zero past pv, as tmp's tail
            // was), taps ascending: chunk k's horizontal taps read vectors k - 1 and k (off = 16,
            // 2R <= 16), shifted in registers. (Through tmp in memory, each row's horizontal loads
            // straddled the vertical pass's stores and waited for them: the rows ran one after
            // another, 2-3x slower on small planes.) The same operations in the same order.
            auto vsum = [&](int64_t j) {
                if (16 * j >= pv) return _mm512_setzero_ps();
                __m512 sv = _mm512_mul_ps(gv[0], _mm512_loadu_ps(rows[0] + 16 * j));
                for (int t = 1; t <= 2 * R; t++) sv = _mm512_fmadd_ps(gv[t], _mm512_loadu_ps(rows[t] + 16 * j), sv);
                return sv;
            };
            __m512 vprev = _mm512_setzero_ps();
            if constexpr (R > 0) vprev = vsum(k_lo - 1);
            for (int64_t k = k_lo; k < k_hi; k++) {
                const __mmask16 lanes = valid[k];
                const __m512 ov = _mm512_maskz_loadu_ps(lanes, o + 16 * k - off);
                __m512 f;
                if constexpr (R > 0) {  // as td_hpass_f: taps ascending, then o - lambda * s
                    const __m512 vcur = vsum(k);
                    const __m512 sv = td_hsum_shifted<R>(gv, vprev, vcur, std::make_integer_sequence<int, 2 * R + 1>{});
                    vprev = vcur;
                    f = _mm512_fnmadd_ps(lv, sv, ov);
                    _mm512_mask_storeu_ps(Fr + 16 * k, lanes, f);
                } else {
                    f = _mm512_loadu_ps(Fr + 16 * k);
                }
                const __mmask16 mn = _mm512_mask_cmp_ps_mask(lanes, f, zv, _CMP_GT_OQ);
                const __mmask16 mo = _mm512_mask_cmp_ps_mask(lanes, ov, zv, _CMP_GT_OQ);
                if (out_row) {
                    __m512 yv;
                    if (relu)  // open, or NaN o (kept): o; else +0
                        yv = _mm512_maskz_mov_ps(mn | _mm512_cmp_ps_mask(ov, ov, _CMP_UNORD_Q), ov);
                    else
                        yv = _mm512_mul_ps(ov, _mm512_mask_blend_ps(mn, av, one));
                    _mm512_mask_storeu_ps(y + 16 * k - off, ovalid[k], yv);
                }
                open[cb + k] = mn;
                unc[cb + k] = _mm512_mask_cmp_ps_mask(lanes, _mm512_abs_ps(ov), tv, _CMP_LE_OQ);
                push(list, nl, cb + k, (uint32_t)(uint16_t)(mn ^ mo));
            }
#else
            td_hpass_f<R>(Fr + off, tmp, o, hs, g, r, lambda, 0, ew);
            if (out_row) {
                float* y = py + (er0 + i) * W + a.C0;
                if (relu)
                    td_y_from_f<true>(y, o + oc0, Fr + off + oc0, gp, on);
                else
                    td_y_from_f<false>(y, o + oc0, Fr + off + oc0, gp, on);
            }
            for (int64_t k = k_lo; k < k_hi; k++) {
                const int64_t j0 = 16 * k - off, n = std::min<int64_t>(16, ew - j0);
                const uint32_t nb = n == 16 ? gt0_mask16(Fr + 16 * k) : gt0_mask_n(Fr + 16 * k, n);
                const uint32_t ob = n == 16 ? gt0_mask16(o + j0) : gt0_mask_n(o + j0, n);
                open[cb + k] = (uint16_t)nb;
                unc[cb + k] = (uint16_t)(n == 16 ? le_abs_mask16(o + j0, thr) : le_abs_mask_n(o + j0, n, thr));
                if (nb ^ ob) push(list, nl, cb + k, nb ^ ob);
            }
#endif
        }

        // ---- iterations 2 .. T, incremental ----
        // Each flip's window starts r rows up and r columns left: flat index idx - r*pf - r.
        const int64_t wback = r * pf + r;
        for (int t = 2; t <= T && nl > 0; t++) {
            // Every flip of the last iteration, in list order: F += +-lambda (1 + vclosed) G over
            // its window, which is marked dirty.
            for (uint32_t x = 0; x < nl; x++) {
                const int64_t b0 = (int64_t)list[x] - wback;
                const uint32_t st = (open[list[x] >> 4] >> (list[x] & 15)) & 1u;  // the new gate
                const simd::V sign = simd::set1(st ? 1.0f : -1.0f);
                for (int dy = 0; dy < D; dy++) {
                    const int64_t b = b0 + dy * pf;
                    float* Fr = F + b;
                    const float* q = Q + dy * nck * 16;
                    for (int c = 0; c < nck; c++) add16(Fr + 16 * c, q + 16 * c, sign);
                    if (D <= 17) {  // two chunks
                        uint32_t m;
                        memcpy(&m, dirty + (b >> 4), 4);
                        m |= (((uint32_t)1 << D) - 1) << (b & 15);
                        memcpy(dirty + (b >> 4), &m, 4);
                    } else {
                        for (int64_t c = b >> 4; c <= (b + D - 1) >> 4; c++) dirty[c] |= (uint16_t)window16(b, D, c);
                    }
                }
            }
            // The pixels in those windows that may flip take their gates from F, each once: a
            // chunk's window bits leave dirty as they are evaluated. New flips go to the next list
            // in the order found, which is the same in every tiling for the pixels a tile keeps.
            uint32_t nn = 0;
            auto ld32 = [](const uint16_t* p) {
                uint32_t v;
                memcpy(&v, p, 4);
                return v;
            };
            auto st32 = [](uint16_t* p, uint32_t v) { memcpy(p, &v, 4); };
            const uint32_t wm0 = D <= 17 ? (((uint32_t)1 << D) - 1) : 0u;
            uint32_t fls[17];  // a window's new flips per row (D <= 17): one branch per window
            for (uint32_t x = 0; x < nl; x++) {
                const int64_t b0 = (int64_t)list[x] - wback;
                uint32_t anyf = 0;
                for (int dy = 0; dy < D; dy++) {
                    const int64_t b = b0 + dy * pf;
                    const int64_t c0 = b >> 4;
                    if (D <= 17) {  // the window row in two chunks, as one 32-bit word; no branch
                        const uint32_t wm = wm0 << (b & 15);
                        const uint32_t dw = ld32(dirty + c0);
                        const uint32_t d = dw & wm & ld32(unc + c0);
                        st32(dirty + c0, dw & ~wm);
                        const uint32_t nb = gt0_mask16(F + 16 * c0) | (gt0_mask16(F + 16 * c0 + 16) << 16);
                        const uint32_t ow = ld32(open + c0);
                        const uint32_t fl = (nb ^ ow) & d;
                        st32(open + c0, ow ^ fl);
                        fls[dy] = fl;
                        anyf |= fl;
                    } else {
                        for (int64_t c = c0; c <= (b + D - 1) >> 4; c++) {
                            const uint32_t wm = window16(b, D, c);
                            const uint32_t d = dirty[c] & wm & unc[c];
                            dirty[c] = (uint16_t)(dirty[c] & ~wm);
                            const uint32_t nb = gt0_mask16(F + 16 * c);
                            const uint32_t fl = (nb ^ open[c]) & d;
                            open[c] = (uint16_t)(open[c] ^ fl);
                            if (fl) push(next, nn, c, fl);
                        }
                    }
                }
                if (D <= 17 && anyf) {
                    for (int dy = 0; dy < D; dy++) {
                        if (!fls[dy]) continue;
                        const int64_t c0 = (b0 + dy * pf) >> 4;
                        push(next, nn, c0, fls[dy] & 0xffffu);
                        push(next, nn, c0 + 1, fls[dy] >> 16);
                    }
                }
            }
            // y where a gate flipped: written again at every flip, so it ends at the final gate.
            for (uint32_t x = 0; x < nn; x++) {
                // (32-bit division: the flat indices and pf are below 2^32, td_incr_layout.)
                const uint32_t idx = next[x], pr = idx / (uint32_t)pf, pc = idx - pr * (uint32_t)pf;
                const int64_t i = (int64_t)pr - r, j = (int64_t)pc - off;  // local row, column
                if (i < or0 || i >= or1 || j < oc0 || j >= oc0 + on) continue;
                const float f = ((open[idx >> 4] >> (idx & 15)) & 1u) ? 1.0f : 0.0f;  // the gate as a sign
                const float ov = orow(i)[j];
                py[(er0 + i) * W + ec0 + j] = relu ? y_of<false, true>(ov, f, gp) : y_of<false, false>(ov, f, gp);
            }
            std::swap(list, next);
            nl = nn;
        }

    }
}

template <int R>
void td_incr_fn(const TdTile& a, float* ws) {
    td_incr_body<R>(a, ws);
}

template <int... R>
TdTileFn td_incr_radius(int r, std::integer_sequence<int, R...>) {
    static constexpr TdTileFn fns[] = {td_incr_fn<R>...};
    return fns[r >= 0 && r < (int)sizeof...(R) ? r : 0];
}

// The table's tile kernel for one (R, SOFT, WAVE).
template <int R, bool SOFT, bool WAVE>
void td_tile_fn(const TdTile& a, float* ws) {
    if (WAVE)
        td_wave_body<R, SOFT>(a, ws);
    else
        td_tile_body<R, SOFT>(a, ws);
}

// fns[r] has R = r, fns[0] the runtime radius (and every r past the fixed ones).
template <bool SOFT, bool WAVE, int... R>
TdTileFn td_tile_radius(int r, std::integer_sequence<int, R...>) {
    static constexpr TdTileFn fns[] = {td_tile_fn<R, SOFT, WAVE>...};
    return fns[r >= 0 && r < (int)sizeof...(R) ? r : 0];
}

}  // namespace

TdTileFn td_tile(bool soft, bool wave, int r) {
    constexpr auto radii = std::make_integer_sequence<int, 9>{};  // R = 0 (runtime), 1 .. 8
    if (soft) return wave ? td_tile_radius<true, true>(r, radii) : td_tile_radius<true, false>(r, radii);
    return wave ? td_tile_radius<false, true>(r, radii) : td_tile_radius<false, false>(r, radii);
}

TdTileFn td_sparse(int r) { return td_sparse_radius(r, std::make_integer_sequence<int, 9>{}); }

TdTileFn td_incr(int r) { return td_incr_radius(r, std::make_integer_sequence<int, 9>{}); }

}  // namespace SA_ISA_NS

#if defined(SA_ISA_BUILD_baseline)
namespace isa_baseline {

// The pointwise soft form: y = o * gate(o) over n elements.
void td_soft_point(const float* o, float* y, int64_t n, const GateParams& gp_) {
    const GateParams gp = gp_;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = y_of<true, false>(o[i], o[i], gp);
}

}  // namespace isa_baseline
#endif
}  // namespace sa
