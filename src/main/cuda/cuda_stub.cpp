// The CUDA half of spatialact.h for builds without nvcc: every entry point links and says
// why it cannot run. sa_cuda_compiled() is 0, so the Java API reports the backend as
// unavailable before it ever calls one of these.
#include "../cpp/common/sa_internal.h"
#include "spatialact/spatialact.h"

using sa::fail;

// One line per entry point: the name, the parameter list, and what it does to its outputs
// before it fails (the probe and allocation entries clear them, as the CUDA build does).
#define SA_NO_CUDA_ENTRY(name, params, clear_outputs)                                                      \
    int name params {                                                                                      \
        clear_outputs;                                                                                     \
        return fail(SA_ERR_NO_CUDA, "%s: spatialact was built without CUDA (nvcc was not found at build time)", \
                    #name);                                                                                \
    }

extern "C" {

int sa_cuda_compiled(void) { return 0; }
int sa_internal_cuda_frelu_wide(int) { return 0; }  // (test hooks: nothing to switch here)
int sa_internal_cuda_ntd_weights(int) { return 0; }
int sa_internal_cuda_td_wave(int) { return 0; }
SA_NO_CUDA_ENTRY(sa_cuda_device_count, (int* count), if (count) *count = 0)
SA_NO_CUDA_ENTRY(sa_cuda_device_name, (int, char* buf, int64_t len), if (buf && len > 0) buf[0] = '\0')
SA_NO_CUDA_ENTRY(sa_cuda_malloc, (int, int64_t, void** ptr), if (ptr) *ptr = nullptr)
SA_NO_CUDA_ENTRY(sa_cuda_free, (int, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_memcpy_h2d, (int, void*, const void*, int64_t, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_memcpy_d2h, (int, void*, const void*, int64_t, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_memcpy_d2d, (int, void*, const void*, int64_t, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_stream_create, (int, void** stream), if (stream) *stream = nullptr)
SA_NO_CUDA_ENTRY(sa_cuda_stream_destroy, (int, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_stream_synchronize, (int, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_versions, (int* driver, int* runtime), if (driver) *driver = 0; if (runtime) *runtime = 0)
SA_NO_CUDA_ENTRY(sa_cuda_set_debug, (int), )
SA_NO_CUDA_ENTRY(sa_cuda_release_workspaces, (int), )
SA_NO_CUDA_ENTRY(sa_cuda_forward_on, (int, int, const float*, const float*, float*, sa_shape, const sa_params*, void*), )

SA_NO_CUDA_ENTRY(sa_cuda_leaky_relu_forward, (const float*, float*, sa_shape, const sa_params*, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_leaky_relu_backward, (const float*, const float*, float*, sa_shape, const sa_params*, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_frelu_forward, (const float*, float*, sa_shape, const sa_params*, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_frelu_backward, (const float*, const float*, float*, sa_shape, const sa_params*, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_star_forward, (const float*, const float*, float*, sa_shape, const sa_params*, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_star_backward,
                 (const float*, const float*, const float*, float*, float*, sa_shape, const sa_params*, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_td_lrelu_forward, (const float*, float*, sa_shape, const sa_params*, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_td_lrelu_backward, (const float*, const float*, float*, sa_shape, const sa_params*, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_ntd_lrelu_forward, (const float*, const float*, float*, sa_shape, const sa_params*, void*), )
SA_NO_CUDA_ENTRY(sa_cuda_ntd_lrelu_backward,
                 (const float*, const float*, const float*, float*, sa_shape, const sa_params*, void*), )

}  // extern "C"
