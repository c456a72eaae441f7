/*
 * Scalar math shared by the CPU and CUDA kernels (host and device). One definition of each
 * operator's pointwise formula, so both backends agree bit for bit on everything that is
 * not a summation order.
 */
#ifndef SA_MATH_H
#define SA_MATH_H

#include <stdint.h>

#if defined(__CUDACC__)
#define SA_HD __host__ __device__ __forceinline__
#else
#define SA_HD static inline
#endif

/* NaN propagating maximum, as torch.maximum: max(x, NaN) = max(NaN, x) = NaN.
 * Written as a select so that compilers vectorise it into a compare and a blend. */
SA_HD float sa_max_nan(float a, float b) {
    return (a > b || a != a) ? a : b;
}

/* LeakyReLU with slope alpha. alpha == 0 is ReLU, which maps -inf to 0 (as torch.relu);
 * for alpha > 0 the formula alpha * x is used everywhere, so -inf stays -inf. NaN stays NaN. */
SA_HD float sa_leaky(float x, float alpha) {
    return x > 0.0f ? x : (alpha == 0.0f ? (x != x ? x : 0.0f) : alpha * x);
}

SA_HD float sa_leaky_grad(float x, float alpha) {
    return x > 0.0f ? 1.0f : alpha;
}

/* Star's activation of a: identity, relu, relu6 or leaky relu; NaN propagates. */
SA_HD float sa_star_act(float a, int act, float alpha) {
    switch (act) {
    case 1: /* SA_ACT_RELU */
        return sa_leaky(a, 0.0f);
    case 2: { /* SA_ACT_RELU6 */
        float r = sa_leaky(a, 0.0f);
        return r > 6.0f ? 6.0f : r;
    }
    case 3: /* SA_ACT_LEAKY_RELU */
        return sa_leaky(a, alpha);
    default:
        return a;
    }
}

/* d act(a) / d a, the subgradient PyTorch uses (0 at the kinks' left side). */
SA_HD float sa_star_act_grad(float a, int act, float alpha) {
    switch (act) {
    case 1: return a > 0.0f ? 1.0f : 0.0f;
    case 2: return (a > 0.0f && a < 6.0f) ? 1.0f : 0.0f;
    case 3: return a > 0.0f ? 1.0f : alpha;
    default: return 1.0f;
    }
}

/* TD-LReLU gate: alpha + (1 - alpha) * H(f); hard (eps == 0) or sigmoid-smoothed. */
SA_HD float sa_td_gate_hard(float f, float alpha) {
    return f > 0.0f ? 1.0f : alpha;
}

#endif /* SA_MATH_H */
