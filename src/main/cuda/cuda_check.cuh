// Error plumbing of the CUDA backend: every runtime call and every launch goes through
// SA_CUDA_TRY, which turns a failure into SA_ERR_CUDA (or SA_ERR_OUT_OF_MEMORY) with a message
// naming the call, the file and line, and CUDA's own text. Nothing here aborts.
#ifndef SA_CUDA_CHECK_CUH
#define SA_CUDA_CHECK_CUH

#include <cuda_runtime.h>

#include "../cpp/common/sa_internal.h"

namespace sa {

inline int cuda_fail(cudaError_t e, const char* fn, const char* call, const char* file, int line) {
    // Clear a non-sticky error here, so that a later launch check reports only its own launch.
    // (Sticky errors - a faulted context - stay, and every later call reports them.)
    cudaGetLastError();
    int code = e == cudaErrorMemoryAllocation ? SA_ERR_OUT_OF_MEMORY
             : (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) ? SA_ERR_NO_CUDA
                                                                            : SA_ERR_CUDA;
    return fail(code, "%s: %s failed: %s (%s, cudaError %d) at %s:%d", fn, call, cudaGetErrorString(e),
                cudaGetErrorName(e), (int)e, file, line);
}

}  // namespace sa

#define SA_CUDA_TRY(fn, call)                                                   \
    do {                                                                        \
        cudaError_t sa_e_ = (call);                                             \
        if (sa_e_ != cudaSuccess) return sa::cuda_fail(sa_e_, fn, #call, __FILE__, __LINE__); \
    } while (0)

// After a kernel launch: configuration errors (bad grid, no kernel image for this GPU) show up
// in cudaGetLastError. `what` names the launch in the message, e.g. "frelu kernel launch".
#define SA_CUDA_LAUNCHED(fn, what)                                                  \
    do {                                                                            \
        cudaError_t sa_e_ = cudaGetLastError();                                     \
        if (sa_e_ != cudaSuccess) return sa::cuda_fail(sa_e_, fn, what, __FILE__, __LINE__); \
    } while (0)

#endif
