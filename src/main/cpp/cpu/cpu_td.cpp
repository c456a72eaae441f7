// CPU TD-LReLU and NTD-LReLU (docs/TD-LReLU.md has the formulation and the choices).
//
// TD-LReLU: every task owns one tile of one plane plus a halo of T*r pixels (or the whole
// plane when it is small) and runs all T iterations on it while it sits in L2: the halo is
// recomputed by neighbouring tiles instead of being exchanged, so a task reads o's tile once
// from memory and writes y's tile once. Per iteration and row: a vertical Gaussian pass over
// 2r+1 rows of v = 1 - 2u into one scratch row, a horizontal pass, f = o - lambda * G*v and
// the gate; the new gate rows wait in a ring of r+1 rows until no later row needs the old
// ones, so one v buffer suffices.
//
// NTD-LReLU: per sample, the nonlocal weights are built once by box filtering squared guide
// differences per search offset, normalised (and k-nearest truncated), stored row by row
// (row i holds the (2S+1)^2 weight rows of that image row), then reused by the T iterations
// of every channel. Iterations go over row blocks, all channels per block, so one block's
// weights stay in cache while the channels stream past them.
//
// The hot loops are compiled three times (x86-64 baseline, AVX2+FMA, AVX-512) through GCC's
// target attribute and picked from sa_cpu_isa(), so sa_cpu_set_isa() applies here too.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <new>
#include <type_traits>

#include "../common/sa_internal.h"
#include "../common/sa_math.h"
#include "spatialact/spatialact.h"
#include "threadpool.h"

// The loop functions are compiled with -fno-trapping-math: GCC then if-converts the gate's
// selects instead of leaving the loops scalar. It changes no result (NaN and Inf keep their
// IEEE behaviour; that would take -ffinite-math-only); only FP exception flags, which
// nothing here reads, may differ. The attribute must sit on the function that holds the loop
// (an always_inline helper keeps its own flags when inlined), hence on SA_INLINE as well, and
// the loops are never written inside lambdas (which cannot carry it).
#define SA_FP __attribute__((optimize("no-trapping-math")))
#define SA_INLINE inline __attribute__((always_inline, optimize("no-trapping-math")))
#if defined(__x86_64__) && defined(__GNUC__)
#define SA_TD_X86 1
#define SA_TARGET_AVX512 \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,prefer-vector-width=512"))) SA_FP
#define SA_TARGET_AVX2 __attribute__((target("avx2,fma"))) SA_FP
#else
#define SA_TD_X86 0
#endif

