// FReLU CPU kernel, compiled once per instruction set (isa.h): y = max(x, conv_KxK(x) + shift)
// in one pass, with the explicit vectors of simd.h (docs/DESIGN.md describes the scheme).
#include <stdint.h>

#include <algorithm>

#include "isa.h"

#include "../../common/sa_math.h"
#include "prefetch.h"
#include "simd.h"
#include "spatialact/spatialact.h"

namespace sa {
namespace SA_ISA_NS {
namespace {

// A row of zeros standing in for the input rows above and below the image (zero padding).
alignas(64) const float kZeroRow[kColTile + 2 * (SA_FRELU_MAX_K / 2) + 16] = {};

// Output rows computed per pass over the columns. Each of the K + rows - 1 input rows that a
// pass reads is loaded once per column vector and feeds every output row whose window holds
// it: a 3x3 kernel issues (rows + 2) x 3 loads per `rows` output vectors instead of 9 each.
// Tiles read in place (kRowsDirect): each row of a pass is a stream of its own (input and
// output), and on AVX-512 3 rows instead of 8 (the choice until 2026-12-02; it has the
// registers for 8) took FReLU from 0.8x to 0.97x LeakyReLU on 1x64x256x256 and 1x64x512x512,
// with the prefetches of frelu_direct (2 and 4 rows within a few percent, 1 slower;
// docs/PERFORMANCE.md); AVX2 3 instead of 4 (0.85x -> 0.89x). k = 5 and 7 are bound by the
// arithmetic and the loads per output instead (3 rows made them 10-25% slower): 8 rows (AVX2 4),
// as the narrow tiles (kRowsRing, copied into the ring, e.g. 32 x 32 planes in cache). SSE2 and
// NEON (4 lanes, not measured for this): 4 rows, as before.
template <int K>
constexpr int kRowsDirect = simd::kLanes == 16 ? (K <= 3 ? 3 : 8) : simd::kLanes == 8 ? (K <= 3 ? 3 : 4) : 4;
constexpr int kRowsRing = simd::kLanes == 16 ? 8 : 4;

using simd::V;

// The arithmetic of one output vector in each of ROWS consecutive rows: ld(m, b) is the input
// of window row m (ROWS + K - 1 of them) at tap column b, relative to the first output column
// (a register: a vector load, or a masked one at image edges); out[r] is output row r's vector.
// The centre tap ld(r + R, R) is the x of the max. Summation order, shared with the scalar
// tail below and the CUDA kernel: acc = bias, then the K*K products a-major, b-minor (LIGHT:
// (bias + row taps) + column taps).
template <int K, bool LIGHT, int ROWS, class LD>
inline __attribute__((always_inline)) void frelu_core(LD ld, V* out, const V* w, V bias) {
    constexpr int R = K / 2;
    V acc[ROWS], xc[ROWS];
    if (!LIGHT) {
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; r++) acc[r] = bias;
        // Window row m is loaded K times (once per tap column) into a register, and each load
        // feeds every output row r that has it as filter row a = m - r; the centre tap is also
        // the x of the max. All indices are compile-time constants after unrolling.
#pragma GCC unroll 16
        for (int m = 0; m < ROWS + K - 1; m++)
#pragma GCC unroll 16
            for (int b = 0; b < K; b++) {
                const V v = ld(m, b);
#pragma GCC unroll 16
                for (int r = 0; r < ROWS; r++) {
                    const int a = m - r;
                    if (a >= 0 && a < K) acc[r] = simd::fmadd(w[a * K + b], v, acc[r]);
                    if (a == R && b == R) xc[r] = v;
                }
            }
    } else {
        // The centre column of every window row feeds the column sums of up to K output rows.
        V ctr[ROWS + K - 1];
#pragma GCC unroll 16
        for (int m = 0; m < ROWS + K - 1; m++) ctr[m] = ld(m, R);
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; r++) {
            V hs = bias, vs = simd::set1(0.0f);
#pragma GCC unroll 16
            for (int b = 0; b < K; b++) hs = simd::fmadd(w[b], b == R ? ctr[r + R] : ld(r + R, b), hs);
#pragma GCC unroll 16
            for (int a = 0; a < K; a++) vs = simd::fmadd(w[K + a], ctr[r + a], vs);
            acc[r] = simd::add(hs, vs);
            xc[r] = ctr[r + R];
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; r++) out[r] = simd::max_nan(xc[r], acc[r]);
}

// Output columns [q, q + kLanes) of ROWS consecutive rows. rp[m][q + b] is the zero-padded
// input of window row m at column q + b - R relative to the first output; yr[r] is output row r.
template <int K, bool LIGHT, int ROWS>
inline void frelu_vec(const float* const* rp, float* const* yr, int64_t q, const V* w, V bias) {
    V out[ROWS];
    frelu_core<K, LIGHT, ROWS>([&](int m, int b) { return simd::load_reg(rp[m] + q + b); }, out, w, bias);
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; r++) simd::store(yr[r] + q, out[r]);
}

#if defined(__AVX512F__)
// The same on the input in place, for tiles narrower than frelu_direct needs: rp[m] + q + b is
// input column c0 + q + b - R of window row m (or kZeroRow), lm[b] the lanes of tap column b
// inside the image (the others load zero: the zero padding, without touching memory), sm the
// lanes inside the tile (stored).
template <int K, bool LIGHT, int ROWS>
inline void frelu_vec_masked(const float* const* rp, float* const* yr, int64_t q, const __mmask16* lm, __mmask16 sm,
                             const V* w, V bias) {
    V out[ROWS];
    frelu_core<K, LIGHT, ROWS>(
        [&](int m, int b) {
            V a{_mm512_maskz_loadu_ps(lm[b], rp[m] + q + b)};
            __asm__("" : "+v"(a.v));  // kept in a register, as load_reg
            return a;
        },
        out, w, bias);
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; r++) _mm512_mask_storeu_ps(yr[r] + q, sm, out[r].v);
}

