// Element-wise CPU kernels (LeakyReLU/ReLU/PReLU forward and backward, star), compiled once per
// instruction set (isa.h). The loops are plain C++ that GCC vectorises (`omp simd`, with
// -fopenmp-simd and no OpenMP runtime, tells it the rows do not alias), a cache line at a time
// with the output prefetched ahead (prefetch.h); the per-element formulas are sa_math.h's, the
// ones the CUDA kernels use.
#include "isa.h"
#include "prefetch.h"

#include "../../common/sa_math.h"
#include "spatialact/spatialact.h"

namespace sa {
namespace SA_ISA_NS {

void leaky(const float* x, float* y, int64_t n, float alpha) {
    // y may equal x (in place); each element is read before it is written.
    store_lines(y, n, [=](int64_t i) { return sa_leaky(x[i], alpha); });
}

void leaky_backward(const float* x, const float* dy, float* dx, int64_t n, float alpha) {
    store_lines(dx, n, [=](int64_t i) { return dy[i] * sa_leaky_grad(x[i], alpha); });
}

namespace {

template <int ACT>
void star_t(const float* a, const float* b, float* y, int64_t n, float alpha) {
    store_lines(y, n, [=](int64_t i) { return sa_star_act(a[i], ACT, alpha) * b[i]; });
}

}  // namespace

void star(const float* a, const float* b, float* y, int64_t n, int act, float alpha) {
    switch (act) {
        case SA_ACT_RELU: star_t<SA_ACT_RELU>(a, b, y, n, alpha); break;
        case SA_ACT_RELU6: star_t<SA_ACT_RELU6>(a, b, y, n, alpha); break;
        case SA_ACT_LEAKY_RELU: star_t<SA_ACT_LEAKY_RELU>(a, b, y, n, alpha); break;
        default: star_t<SA_ACT_IDENTITY>(a, b, y, n, alpha); break;
    }
}

}  // namespace SA_ISA_NS
}  // namespace sa