namespace sa {
namespace {

// ---------------------------------------------------------------------------------------
// Scratch memory: 64-byte aligned, never throws. Tasks keep one per thread and grow it;
// above kCacheCap floats a task uses a private buffer that is freed when the task ends.
struct Buf {
    float* p = nullptr;
    size_t n = 0;
    Buf() = default;
    Buf(const Buf&) = delete;
    Buf& operator=(const Buf&) = delete;
    ~Buf() { free(p); }
    bool reserve(size_t count) {
        if (count <= n) return true;
        free(p);
        p = nullptr;
        n = 0;
        if (count > (SIZE_MAX - 64) / sizeof(float)) return false;
        size_t bytes = (count * sizeof(float) + 63) & ~(size_t)63;
        p = static_cast<float*>(aligned_alloc(64, bytes));
        if (!p) return false;
        n = count;
        return true;
    }
};

constexpr size_t kCacheCap = size_t(4) << 20;  // floats (16 MiB) kept per thread

// Hands out scratch for one task: the thread's cached buffer, or a private one.
struct Scratch {
    Buf own;
    float* p = nullptr;
    bool get(size_t count) {
        static thread_local Buf cached;
        if (count <= kCacheCap) {
            if (!cached.reserve(count)) return false;
            p = cached.p;
        } else {
            if (!own.reserve(count)) return false;
            p = own.p;
        }
        return true;
    }
};

// Checked size arithmetic for workspaces: false on overflow.
bool mul_ok(size_t a, size_t b, size_t* out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Below this many elements a call runs on the calling thread.
constexpr int64_t kParallelMin = 1 << 15;

void run_tasks(int64_t ntasks, task_fn fn, void* ctx, bool parallel) {
    if (!parallel || ntasks <= 1) {
        for (int64_t t = 0; t < ntasks; t++) fn(ctx, t);
    } else {
        parallel_for(ntasks, fn, ctx);
    }
}

// ---------------------------------------------------------------------------------------
// exp(x) that GCC vectorises (libm's expf is a call, which keeps a loop scalar): Cody-Waite
// reduction and the Cephes polynomial, about 1 ulp on [-87, 88]. Below -87 it returns
// exp(-87) = 1.6e-38 (callers only add it to 1 or test the argument first), on (88, 88.72]
// exp(88), and above that +inf, as expf does, so that 1 / (1 + exp(-z)) is exactly 0 for
// z < -88.72 as with expf. NaN in gives an unspecified value: callers select around it.
SA_INLINE float vexp(float x) {
    const bool overflow = x > 88.7228394f;
    x = x != x ? 0.0f : x;  // NaN: any finite value (the caller selects around it)
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float q = 1.9875691500e-4f;
    q = q * r + 1.3981999507e-3f;
    q = q * r + 8.3334519073e-3f;
    q = q * r + 4.1665795894e-2f;
    q = q * r + 1.6666665459e-1f;
    q = q * r + 5.0000001201e-1f;
    q = q * r * r + r + 1.0f;
    const uint32_t e = (uint32_t)((int32_t)n + 127) << 23;  // n in [-126, 127]
    const float y = q * __builtin_bit_cast(float, e);
    return overflow ? __builtin_inff() : y;
}

// Gate parameters for the vector loops. v = 1 - 2u is what the Gaussian sees.
struct GateParams {
    float alpha, eps, vclosed;  // vclosed = 1 - 2 alpha: v of a closed hard gate
    float kz;                   // soft: (1 - alpha) / eps, capped at 1e30 (see make_gate)
};

GateParams make_gate(const sa_params* p) {
    GateParams g;
    g.alpha = p->alpha;
    g.eps = p->eps;
    g.vclosed = 1.0f - 2.0f * p->alpha;
    // z = f * kz instead of ((1 - alpha) f) / eps: a multiplication, not a division, per gate
    // (within an ulp of z). The cap keeps kz finite for eps below ~1e-30, where the sigmoid is
    // a step anyway; 0 * kz stays 0, so sigmoid(0) = 1/2 as in the formula.
    const double k = p->eps > 0.0f ? (1.0 - (double)p->alpha) / (double)p->eps : 0.0;
    g.kz = (float)(k < 1e30 ? k : 1e30);
    return g;
}

// The soft gate of sa_math.h (sa_td_gate_soft) with vexp in place of expf and z = f * kz: the
// same formula within an ulp or two, and vectorisable. NaN f gives alpha.
SA_INLINE float soft_gate_cpu(float f, const GateParams& gp) {
    const float sg = 1.0f / (1.0f + vexp(-(f * gp.kz)));
    return f != f ? gp.alpha : gp.alpha + (1.0f - gp.alpha) * sg;
}

template <bool SOFT>
SA_INLINE float v_of(float f, const GateParams& gp) {
    if (SOFT) return 1.0f - 2.0f * soft_gate_cpu(f, gp);
    return f > 0.0f ? -1.0f : gp.vclosed;
}

// y = sa_td_out(o, gate(f)), bit for bit, written so that GCC if-converts it under the
// default -ftrapping-math (nested FP selects on two variables keep a loop scalar).
SA_INLINE bool isnan_bits(float x) { return (__builtin_bit_cast(uint32_t, x) & 0x7fffffffu) > 0x7f800000u; }

// RELU (hard form only) is alpha == 0, chosen outside the loops.
template <bool SOFT, bool RELU>
SA_INLINE float y_of(float o, float f, const GateParams& gp) {
    if (SOFT) {
        const float u = soft_gate_cpu(f, gp);
        const float p = o * u;
        const uint32_t keep = (u == 0.0f && !isnan_bits(o)) ? 0u : 0xffffffffu;  // closed: 0 (NaN kept)
        return __builtin_bit_cast(float, __builtin_bit_cast(uint32_t, p) & keep);
    }
    if (RELU) {  // open: o; closed: +0, but NaN stays NaN (a NaN o always has a NaN f)
        const uint32_t keep = ((f > 0.0f) | isnan_bits(o)) ? 0xffffffffu : 0u;
        return __builtin_bit_cast(float, __builtin_bit_cast(uint32_t, o) & keep);
    }
    // o * u with u = 1 or alpha chosen on the bits: o * 1 = o exactly, o * alpha as LeakyReLU
    // computes it. (With a float select GCC turns o * u into "open ? o : alpha * o", a
    // branch around a multiplication that may trap, and leaves the loop scalar.)
    const uint32_t m = f > 0.0f ? 0xffffffffu : 0u;
    const uint32_t ub = (0x3f800000u & m) | (__builtin_bit_cast(uint32_t, gp.alpha) & ~m);
    return o * __builtin_bit_cast(float, ub);
}

// Calls body.template operator()<RELU>() with RELU = (hard form and alpha == 0).
template <bool SOFT, typename F>
SA_INLINE void with_relu(const GateParams& gp, F&& body) {
    if (!SOFT && gp.alpha == 0.0f)
        body(std::true_type());
    else
        body(std::false_type());
}

// ---------------------------------------------------------------------------------------
// TD-LReLU on one tile.
struct TdTile {
    const float* o;  // plane
    float* y;        // plane
    int64_t H, W;
    int64_t R0, R1, C0, C1;  // output rectangle
    int T, r;
    float lambda;
    GateParams gp;
    const float* g;  // 2r+1 taps
};

// Scratch floats a tile needs (see td_tile_body).
size_t td_tile_scratch(int64_t eh, int64_t ew, int r, size_t* ok) {
    const int64_t pv = round_up(ew + 2 * r, 16);
    // V: eh + 2r rows; tmp: 1; ring: r + 1; hs (runtime radius only): 1.
    size_t rows = (size_t)(eh + 2 * r) + 1 + (size_t)(r + 1) + 1, total = 0;
    *ok = mul_ok(rows, (size_t)pv, &total);
    return total;
}

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

// out = gate of f = o - lambda * s over [j0, j1): the new v, or y with FINAL.
template <bool SOFT, bool FINAL, bool RELU>
SA_INLINE void td_gate_loop(float* __restrict out, const float* __restrict s, const float* __restrict orow,
                            float lambda, const GateParams& gp, int64_t j0, int64_t j1) {
    const GateParams q = gp;
#pragma omp simd
    for (int64_t j = j0; j < j1; j++) {
        const float f = orow[j] - lambda * s[j];
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

template <bool SOFT>
SA_INLINE void td_init_row(float* __restrict v, const float* __restrict orow, int64_t n, const GateParams& gp) {
    const GateParams q = gp;
#pragma omp simd
    for (int64_t j = 0; j < n; j++) v[j] = v_of<SOFT>(orow[j], q);
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

// Rows per step of the wavefront: a level computes this many rows at a time, so the 2r+B
// rows of the level below that they read stay in L1 while each is read 2r+1 times.
constexpr int kWaveBlock = 16;

// Scratch floats of the wavefront (see td_wave_body).
size_t td_wave_scratch(int64_t ew, int T, int r, size_t* ok) {
    const int64_t pv = round_up(ew + 2 * r, 16);
    size_t rows = (size_t)T * (size_t)(2 * r + kWaveBlock) + 3, total = 0;
    *ok = mul_ok(rows, (size_t)pv, &total);
    return total;
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

typedef void (*TdTileFn)(const TdTile&, float*);

template <int R, bool SOFT, bool WAVE>
SA_FP void td_tile_base(const TdTile& a, float* ws) {
    if (WAVE)
        td_wave_body<R, SOFT>(a, ws);
    else
        td_tile_body<R, SOFT>(a, ws);
}
#if SA_TD_X86
template <int R, bool SOFT, bool WAVE>
SA_TARGET_AVX2 void td_tile_avx2(const TdTile& a, float* ws) {
    if (WAVE)
        td_wave_body<R, SOFT>(a, ws);
    else
        td_tile_body<R, SOFT>(a, ws);
}
template <int R, bool SOFT, bool WAVE>
SA_TARGET_AVX512 void td_tile_avx512(const TdTile& a, float* ws) {
    if (WAVE)
        td_wave_body<R, SOFT>(a, ws);
    else
        td_tile_body<R, SOFT>(a, ws);
}
#endif

template <int R, bool SOFT, bool WAVE>
TdTileFn td_pick_isa(int isa) {
#if SA_TD_X86
    if (isa == SA_ISA_AVX512) return td_tile_avx512<R, SOFT, WAVE>;
    if (isa == SA_ISA_AVX2) return td_tile_avx2<R, SOFT, WAVE>;
#endif
    (void)isa;
    return td_tile_base<R, SOFT, WAVE>;
}

template <bool SOFT, bool WAVE>
TdTileFn td_pick_r(int r, int isa) {
    switch (r) {
        case 1: return td_pick_isa<1, SOFT, WAVE>(isa);
        case 2: return td_pick_isa<2, SOFT, WAVE>(isa);
        case 3: return td_pick_isa<3, SOFT, WAVE>(isa);
        case 4: return td_pick_isa<4, SOFT, WAVE>(isa);
        case 5: return td_pick_isa<5, SOFT, WAVE>(isa);
        case 6: return td_pick_isa<6, SOFT, WAVE>(isa);
        case 7: return td_pick_isa<7, SOFT, WAVE>(isa);
        case 8: return td_pick_isa<8, SOFT, WAVE>(isa);
        default: return td_pick_isa<0, SOFT, WAVE>(isa);
    }
}

TdTileFn td_pick(bool soft, bool wave, int r, int isa) {
    if (soft) return wave ? td_pick_r<true, true>(r, isa) : td_pick_r<true, false>(r, isa);
    return wave ? td_pick_r<false, true>(r, isa) : td_pick_r<false, false>(r, isa);
}

struct TdJob {
    const float* o;
    float* y;
    int64_t H, W;
    int64_t TH, TW, row_tiles, col_tiles;
    int T, r;
    float lambda;
    GateParams gp;
    float g[2 * SA_TD_MAX_RADIUS + 1];
    bool wave;  // wavefront (td_wave_body) or whole-tile buffer (td_tile_body)
    TdTileFn fn;
    std::atomic<bool> oom{false};
};

void td_task(void* ctx, int64_t t) {
    TdJob& j = *static_cast<TdJob*>(ctx);
    if (j.oom.load(std::memory_order_relaxed)) return;
    const int64_t per_plane = j.row_tiles * j.col_tiles;
    const int64_t plane = t / per_plane, rest = t % per_plane;
    const int64_t rt = rest / j.col_tiles, ct = rest % j.col_tiles;
    TdTile a;
    a.o = j.o + plane * j.H * j.W;
    a.y = j.y + plane * j.H * j.W;
    a.H = j.H;
    a.W = j.W;
    a.R0 = rt * j.TH;
    a.R1 = std::min(j.H, a.R0 + j.TH);
    a.C0 = ct * j.TW;
    a.C1 = std::min(j.W, a.C0 + j.TW);
    a.T = j.T;
    a.r = j.r;
    a.lambda = j.lambda;
    a.gp = j.gp;
    a.g = j.g;
    const int64_t halo = (int64_t)j.T * j.r;
    const int64_t eh = std::min(j.H, a.R1 + halo) - std::max<int64_t>(0, a.R0 - halo);
    const int64_t ew = std::min(j.W, a.C1 + halo) - std::max<int64_t>(0, a.C0 - halo);
    size_t ok;
    size_t need = j.wave ? td_wave_scratch(ew, j.T, j.r, &ok) : td_tile_scratch(eh, ew, j.r, &ok);
    Scratch s;
    if (!ok || !s.get(need)) {
        j.oom = true;
        return;
    }
    j.fn(a, s.p);
}

// Wavefront when its rings (T * (2r+B) rows) fit in about half of a core's L2, over whole
// planes or, for wide planes, column tiles at least as wide as the halo. Otherwise (many
// iterations times a large radius) a whole-tile v buffer: whole planes while that fits in
// about a third of L2, else tiles whose halo costs at most about 2x. Then enough row
// blocks (each with its own halo) that every thread has work.
void td_plan(TdJob& j, int64_t planes, int threads) {
    const int64_t H = j.H, W = j.W;
    const int64_t halo = (int64_t)j.T * j.r;
    const int64_t wave_budget = 256 * 1024;  // floats of the rings, ~1 MiB
    const int64_t levels = (int64_t)j.T * (2 * j.r + kWaveBlock) + 3;
    const int64_t budget = 160 * 1024;  // floats of the whole-tile v buffer, ~640 KiB
    int64_t TH = H, TW = W;
    j.wave = false;
    if (levels * (W + 2 * j.r + 16) <= wave_budget) {
        j.wave = true;
    } else {
        const int64_t tw = wave_budget / levels - 2 * halo - 2 * j.r - 16;
        if (tw >= std::max<int64_t>(64, halo)) {
            j.wave = true;
            TW = std::min(W, tw / 16 * 16);
        }
    }
    if (!j.wave && H * W > budget) {
        TW = W <= 1024 ? W : std::min<int64_t>(W, std::max<int64_t>(256, round_up(2 * halo, 64)));
        const int64_t ew = std::min<int64_t>(W, TW + 2 * halo);
        TH = std::max<int64_t>(budget / ew - 2 * halo, std::max<int64_t>(16, halo));
        TH = std::min(TH, H);
    }
    int64_t tiles = planes * ((H + TH - 1) / TH) * ((W + TW - 1) / TW);
    const int64_t want = 2 * (int64_t)threads;
    if (threads > 1 && tiles < want) {
        const int64_t min_rows = std::max<int64_t>(8, halo);
        const int64_t col_tiles = (W + TW - 1) / TW;
        const int64_t blocks = (want + planes * col_tiles - 1) / (planes * col_tiles);
        TH = std::min(TH, std::max(min_rows, (H + blocks - 1) / blocks));
    }
    j.TH = std::max<int64_t>(1, TH);
    j.TW = std::max<int64_t>(1, TW);
    j.row_tiles = (H + j.TH - 1) / j.TH;
    j.col_tiles = (W + j.TW - 1) / j.TW;
}

// ---------------------------------------------------------------------------------------
// The pointwise case: T == 0 or lambda == 0. Hard: LeakyReLU itself. Soft: o * gate(o).
struct PointJob {
    const float* o;
    float* y;
    int64_t n;
    GateParams gp;
};
constexpr int64_t kPointChunk = 1 << 15;

SA_FP void soft_point_task(void* ctx, int64_t t) {
    const PointJob& j = *static_cast<const PointJob*>(ctx);
    const int64_t b = t * kPointChunk, e = std::min(j.n, b + kPointChunk);
    const GateParams gp = j.gp;
#pragma omp simd
    for (int64_t i = b; i < e; i++) j.y[i] = y_of<true, false>(j.o[i], j.o[i], gp);
}

int td_pointwise(const char* fn, const float* o, float* y, sa_shape shape, int64_t n, const sa_params* p) {
    if (p->eps == 0.0f) {
        sa_params q = *p;
        q.alpha_per_channel = nullptr;
        (void)fn;
        return sa_cpu_leaky_relu_forward(o, y, shape, &q);
    }
    PointJob j{o, y, n, make_gate(p)};
    run_tasks((n + kPointChunk - 1) / kPointChunk, soft_point_task, &j, n >= kParallelMin);
    return SA_OK;
}

// ---------------------------------------------------------------------------------------
// NTD-LReLU.
struct NtdJob {
    // inputs
    const float* o;
    const float* guide;  // user guide or nullptr
    float* y;
    int64_t N, C, H, W, Cg;
    int S, P, T, knn;
    float h, lambda;
    GateParams gp;
    int isa;
    // per-sample state
    int64_t n;
    int t;
    // workspace
    float* gpad;  // Cg x Hg x Wg, clamp-to-edge padded guide (pad P+S)
    int64_t Hg, Wg;
    float* wt;    // H x K x W normalised weights
    float* va;    // C x Hv x pv padded v (ring of S zeros)
    float* vb;
    int64_t Hv, pvv;
    int64_t rows_per_task;
    std::atomic<bool> oom{false};
};

constexpr int ntd_K(int S) { return (2 * S + 1) * (2 * S + 1); }

// Guide rows (interior) of the padded guide: copy or channel mean, then clamp the columns.
void ntd_guide_task(void* ctx, int64_t task) {
    NtdJob& j = *static_cast<NtdJob*>(ctx);
    const int64_t H = j.H, W = j.W, pad = j.P + j.S;
    const int64_t i = task % H, c = task / H;  // c < Cg
    float* dst = j.gpad + (c * j.Hg + i + pad) * j.Wg;
    float* d = dst + pad;
    if (j.guide) {
        memcpy(d, j.guide + ((j.n * j.Cg + c) * H + i) * W, sizeof(float) * (size_t)W);
    } else {
        const float* src = j.o + (j.n * j.C * H + i) * W;
        memcpy(d, src, sizeof(float) * (size_t)W);
        for (int64_t ch = 1; ch < j.C; ch++) {
            const float* s = src + ch * H * W;
#pragma omp simd
            for (int64_t x = 0; x < W; x++) d[x] += s[x];
        }
        const float inv = (float)(1.0 / (double)j.C);
        if (j.C > 1) {
#pragma omp simd
            for (int64_t x = 0; x < W; x++) d[x] *= inv;
        }
    }
    for (int64_t b = 0; b < pad; b++) {
        dst[b] = d[0];
        d[W + b] = d[W - 1];
    }
}

// Weights of rows [i0, i1): per search offset, squared guide differences over the patch-
// extended rows, a horizontal box sum, a vertical box sum, exp. Scratch: (rows + 2P) x
// (W + 2P) for the squared differences and (rows + 2P) x W for the horizontal sums.
constexpr int64_t kNtdWeightRows = 8;

SA_FP void ntd_weights_rows(NtdJob& j, int64_t i0, int64_t i1, float* E, float* Hs) {
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

void ntd_weights_task(void* ctx, int64_t task) {
    NtdJob& j = *static_cast<NtdJob*>(ctx);
    if (j.oom.load(std::memory_order_relaxed)) return;
    const int64_t i0 = task * kNtdWeightRows, i1 = std::min(j.H, i0 + kNtdWeightRows);
    const int64_t We = j.W + 2 * j.P, re = (i1 - i0) + 2 * j.P;
    Scratch s;
    size_t a, b;
    if (!mul_ok((size_t)re, (size_t)We, &a) || !mul_ok((size_t)re, (size_t)j.W, &b) || !s.get(a + b)) {
        j.oom = true;
        return;
    }
    ntd_weights_rows(j, i0, i1, s.p, s.p + a);
}

// k-nearest truncation and normalisation of one image row.
SA_FP void ntd_normalise_task(void* ctx, int64_t i) {
    NtdJob& j = *static_cast<NtdJob*>(ctx);
    const int64_t W = j.W;
    const int K = ntd_K(j.S), self = K / 2;
    float* base = j.wt + i * K * W;
    const bool knn = j.knn > 0 && j.knn < K;
    Scratch s;
    if (!s.get((size_t)W * (knn ? (size_t)K + 1 : 1))) {
        j.oom = true;
        return;
    }
    float* sum = s.p;
    if (knn) {
        // Rank of candidate k at x: how many other candidates beat it, a candidate k2 beating
        // k when w[k2] > w[k], or w[k2] == w[k] and k2 < k (lower raster index: y = x +
        // offset(k), and k runs in raster order of the offsets). Keep the knn-1 best; x itself
        // (k = self, weight 1) is always kept and not ranked. Ranks first, then zeroing.
        const float need = (float)(j.knn - 1);
        float* rank = s.p + W;  // K x W, float counts (exact up to 2^24)
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

// v^0 of one (channel, row) of the current sample, and the zero ring of both v buffers.
SA_FP void ntd_init_task(void* ctx, int64_t task) {
    NtdJob& j = *static_cast<NtdJob*>(ctx);
    const int64_t H = j.H, W = j.W, S = j.S;
    const int64_t c = task / j.Hv, pi = task % j.Hv;  // padded row
    float* ra = j.va + (c * j.Hv + pi) * j.pvv;
    float* rb = j.vb + (c * j.Hv + pi) * j.pvv;
    if (pi < S || pi >= S + H) {
        memset(ra, 0, sizeof(float) * (size_t)j.pvv);
        memset(rb, 0, sizeof(float) * (size_t)j.pvv);
        return;
    }
    const float* orow = j.o + ((j.n * j.C + c) * H + (pi - S)) * W;
    memset(ra, 0, sizeof(float) * (size_t)S);
    memset(rb, 0, sizeof(float) * (size_t)S);
    memset(ra + S + W, 0, sizeof(float) * (size_t)(j.pvv - S - W));
    memset(rb + S + W, 0, sizeof(float) * (size_t)(j.pvv - S - W));
    if (j.gp.eps > 0.0f)
        td_init_row<true>(ra + S, orow, W, j.gp);
    else
        td_init_row<false>(ra + S, orow, W, j.gp);
}

// One iteration over a block of rows, every channel: acc = W v, f = o - lambda acc.
template <int S, bool SOFT>
SA_INLINE void ntd_iter_body(NtdJob& j, int64_t i0, int64_t i1, float* acc) {
    constexpr int D = 2 * S + 1;
    constexpr int K = D * D;
    const int64_t H = j.H, W = j.W, pvv = j.pvv;
    const bool final_it = j.t == j.T;
    const float lambda = j.lambda;
    const GateParams gp = j.gp;
    // Rows outer, channels inner: the row's K weight rows stay in L1/L2 while every channel
    // uses them; the 2S+1 v rows of each channel around row i stay in L2 from the row before.
    for (int64_t i = i0; i < i1; i++) {
        const float* wrow = j.wt + i * K * W;
        for (int64_t c = 0; c < j.C; c++) {
            const float* vsrc = j.va + c * j.Hv * pvv;
            float* vdst = j.vb + c * j.Hv * pvv;
            const float* vc = vsrc + (i + S) * pvv + S;  // centre: v(i, 0)
            for (int dy = 0; dy < D; dy++) {
                const float* vr = vc + (int64_t)(dy - S) * pvv - S;  // v(i + dy - S, x - S)
                const float* w0 = wrow + (int64_t)dy * D * W;
                const bool first = dy == 0;
#pragma omp simd
                for (int64_t x = 0; x < W; x++) {
                    float s = first ? 0.0f : acc[x];
#pragma GCC unroll 15
                    for (int dx = 0; dx < D; dx++) s += w0[dx * W + x] * vr[x + dx];
                    acc[x] = s;
                }
            }
            const float* orow = j.o + ((j.n * j.C + c) * H + i) * W;
            if (final_it) {
                float* yrow = j.y + ((j.n * j.C + c) * H + i) * W;
                with_relu<SOFT>(gp, [&](auto relu) {
                    td_gate_loop<SOFT, true, decltype(relu)::value>(yrow, acc, orow, lambda, gp, 0, W);
                });
            } else {
                float* vd = vdst + (i + S) * pvv + S;
#pragma omp simd
                for (int64_t x = 0; x < W; x++) {
                    const float f = orow[x] - lambda * acc[x];
                    vd[x] = v_of<SOFT>(f, gp);
                }
            }
        }
    }
}

typedef void (*NtdIterFn)(NtdJob&, int64_t, int64_t, float*);

template <int S, bool SOFT>
SA_FP void ntd_iter_base(NtdJob& j, int64_t i0, int64_t i1, float* acc) {
    ntd_iter_body<S, SOFT>(j, i0, i1, acc);
}
#if SA_TD_X86
template <int S, bool SOFT>
SA_TARGET_AVX2 void ntd_iter_avx2(NtdJob& j, int64_t i0, int64_t i1, float* acc) {
    ntd_iter_body<S, SOFT>(j, i0, i1, acc);
}
template <int S, bool SOFT>
SA_TARGET_AVX512 void ntd_iter_avx512(NtdJob& j, int64_t i0, int64_t i1, float* acc) {
    ntd_iter_body<S, SOFT>(j, i0, i1, acc);
}
#endif

template <int S, bool SOFT>
NtdIterFn ntd_pick_isa(int isa) {
#if SA_TD_X86
    if (isa == SA_ISA_AVX512) return ntd_iter_avx512<S, SOFT>;
    if (isa == SA_ISA_AVX2) return ntd_iter_avx2<S, SOFT>;
#endif
    (void)isa;
    return ntd_iter_base<S, SOFT>;
}

template <bool SOFT>
NtdIterFn ntd_pick(int S, int isa) {
    switch (S) {
        case 0: return ntd_pick_isa<0, SOFT>(isa);
        case 1: return ntd_pick_isa<1, SOFT>(isa);
        case 2: return ntd_pick_isa<2, SOFT>(isa);
        case 3: return ntd_pick_isa<3, SOFT>(isa);
        case 4: return ntd_pick_isa<4, SOFT>(isa);
        case 5: return ntd_pick_isa<5, SOFT>(isa);
        case 6: return ntd_pick_isa<6, SOFT>(isa);
        default: return ntd_pick_isa<7, SOFT>(isa);
    }
}
static_assert(SA_NTD_MAX_SEARCH == 7, "ntd_pick covers S = 0 .. 7");

struct NtdIterCtx {
    NtdJob* j;
    NtdIterFn fn;
};

void ntd_iter_task(void* ctx, int64_t task) {
    NtdIterCtx& c = *static_cast<NtdIterCtx*>(ctx);
    NtdJob& j = *c.j;
    if (j.oom.load(std::memory_order_relaxed)) return;
    Scratch s;
    if (!s.get((size_t)j.W)) {
        j.oom = true;
        return;
    }
    const int64_t i0 = task * j.rows_per_task, i1 = std::min(j.H, i0 + j.rows_per_task);
    c.fn(j, i0, i1, s.p);
}

}  // namespace
}  // namespace sa

using namespace sa;

extern "C" {

int sa_cpu_td_lrelu_forward(const float* o, float* y, sa_shape shape, const sa_params* p) {
    const char* fn = "sa_cpu_td_lrelu_forward";
    int64_t n;
    int rc = check_td(fn, o, y, shape, p, &n);
    if (rc) return rc;
    const int r = td_radius(p);
    if (p->iterations == 0 || p->lambda == 0.0f) return td_pointwise(fn, o, y, shape, n, p);

    TdJob j;
    j.o = o;
    j.y = y;
    j.H = shape.h;
    j.W = shape.w;
    j.T = p->iterations;
    j.r = r;
    j.lambda = p->lambda;
    j.gp = make_gate(p);
    sa_td_gaussian(p->sigma, r, j.g);
    const bool soft = p->eps > 0.0f;
    const int threads = n < kParallelMin ? 1 : pool_threads();
    const int64_t planes = shape.n * shape.c;
    td_plan(j, planes, threads);
    j.fn = td_pick(soft, j.wave, r, sa_cpu_isa());
    const int64_t tasks = planes * j.row_tiles * j.col_tiles;
    run_tasks(tasks, td_task, &j, threads > 1);
    if (j.oom) return fail(SA_ERR_OUT_OF_MEMORY, "%s: could not allocate the tile workspace", fn);
    return SA_OK;
}

int sa_cpu_td_lrelu_backward(const float*, const float*, float*, sa_shape, const sa_params*) {
    return fail(SA_ERR_NOT_IMPLEMENTED, "sa_cpu_td_lrelu_backward: gradients are not implemented yet");
}

int sa_cpu_ntd_lrelu_forward(const float* o, const float* guide, float* y, sa_shape shape, const sa_params* p) {
    const char* fn = "sa_cpu_ntd_lrelu_forward";
    int64_t n;
    int rc = check_ntd(fn, o, guide, y, shape, p, &n);
    if (rc) return rc;
    if (p->iterations == 0 || p->lambda == 0.0f) return td_pointwise(fn, o, y, shape, n, p);

    NtdJob j;
    j.o = o;
    j.guide = p->guide_channels > 0 ? guide : nullptr;
    j.y = y;
    j.N = shape.n;
    j.C = shape.c;
    j.H = shape.h;
    j.W = shape.w;
    j.Cg = p->guide_channels > 0 ? p->guide_channels : 1;
    j.S = p->search;
    j.P = p->patch;
    j.T = p->iterations;
    j.knn = p->knn;
    j.h = p->h;
    j.lambda = p->lambda;
    j.gp = make_gate(p);
    j.isa = sa_cpu_isa();
    const int K = ntd_K(j.S);
    const int64_t pad = j.P + j.S;
    j.Hg = j.H + 2 * pad;
    j.Wg = j.W + 2 * pad;
    j.Hv = j.H + 2 * j.S;
    j.pvv = round_up(j.W + 2 * j.S, 16);

    // Workspace: padded guide, weights, two padded v buffers (one sample at a time).
    size_t sg, sw, sv, tot;
    bool ok = mul_ok((size_t)j.Cg, (size_t)j.Hg, &sg) && mul_ok(sg, (size_t)j.Wg, &sg) &&
              mul_ok((size_t)K, (size_t)j.H, &sw) && mul_ok(sw, (size_t)j.W, &sw) &&
              mul_ok((size_t)j.C, (size_t)j.Hv, &sv) && mul_ok(sv, (size_t)j.pvv, &sv);
    sg = round_up((int64_t)sg, 16);
    sw = round_up((int64_t)sw, 16);
    tot = sg + sw;
    ok = ok && sv <= (SIZE_MAX - tot) / 2;
    tot += 2 * sv;
    Buf ws;
    if (!ok || !ws.reserve(tot))
        return fail(SA_ERR_OUT_OF_MEMORY, "%s: could not allocate the %zu-float workspace (weights of %d offsets)", fn,
                    ok ? tot : (size_t)0, K);
    j.gpad = ws.p;
    j.wt = j.gpad + sg;
    j.va = j.wt + sw;
    j.vb = j.va + sv;

    const bool par = n >= kParallelMin && pool_threads() > 1;
    const bool soft = p->eps > 0.0f;
    NtdIterCtx ic{&j, soft ? ntd_pick<true>(j.S, j.isa) : ntd_pick<false>(j.S, j.isa)};
    const int64_t threads = pool_threads();
    // Row blocks small enough that one block's weights stay in L2, and enough of them.
    j.rows_per_task = std::max<int64_t>(1, std::min<int64_t>(4, j.H / std::max<int64_t>(1, 4 * threads)));
    const int64_t iter_tasks = (j.H + j.rows_per_task - 1) / j.rows_per_task;

    for (int64_t s = 0; s < j.N; s++) {
        j.n = s;
        run_tasks(j.Cg * j.H, ntd_guide_task, &j, par);
        for (int64_t c = 0; c < j.Cg; c++) {  // clamp the rows of the padded guide
            float* g = j.gpad + c * j.Hg * j.Wg;
            for (int64_t a = 0; a < pad; a++) {
                memcpy(g + a * j.Wg, g + pad * j.Wg, sizeof(float) * (size_t)j.Wg);
                memcpy(g + (pad + j.H + a) * j.Wg, g + (pad + j.H - 1) * j.Wg, sizeof(float) * (size_t)j.Wg);
            }
        }
        run_tasks((j.H + kNtdWeightRows - 1) / kNtdWeightRows, ntd_weights_task, &j, par);
        run_tasks(j.H, ntd_normalise_task, &j, par);
        run_tasks(j.C * j.Hv, ntd_init_task, &j, par);
        if (j.oom) break;
        for (int t = 1; t <= j.T && !j.oom; t++) {
            j.t = t;
            run_tasks(iter_tasks, ntd_iter_task, &ic, par);
            std::swap(j.va, j.vb);
        }
        if (j.oom) break;
    }
    if (j.oom) return fail(SA_ERR_OUT_OF_MEMORY, "%s: could not allocate scratch rows", fn);
    return SA_OK;
}

int sa_cpu_ntd_lrelu_backward(const float*, const float*, const float*, float*, sa_shape, const sa_params*) {
    return fail(SA_ERR_NOT_IMPLEMENTED, "sa_cpu_ntd_lrelu_backward: gradients are not implemented yet");
}

}  // extern "C"
