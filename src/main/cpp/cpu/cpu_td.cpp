// CPU entry points of TD-LReLU and NTD-LReLU (issue: threshold dynamics). Not implemented yet.
#include "../common/sa_internal.h"
#include "spatialact/spatialact.h"

using namespace sa;

extern "C" {

int sa_cpu_td_lrelu_forward(const float* o, float* y, sa_shape shape, const sa_params* p) {
    int64_t n;
    int rc = check_td("sa_cpu_td_lrelu_forward", o, y, shape, p, &n);
    if (rc) return rc;
    return fail(SA_ERR_NOT_IMPLEMENTED, "sa_cpu_td_lrelu_forward: TD-LReLU is not implemented yet");
}

int sa_cpu_td_lrelu_backward(const float*, const float*, float*, sa_shape, const sa_params*) {
    return fail(SA_ERR_NOT_IMPLEMENTED, "sa_cpu_td_lrelu_backward: gradients are not implemented yet");
}

int sa_cpu_ntd_lrelu_forward(const float* o, const float* guide, float* y, sa_shape shape, const sa_params* p) {
    int64_t n;
    int rc = check_ntd("sa_cpu_ntd_lrelu_forward", o, guide, y, shape, p, &n);
    if (rc) return rc;
    return fail(SA_ERR_NOT_IMPLEMENTED, "sa_cpu_ntd_lrelu_forward: NTD-LReLU is not implemented yet");
}

int sa_cpu_ntd_lrelu_backward(const float*, const float*, const float*, float*, sa_shape, const sa_params*) {
    return fail(SA_ERR_NOT_IMPLEMENTED, "sa_cpu_ntd_lrelu_backward: gradients are not implemented yet");
}

}  // extern "C"
