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
    /* Every value computed unconditionally, then selected: compilers only turn selects (not
     * branches around a multiply, which could trap) into vector blends. */
    float prod = alpha * x;
    float neg = alpha == 0.0f ? (x != x ? x : 0.0f) : prod;
    return x > 0.0f ? x : neg;
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

/* ---- TD-LReLU / NTD-LReLU helpers (appended; see docs/TD-LReLU.md) ---- */
#include <math.h>

/* Soft TD gate: alpha + (1 - alpha) * sigmoid((1 - alpha) * f / eps), eps > 0.
 * A NaN f gives alpha, as the hard gate does (NaN > 0 is false): the gate, and so
 * v = 1 - 2u, stays finite, and a NaN in o cannot spread through the Gaussian. */
SA_HD float sa_td_gate_soft(float f, float alpha, float eps) {
    const float z = ((1.0f - alpha) * f) / eps;
    const float s = 1.0f / (1.0f + expf(-z));
    return f != f ? alpha : alpha + (1.0f - alpha) * s;
}

/* Either gate: hard when eps == 0. */
SA_HD float sa_td_gate(float f, float alpha, float eps) {
    return eps == 0.0f ? sa_td_gate_hard(f, alpha) : sa_td_gate_soft(f, alpha, eps);
}

/* TD output y = o * u. A fully closed gate (u == 0, only possible with alpha == 0) gives 0
 * for every non-NaN o, infinities included, as ReLU (sa_leaky) does; NaN stays NaN. With
 * u = sa_td_gate_hard(o, alpha) this is sa_leaky(o, alpha) bit for bit. */
SA_HD float sa_td_out(float o, float u) {
    const float prod = o * u;               /* computed unconditionally: loops vectorise */
    const float relu = o != o ? o : 0.0f;
    return u == 0.0f ? relu : prod;
}

/* 1-D Gaussian of TD-LReLU: g[k] = exp(-(k - r)^2 / (2 sigma^2)) / Z for k = 0 .. 2r, summed and
 * normalised in double so that the taps sum to 1 (to float rounding). Every backend takes its
 * taps from here, so CPU and CUDA convolve with the same floats. */
SA_HD void sa_td_gaussian(float sigma, int r, float* g) {
    double z = 0.0;
    const double s2 = 2.0 * (double)sigma * (double)sigma;
    for (int k = -r; k <= r; k++) z += exp(-(double)(k * k) / s2);
    for (int k = -r; k <= r; k++) g[k + r] = (float)(exp(-(double)(k * k) / s2) / z);
}

#endif /* SA_MATH_H */
