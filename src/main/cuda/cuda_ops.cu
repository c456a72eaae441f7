// CUDA operator entry points. Placeholder until the CUDA kernels land: every operator says it
// has no GPU implementation yet.
#include "cuda_check.cuh"
#include "spatialact/spatialact.h"

using sa::fail;
#define SA_NO_KERNEL(fn) fail(SA_ERR_NOT_IMPLEMENTED, "%s: this operator has no GPU implementation yet", fn)

extern "C" {
int sa_cuda_leaky_relu_forward(const float*, float*, sa_shape, const sa_params*, void*) {
    return SA_NO_KERNEL("sa_cuda_leaky_relu_forward");
}
int sa_cuda_leaky_relu_backward(const float*, const float*, float*, sa_shape, const sa_params*, void*) {
    return SA_NO_KERNEL("sa_cuda_leaky_relu_backward");
}
int sa_cuda_frelu_forward(const float*, float*, sa_shape, const sa_params*, void*) {
    return SA_NO_KERNEL("sa_cuda_frelu_forward");
}
int sa_cuda_frelu_backward(const float*, const float*, float*, sa_shape, const sa_params*, void*) {
    return SA_NO_KERNEL("sa_cuda_frelu_backward");
}
int sa_cuda_star_forward(const float*, const float*, float*, sa_shape, const sa_params*, void*) {
    return SA_NO_KERNEL("sa_cuda_star_forward");
}
int sa_cuda_star_backward(const float*, const float*, const float*, float*, float*, sa_shape, const sa_params*, void*) {
    return SA_NO_KERNEL("sa_cuda_star_backward");
}
}
