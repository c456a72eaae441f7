// TD-LReLU CPU kernels, compiled once per instruction set (isa.h): all T iterations over one
// tile, either as a wavefront down the rows (td_wave_body) or on a whole-tile v buffer
// (td_tile_body), for radii 1..8 fixed at compile time and any radius at run time (R = 0);
// td_lrelu.cpp plans the tiles and runs them. Per iteration and row: a vertical Gaussian pass
// over 2r+1 rows of v = 1 - 2u into one scratch row, a horizontal pass, f = o - lambda * G*v and
// the gate (td_gate.h).
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <utility>

#include "isa.h"
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
        // Runtime radius: accumulate tap by tap into hs (a scratch row), then gate.
        const float g0 = g[0];
#pragma omp simd
        for (int64_t j = j0; j < j1; j++) hs[j] = g0 * tmp[j];
        for (int k = 1; k <= 2 * r; k++) {
            const float gk = g[k];
            const float* tk = tmp + k;
#pragma omp simd
            for (int64_t j = j0; j < j1; j++) hs[j] += gk * tk[j];
        }
        with_relu<SOFT>(gp, [&](auto relu) {
            td_gate_loop<SOFT, FINAL, decltype(relu)::value>(out, hs, orow, lambda, gp, j0, j1);
        });
    }
}

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
    const int64_t H = a.H, W = a.W;
    const int64_t halo = (int64_t)T * r;
    const int64_t er0 = std::max<int64_t>(0, a.R0 - halo), er1 = std::min<int64_t>(H, a.R1 + halo);
    const int64_t ec0 = std::max<int64_t>(0, a.C0 - halo), ec1 = std::min<int64_t>(W, a.C1 + halo);
    const int64_t eh = er1 - er0, ew = ec1 - ec0;
    const int64_t pv = round_up(ew + 2 * r, 16);
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
