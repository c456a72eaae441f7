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

// A row of zeros standing in for the input rows above and below the image (zero padding).
alignas(64) const float kZeroRow[kColTile + 2 * (SA_FRELU_MAX_K / 2) + 16] = {};

// Columns of the fixed-width blocks (edges and the last, overlapping block of a row): one
// AVX-512 vector, two AVX2 ones, four SSE ones.
constexpr int64_t kBlock = 16;

// Outputs [0, n) of one row: rp[a][q + b] is the input of row a of the window and column
// q + b - R relative to the first output; xc the row's own input, yc its output. FIXED: n is
// kBlock, so the loop compiles to straight vector code without an epilogue. Summation order:
// acc = 0, a-major then b-minor, then + bias (the CUDA kernel uses the same order).
template <int K, bool LIGHT, bool FIXED>
inline void frelu_cols(const float* const* rp, const float* __restrict xc, float* __restrict yc, int64_t n,
                       const float* w, float bias) {
    constexpr int R = K / 2;
    const int64_t cnt = FIXED ? kBlock : n;
    if (!LIGHT) {
#pragma omp simd
        for (int64_t q = 0; q < cnt; q++) {
            float acc = 0.0f;
            // Fully unrolled (GCC stops unrolling at 7x7 on its own, and then does not
            // vectorise over columns): K*K FMAs per column, the weights in registers.
#pragma GCC unroll 7
            for (int a = 0; a < K; a++)
#pragma GCC unroll 7
                for (int b = 0; b < K; b++) acc += w[a * K + b] * rp[a][q + b];
            yc[q] = sa_max_nan(xc[q], acc + bias);
        }
    } else {
#pragma omp simd
        for (int64_t q = 0; q < cnt; q++) {
            float hs = 0.0f, vs = 0.0f;
#pragma GCC unroll 7
            for (int b = 0; b < K; b++) hs += w[b] * rp[R][q + b];
#pragma GCC unroll 7
            for (int a = 0; a < K; a++) vs += w[K + a] * rp[a][q + R];
            yc[q] = sa_max_nan(xc[q], hs + vs + bias);
        }
    }
}

// FReLU over one tile of one plane, in one pass: each output row reads its K input rows
// straight from the input (they stay in L1/L2 while the rows below are processed), so x is read
// from memory once and y written once; no copies of the interior. Rows outside the image point
// at kZeroRow. The interior columns (window inside the image) run as one vector loop plus one
// fixed block that overlaps its end; the R columns at each image edge run as one fixed block
// over a small zero-padded copy of the K rows' first (last) columns. Blocks that overlap
// recompute identical values. Tiles narrower than a block plus the halo take a scalar path.
template <int K, bool LIGHT>
void frelu_t(const FreluTask& t) {
    constexpr int R = K / 2;
    constexpr int64_t PADW = kBlock + 2 * R;
    const int64_t W = t.w, H = t.h, c0 = t.c0, c1 = t.c1;
    float w[LIGHT ? 2 * K : K * K];
    for (int i = 0; i < (LIGHT ? 2 * K : K * K); i++) w[i] = t.weight[i];
    const float bias = t.bias;
    const int64_t j0 = c0 > R ? c0 : R;               // interior columns of this tile
    const int64_t j1 = c1 < W - R ? c1 : W - R;
    const bool fast = c1 - c0 >= PADW && j1 - j0 >= kBlock;
    alignas(64) float pad[K][PADW];

    for (int64_t i = t.r0; i < t.r1; i++) {
        const float* xr = t.x + i * W;
        float* yr = t.y + i * W;
        const float* row[K];  // input row i + a - R, or NULL outside the image
        for (int a = 0; a < K; a++) row[a] = (i + a - R >= 0 && i + a - R < H) ? t.x + (i + a - R) * W : nullptr;

        if (!fast) {
            for (int64_t j = c0; j < c1; j++) {
                float acc;
                if (!LIGHT) {
                    acc = 0.0f;
                    for (int a = 0; a < K; a++) {
                        if (!row[a]) continue;
                        for (int b = 0; b < K; b++) {
                            int64_t jj = j + b - R;
                            if (jj >= 0 && jj < W) acc += w[a * K + b] * row[a][jj];
                        }
                    }
                    acc = acc + bias;
                } else {
                    float hs = 0.0f, vs = 0.0f;
                    for (int b = 0; b < K; b++) {
                        int64_t jj = j + b - R;
                        if (jj >= 0 && jj < W) hs += w[b] * xr[jj];
                    }
                    for (int a = 0; a < K; a++)
                        if (row[a]) vs += w[K + a] * row[a][j];
                    acc = hs + vs + bias;
                }
                yr[j] = sa_max_nan(xr[j], acc);
            }
            continue;
        }

        // Interior: a vector loop over whole blocks, then one block ending at j1.
        const float* rp[K];
        for (int a = 0; a < K; a++) rp[a] = row[a] ? row[a] + (j0 - R) : kZeroRow;
        const int64_t n = j1 - j0, nmain = n - n % kBlock;
        frelu_cols<K, LIGHT, false>(rp, xr + j0, yr + j0, nmain, w, bias);
        if (nmain < n) {
            const float* rt[K];
            for (int a = 0; a < K; a++) rt[a] = rp[a] + (n - kBlock);
            frelu_cols<K, LIGHT, true>(rt, xr + j1 - kBlock, yr + j1 - kBlock, kBlock, w, bias);
        }
        // Image edges: columns [0, kBlock) and [W - kBlock, W) from zero-padded copies.
        if (R > 0 && c0 < R) {
            const float* pp[K];
            for (int a = 0; a < K; a++) {
                // pad[a][q] = input column q - R: R zeros, then the row's first kBlock + R columns.
                memset(pad[a], 0, sizeof pad[a]);
                if (row[a]) memcpy(pad[a] + R, row[a], sizeof(float) * (kBlock + R));
                pp[a] = pad[a];
            }
            frelu_cols<K, LIGHT, true>(pp, xr, yr, kBlock, w, bias);
        }
        if (R > 0 && c1 > W - R) {
            const float* pp[K];
            const int64_t first = W - kBlock - R;  // input column of pad[a][0]
            for (int a = 0; a < K; a++) {
                // pad[a][q] = input column first + q: the row's last kBlock + R columns, R zeros.
                memset(pad[a], 0, sizeof pad[a]);
                if (row[a]) memcpy(pad[a], row[a] + first, sizeof(float) * (kBlock + R));
                pp[a] = pad[a];
            }
            frelu_cols<K, LIGHT, true>(pp, xr + W - kBlock, yr + W - kBlock, kBlock, w, bias);
        }
    }
}

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

}  // namespace

extern const KernelTable SA_TABLE;
const KernelTable SA_TABLE = {SA_STR(SA_ISA_NAME), leaky, leaky_backward, star, frelu};

}  // namespace sa