// ROWS output rows of a narrow tile (n < 3 * kLanes + 2R columns) from the input in place,
// one masked vector per kLanes columns: no copy of the rows (the ring of the other ISAs cost a
// third of a 32 x 32 plane). row[m] is window row m (an image row at column 0, or NULL).
template <int K, bool LIGHT, int ROWS>
inline void frelu_narrow(const float* const* row, float* const* yr, int64_t c0, int64_t n, int64_t W, const V* wv,
                         V biasv) {
    constexpr int R = K / 2, M = ROWS + K - 1;
    constexpr int64_t L = simd::kLanes;
    const float* rp[M];
    for (int m = 0; m < M; m++) rp[m] = row[m] ? row[m] + (c0 - R) : kZeroRow;
    for (int64_t q = 0; q < n; q += L) {
        __mmask16 lm[K];
        for (int b = 0; b < K; b++) {
            const int64_t base = c0 + q + b - R;  // image column of lane 0
            const int64_t lo = std::max<int64_t>(0, -base), hi = std::min<int64_t>(L, W - base);
            lm[b] = hi > lo ? (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u)) : (__mmask16)0;
        }
        const int64_t ns = std::min<int64_t>(L, n - q);
        frelu_vec_masked<K, LIGHT, ROWS>(rp, yr, q, lm, (__mmask16)((1u << ns) - 1u), wv, biasv);
    }
}
#endif

// The same, one column at a time, for tiles narrower than a vector.
template <int K, bool LIGHT, int ROWS>
inline void frelu_scalar(const float* const* rp, float* const* yr, int64_t q, const float* w, float bias) {
    constexpr int R = K / 2;
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; r++) {
        float acc;
        if (!LIGHT) {
            acc = bias;
#pragma GCC unroll 16
            for (int a = 0; a < K; a++)
#pragma GCC unroll 16
                for (int b = 0; b < K; b++) acc = w[a * K + b] * rp[r + a][q + b] + acc;
        } else {
            float hs = bias, vs = 0.0f;
#pragma GCC unroll 16
            for (int b = 0; b < K; b++) hs = w[b] * rp[r + R][q + b] + hs;
#pragma GCC unroll 16
            for (int a = 0; a < K; a++) vs = w[K + a] * rp[r + a][q + R] + vs;
            acc = hs + vs;
        }
        yr[r][q] = sa_max_nan(rp[r + R][q + R], acc);
    }
}

