// CPU kernels, written once and compiled per instruction set (see kernels.h and the CMake
// target list). Loops are plain C++ that GCC vectorises; `omp simd` (with -fopenmp-simd,
// no OpenMP runtime) tells it the rows do not alias. No -ffast-math: NaN must propagate.
#include "kernels.h"

#include <string.h>

#include "../common/sa_math.h"
#include "spatialact/spatialact.h"

#ifndef SA_ISA_NAME
#error "SA_ISA_NAME must be defined (baseline, avx2, avx512)"
#endif

#define SA_CAT2(a, b) a##b
#define SA_CAT(a, b) SA_CAT2(a, b)
#define SA_TABLE SA_CAT(kernels_, SA_ISA_NAME)
#define SA_STR2(a) #a
#define SA_STR(a) SA_STR2(a)

namespace sa {
namespace {

void leaky(const float* x, float* y, int64_t n, float alpha) {
    // y may equal x (in place); each element is read before it is written.
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = sa_leaky(x[i], alpha);
}

void leaky_backward(const float* x, const float* dy, float* dx, int64_t n, float alpha) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * sa_leaky_grad(x[i], alpha);
}

template <int ACT>
void star_t(const float* a, const float* b, float* y, int64_t n, float alpha) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = sa_star_act(a[i], ACT, alpha) * b[i];
}

void star(const float* a, const float* b, float* y, int64_t n, int act, float alpha) {
    switch (act) {
        case SA_ACT_RELU: star_t<SA_ACT_RELU>(a, b, y, n, alpha); break;
        case SA_ACT_RELU6: star_t<SA_ACT_RELU6>(a, b, y, n, alpha); break;
        case SA_ACT_LEAKY_RELU: star_t<SA_ACT_LEAKY_RELU>(a, b, y, n, alpha); break;
        default: star_t<SA_ACT_IDENTITY>(a, b, y, n, alpha); break;
    }
}

// FReLU over one tile of one plane, in one pass. The K input rows a output row needs sit in a
// ring of zero-padded scratch rows: every input row is copied in once (from memory, into L1),
// the zero halo implements the padding, and the inner loop over columns has no branches.
template <int K, bool LIGHT>
void frelu_t(const FreluTask& t, float* scratch) {
    constexpr int R = K / 2;
    const int64_t W = t.w, H = t.h;
    const int64_t c0 = t.c0, c1 = t.c1, cw = c1 - c0;
    const int64_t stride = kScratchStride;
    // Scratch row s holds input columns [c0 - R, c1 + R) of some row, zero outside the image.
    auto slot = [&](int64_t q) { return scratch + ((q - (t.r0 - R)) % K) * stride; };
    auto load = [&](int64_t q) {
        float* d = slot(q);
        if (q < 0 || q >= H) {
            memset(d, 0, sizeof(float) * (size_t)(cw + 2 * R));
            return;
        }
        const float* src = t.x + q * W;
        for (int64_t j = c0 - R; j < c0; j++) d[j - (c0 - R)] = j >= 0 ? src[j] : 0.0f;
        memcpy(d + R, src + c0, sizeof(float) * (size_t)cw);
        for (int64_t j = c1; j < c1 + R; j++) d[j - (c0 - R)] = j < W ? src[j] : 0.0f;
    };
    float w[LIGHT ? 2 * K : K * K];
    for (int i = 0; i < (LIGHT ? 2 * K : K * K); i++) w[i] = t.weight[i];
    const float bias = t.bias;

    for (int64_t q = t.r0 - R; q < t.r0 + R; q++) load(q);
    for (int64_t i = t.r0; i < t.r1; i++) {
        load(i + R);
        const float* rows[K];
        for (int a = 0; a < K; a++) rows[a] = slot(i - R + a);
        const float* __restrict xc = rows[R] + R;  // this row's own input, columns c0..c1
        float* __restrict yr = t.y + i * W + c0;
        if (!LIGHT) {
#pragma omp simd
            for (int64_t j = 0; j < cw; j++) {
                float acc = 0.0f;
                // Fully unrolled (GCC stops unrolling at 7x7 on its own, and then does not
                // vectorise over j): K*K FMAs per column, the weights in registers.
#pragma GCC unroll 7
                for (int a = 0; a < K; a++)
#pragma GCC unroll 7
                    for (int b = 0; b < K; b++) acc += w[a * K + b] * rows[a][j + b];
                yr[j] = sa_max_nan(xc[j], acc + bias);
            }
        } else {
#pragma omp simd
            for (int64_t j = 0; j < cw; j++) {
                float hs = 0.0f, vs = 0.0f;
#pragma GCC unroll 7
                for (int b = 0; b < K; b++) hs += w[b] * rows[R][j + b];
#pragma GCC unroll 7
                for (int a = 0; a < K; a++) vs += w[K + a] * rows[a][j + R];
                yr[j] = sa_max_nan(xc[j], hs + vs + bias);
            }
        }
    }
}

void frelu(const FreluTask& t, float* scratch) {
    const bool light = t.variant == SA_FRELU_LIGHT;
    switch (t.k) {
        case 1: light ? frelu_t<1, true>(t, scratch) : frelu_t<1, false>(t, scratch); break;
        case 3: light ? frelu_t<3, true>(t, scratch) : frelu_t<3, false>(t, scratch); break;
        case 5: light ? frelu_t<5, true>(t, scratch) : frelu_t<5, false>(t, scratch); break;
        case 7: light ? frelu_t<7, true>(t, scratch) : frelu_t<7, false>(t, scratch); break;
        default: break;  // rejected by check_frelu before any kernel runs
    }
}

}  // namespace

extern const KernelTable SA_TABLE;
const KernelTable SA_TABLE = {SA_STR(SA_ISA_NAME), leaky, leaky_backward, star, frelu};

}  // namespace sa
