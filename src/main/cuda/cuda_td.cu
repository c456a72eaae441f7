// CUDA entry points of TD-LReLU and NTD-LReLU. Placeholder until their kernels land.
#include "cuda_check.cuh"
#include "spatialact/spatialact.h"

using sa::fail;
#define SA_NO_KERNEL(fn) fail(SA_ERR_NOT_IMPLEMENTED, "%s: this operator has no GPU implementation yet", fn)

extern "C" {
int sa_cuda_td_lrelu_forward(const float*, float*, sa_shape, const sa_params*, void*) {
    return SA_NO_KERNEL("sa_cuda_td_lrelu_forward");
}
int sa_cuda_td_lrelu_backward(const float*, const float*, float*, sa_shape, const sa_params*, void*) {
    return SA_NO_KERNEL("sa_cuda_td_lrelu_backward");
}
int sa_cuda_ntd_lrelu_forward(const float*, const float*, float*, sa_shape, const sa_params*, void*) {
    return SA_NO_KERNEL("sa_cuda_ntd_lrelu_forward");
}
int sa_cuda_ntd_lrelu_backward(const float*, const float*, const float*, float*, sa_shape, const sa_params*, void*) {
    return SA_NO_KERNEL("sa_cuda_ntd_lrelu_backward");
}
}