// ROWS output rows, all n columns of the tile: whole vectors, then one vector ending at n
// that overlaps the last one (it recomputes identical values), or scalars when n < kLanes.
template <int K, bool LIGHT, int ROWS>
inline void frelu_rows(const float* const* rp, float* const* yr, int64_t n, const V* wv, V biasv, const float* w,
                       float bias) {
    constexpr int64_t L = simd::kLanes;
    if (n < L) {
        for (int64_t q = 0; q < n; q++) frelu_scalar<K, LIGHT, ROWS>(rp, yr, q, w, bias);
        return;
    }
    int64_t q = 0;
    for (; q + L <= n; q += L) frelu_vec<K, LIGHT, ROWS>(rp, yr, q, wv, biasv);
    if (q < n) frelu_vec<K, LIGHT, ROWS>(rp, yr, n - L, wv, biasv);
}

// ROWS output rows of a tile at least 3 * kLanes + 2 * R columns wide, reading the input rows
// in place: row[m] is window row m (an image row at column 0, or NULL above or below the image),
// yr[r] output row r at column c0. Vectors whose window lies inside the image load straight from
// x. A vector whose window crosses the left or right image edge (one at each edge of the image)
// runs on a small strip per window row: the same columns with zeros outside the image, built
// with three vector stores.
template <int K, bool LIGHT, int ROWS>
inline void frelu_direct(const float* const* row, float* const* yr, int64_t c0, int64_t n, int64_t W, const V* wv,
                         V biasv) {
    constexpr int R = K / 2, M = ROWS + K - 1;
    constexpr int64_t L = simd::kLanes;
    const bool left = c0 == 0, right = c0 + n == W;
    // Interior vectors may start at any column in [qb, n - L - (right ? R : 0)]: their window
    // stays inside the image. They must cover [cs, ce); the edge vectors cover the rest.
    const int64_t qb = left ? R : 0, qlast = right ? n - L - R : n - L;
    const int64_t cs = left ? L : 0, ce = right ? n - L : n;
    const float* rp[M];  // rp[m] + (q - qb) + b is input column c0 + q + b - R
    for (int m = 0; m < M; m++) rp[m] = row[m] ? row[m] + (c0 + qb - R) : kZeroRow;
    float* yq[ROWS];
    for (int r = 0; r < ROWS; r++) yq[r] = yr[r] + qb;
    // The loop runs on columns where output row 0 is vector-aligned (the rows below share it
    // when W is a multiple of kLanes): stores straddling two cache lines measured 20-30%
    // slower, and Java arrays and malloc'ed buffers are only 16-byte aligned. x's alignment
    // mattered much less (the taps at b != R straddle lines whatever it is).
    const int64_t mis = (int64_t)(((uintptr_t)yq[0] / sizeof(float)) % L);
    int64_t q = qb + (mis ? L - mis : 0);  // <= qb + L - 1 <= cs + L - 1
    if (q > cs) frelu_vec<K, LIGHT, ROWS>(rp, yq, cs - qb, wv, biasv);  // covers [cs, q)
    // Prefetches (prefetch.h): each output row's next vector into L1 for writing, and the
    // columns of the next pass (ROWS rows down: its new input rows and its output rows) into L2.
    // Without them the stores' reads for ownership and the short row streams, which the hardware
    // prefetchers pick up late, left FReLU at 0.65-0.7x LeakyReLU on tensors beyond L2.
    const int64_t down = ROWS * W;
    for (; q <= qlast; q += L) {
        for (int r = 0; r < ROWS; r++) prefetch_store(yq[r] + (q - qb) + L);
        for (int m = K - 1; m < M; m++) __builtin_prefetch(rp[m] + (q - qb) + down, 0, 2);
        for (int r = 0; r < ROWS; r++) __builtin_prefetch(yq[r] + (q - qb) + down, 1, 2);
        frelu_vec<K, LIGHT, ROWS>(rp, yq, q - qb, wv, biasv);
    }
    if (q < ce) frelu_vec<K, LIGHT, ROWS>(rp, yq, ce - L - qb, wv, biasv);  // overlaps, same values

    if (left || right) {
        alignas(64) float strip[M][(L + 2 * R + 15) / 16 * 16];  // L + 2R columns used
        const float* sp[M];
        float* ys[ROWS];
        const V zero = simd::set1(0.0f);
        if (left) {  // output columns [0, L): input columns -R .. L + R - 1
            for (int m = 0; m < M; m++) {
                if (!row[m]) {
                    sp[m] = kZeroRow;
                    continue;
                }
                simd::store(strip[m], zero);                      // [0, L) (R zeros kept)
                simd::store(strip[m] + R, simd::load(row[m]));      // [R, R + L)     = x[0, L)
                simd::store(strip[m] + 2 * R, simd::load(row[m] + R));  // [2R, 2R + L) = x[R, R + L)
                sp[m] = strip[m];
            }
            for (int r = 0; r < ROWS; r++) ys[r] = yr[r];
            frelu_vec<K, LIGHT, ROWS>(sp, ys, 0, wv, biasv);
        }
        if (right) {  // output columns [W - L, W): input columns W - L - R .. W + R - 1
            for (int m = 0; m < M; m++) {
                if (!row[m]) {
                    sp[m] = kZeroRow;
                    continue;
                }
                simd::store(strip[m] + 2 * R, zero);                    // [2R, 2R + L) (R zeros kept)
                simd::store(strip[m], simd::load(row[m] + W - L - R));  // [0, L)  = x[W-L-R, W-R)
                simd::store(strip[m] + R, simd::load(row[m] + W - L));  // [R, R+L) = x[W-L, W)
                sp[m] = strip[m];
            }
            for (int r = 0; r < ROWS; r++) ys[r] = yr[r] + (n - L);
            frelu_vec<K, LIGHT, ROWS>(sp, ys, 0, wv, biasv);
        }
    }
}

