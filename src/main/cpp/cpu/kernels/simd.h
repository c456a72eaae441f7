// A minimal vector type for the hand-vectorised CPU kernels, chosen by the instruction set the
// including translation unit is compiled for (the kernel files are compiled once per ISA):
// AVX-512 (16 lanes, FMA), AVX2 (8 lanes, FMA) or SSE2 (4 lanes; fmadd is a multiply and an
// add, as the compiler does for plain C++ there); on arm64 NEON (4 lanes, fused fmadd: the
// summation order and rounding of the x86 FMA builds, lane for lane). Only what the kernels need.
#ifndef SA_CPU_SIMD_H
#define SA_CPU_SIMD_H

#if defined(__aarch64__)
#include <arm_neon.h>
#else
#include <immintrin.h>
#endif

#include "isa.h"

namespace sa {
namespace SA_ISA_NS {
namespace simd {

#if defined(__AVX512F__)
constexpr int kLanes = 16;
struct V {
    __m512 v;
};
inline V load(const float* p) { return {_mm512_loadu_ps(p)}; }
inline void store(float* p, V a) { _mm512_storeu_ps(p, a.v); }
inline V set1(float f) { return {_mm512_set1_ps(f)}; }
inline V fmadd(V a, V b, V c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
inline V add(V a, V b) { return {_mm512_add_ps(a.v, b.v)}; }
// sa_max_nan(x, t) = (x > t || x is NaN) ? x : t, lane by lane, exactly (signed zeros too).
// vmaxps(x, t) is (x > t) ? x : t, which returns t when either is NaN, so it is exact wherever
// x is not NaN; NaN lanes of x keep x. Two instructions (a compare and a masked max) instead
// of two compares, a mask OR and a blend.
inline V max_nan(V x, V t) {
    return {_mm512_mask_max_ps(x.v, _mm512_cmp_ps_mask(x.v, x.v, _CMP_ORD_Q), x.v, t.v)};
}
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kLanes = 8;
struct V {
    __m256 v;
};
inline V load(const float* p) { return {_mm256_loadu_ps(p)}; }
inline void store(float* p, V a) { _mm256_storeu_ps(p, a.v); }
inline V set1(float f) { return {_mm256_set1_ps(f)}; }
inline V fmadd(V a, V b, V c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
inline V add(V a, V b) { return {_mm256_add_ps(a.v, b.v)}; }
inline V max_nan(V x, V t) {
    return {_mm256_blendv_ps(_mm256_max_ps(x.v, t.v), x.v, _mm256_cmp_ps(x.v, x.v, _CMP_UNORD_Q))};
}
#elif defined(__aarch64__)
constexpr int kLanes = 4;
struct V {
    float32x4_t v;
};
inline V load(const float* p) { return {vld1q_f32(p)}; }
inline void store(float* p, V a) { vst1q_f32(p, a.v); }
inline V set1(float f) { return {vdupq_n_f32(f)}; }
inline V fmadd(V a, V b, V c) { return {vfmaq_f32(c.v, a.v, b.v)}; }  // c + a * b, one rounding
inline V add(V a, V b) { return {vaddq_f32(a.v, b.v)}; }
// (x > t || x is NaN) ? x : t: x != x only for NaN, so "not (x == x)" selects the NaN lanes.
inline V max_nan(V x, V t) {
    const uint32x4_t keep = vorrq_u32(vcgtq_f32(x.v, t.v), vmvnq_u32(vceqq_f32(x.v, x.v)));
    return {vbslq_f32(keep, x.v, t.v)};
}
#else
constexpr int kLanes = 4;
struct V {
    __m128 v;
};
inline V load(const float* p) { return {_mm_loadu_ps(p)}; }
inline void store(float* p, V a) { _mm_storeu_ps(p, a.v); }
inline V set1(float f) { return {_mm_set1_ps(f)}; }
inline V fmadd(V a, V b, V c) { return {_mm_add_ps(_mm_mul_ps(a.v, b.v), c.v)}; }
inline V add(V a, V b) { return {_mm_add_ps(a.v, b.v)}; }
inline V max_nan(V x, V t) {
    const __m128 k = _mm_cmpunord_ps(x.v, x.v);
    return {_mm_or_ps(_mm_and_ps(k, x.v), _mm_andnot_ps(k, _mm_max_ps(x.v, t.v)))};
}
#endif

// A load kept in a register: the empty asm makes the value opaque, so the compiler cannot fold
// the load into each instruction that uses it (GCC does, turning one load per input vector
// into one per use: K times the load traffic of a stencil).
inline V load_reg(const float* p) {
    V a = load(p);
#if defined(__aarch64__)
    __asm__("" : "+w"(a.v));  // a NEON register
#else
    __asm__("" : "+x"(a.v));  // an SSE/AVX register
#endif
    return a;
}

}  // namespace simd
}  // namespace SA_ISA_NS
}  // namespace sa

#endif
