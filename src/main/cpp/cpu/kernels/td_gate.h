// Gate helpers of the TD-LReLU and NTD-LReLU CPU kernels (td_lrelu_isa.cpp, ntd_lrelu_isa.cpp),
// for the ISA of the including file: a vectorisable exp, the gates, and the row loops that
// turn f = o - lambda * s into the new v or into y.
//
// They are always_inline (SA_INLINE) and their loops are never written inside lambdas, so that
// every loop is compiled inside the kernel that runs it, with the kernel files' flags: under
// -fno-trapping-math (isa.h) GCC if-converts the gate's selects instead of leaving the loops
// scalar.
#ifndef SA_CPU_KERNELS_TD_GATE_H
#define SA_CPU_KERNELS_TD_GATE_H

#include <stdint.h>

#include <type_traits>

#include "isa.h"

#define SA_INLINE inline __attribute__((always_inline))

namespace sa {
namespace SA_ISA_NS {
namespace {

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

template <bool SOFT>
SA_INLINE void td_init_row(float* __restrict v, const float* __restrict orow, int64_t n, const GateParams& gp) {
    const GateParams q = gp;
#pragma omp simd
    for (int64_t j = 0; j < n; j++) v[j] = v_of<SOFT>(orow[j], q);
}

}  // namespace
}  // namespace SA_ISA_NS
}  // namespace sa

#endif