// FReLU over one tile of one plane, in one pass: kRowsDirect<K> or kRowsRing output rows at a
// time, each loaded input vector feeding every output row whose window holds it. Tiles of at
// least 3 * kLanes + 2R columns read x in place (frelu_direct); narrower ones read it in place
// with masked loads on AVX-512 (frelu_narrow) and elsewhere copy their input rows, as they are
// first needed, into a ring of NB zero-padded rows so that every column runs the same code.
// Rows above and below the image read kZeroRow. x is read from memory once and y written once.
template <int K, bool LIGHT>
void frelu_t(const FreluTask& t) {
    constexpr int R = K / 2;
    constexpr int NB = K + std::max(kRowsDirect<K>, kRowsRing) - 1;  // window rows of a pass (at most)
    // Floats per ring slot: the ring serves only tiles narrower than 3 vectors + 2R columns.
    constexpr int64_t PW = (3 * simd::kLanes + 4 * R + 15) / 16 * 16;
    constexpr int NW = LIGHT ? 2 * K : K * K;
    const int64_t W = t.w, H = t.h, c0 = t.c0, c1 = t.c1, n = c1 - c0;
    float w[NW];
    V wv[NW];
    for (int i = 0; i < NW; i++) w[i] = t.weight[i], wv[i] = simd::set1(w[i]);
    const float bias = t.bias;
    const V biasv = simd::set1(bias);

    if (R == 0) {  // k = 1: a point-wise affine map and a max
        for (int64_t i = t.r0; i < t.r1; i++) {
            const float* rp[1] = {t.x + i * W + c0};
            float* yr[1] = {t.y + i * W + c0};
            frelu_rows<K, LIGHT, 1>(rp, yr, n, wv, biasv, w, bias);
        }
        return;
    }

    const bool direct = n >= 3 * simd::kLanes + 2 * R;
    alignas(64) float ring[NB][PW];  // narrow tiles only
    // Padded copy of input row `row` (in the image) into its slot: columns c0 - R .. c1 + R - 1.
    const int64_t lo = c0 - R >= 0 ? c0 - R : 0, hi = c1 + R <= W ? c1 + R : W;
    auto load = [&](int64_t row, float* d) {
        // Zero padding is exactly R columns at an image edge (constant-size stores, no call).
        if (lo > c0 - R)
            for (int q = 0; q < R; q++) d[q] = 0.0f;
        // Whole vectors and a scalar tail, not memcpy: a call per row of ~34 floats (with the
        // vector registers saved around it) cost a third of a 32 x 32 plane. The empty asm
        // hides the index from GCC, which otherwise turns the loops back into memcpy calls.
        float* dd = d + (lo - (c0 - R));
        const float* ss = t.x + row * W + lo;
        const int64_t len = hi - lo;
        int64_t k = 0;
        for (; k + simd::kLanes <= len; k += simd::kLanes) {
            simd::store(dd + k, simd::load(ss + k));
            __asm__("" : "+r"(k));
        }
        for (; k < len; k++) {
            dd[k] = ss[k];
            __asm__("" : "+r"(k));
        }
        if (hi < c1 + R)
            for (int q = 0; q < R; q++) d[n + R + q] = 0.0f;
    };
    // Ring: input row `row` lives in slot row % NB; a window spans at most NB rows, so the row
    // a copy overwrites (row - NB) is no longer needed.
    int64_t next = t.r0 - R;  // first input row not yet copied
    for (int64_t i = t.r0; i < t.r1;) {
        const int rows = direct ? kRowsDirect<K> : kRowsRing;
        const int step = t.r1 - i >= rows ? rows : 1;
        const float* row[NB];  // window rows: image rows, or NULL above and below the image
        for (int m = 0; m < step + K - 1; m++) {
            const int64_t r = i - R + m;
            row[m] = r >= 0 && r < H ? t.x + r * W : nullptr;
        }
        float* yr[NB];
        for (int r = 0; r < step; r++) yr[r] = t.y + (i + r) * W + c0;
        if (direct) {
            if (step == kRowsDirect<K>)
                frelu_direct<K, LIGHT, kRowsDirect<K>>(row, yr, c0, n, W, wv, biasv);
            else
                frelu_direct<K, LIGHT, 1>(row, yr, c0, n, W, wv, biasv);
        } else {
#if defined(__AVX512F__)
            if (step == kRowsRing)
                frelu_narrow<K, LIGHT, kRowsRing>(row, yr, c0, n, W, wv, biasv);
            else
                frelu_narrow<K, LIGHT, 1>(row, yr, c0, n, W, wv, biasv);
            i += step;
            continue;
#endif
            const float* rp[NB];
            for (int m = 0; m < step + K - 1; m++) {
                const int64_t r = i - R + m;
                if (!row[m]) {
                    rp[m] = kZeroRow;
                    continue;
                }
                float* slot = ring[r % NB];  // r >= 0 here
                if (r >= next) {
                    load(r, slot);
                    next = r + 1;
                }
                rp[m] = slot;
            }
            if (step == kRowsRing)
                frelu_rows<K, LIGHT, kRowsRing>(rp, yr, n, wv, biasv, w, bias);
            else
                frelu_rows<K, LIGHT, 1>(rp, yr, n, wv, biasv, w, bias);
        }
        i += step;
    }
}

}  // namespace

void frelu(const FreluTask& t) {
    const bool light = t.variant == SA_FRELU_LIGHT;
    switch (t.k) {
        case 1: light ? frelu_t<1, true>(t) : frelu_t<1, false>(t); break;
        case 3: light ? frelu_t<3, true>(t) : frelu_t<3, false>(t); break;
        case 5: light ? frelu_t<5, true>(t) : frelu_t<5, false>(t); break;
        case 7: light ? frelu_t<7, true>(t) : frelu_t<7, false>(t); break;
        default: break;  // rejected by check_frelu before any kernel runs
    }
}

}  // namespace SA_ISA_NS
}  // namespace sa
