// CUDA plumbing shared by every .cu file: the error plumbing, the launch context, the one launch
// helper every kernel launch goes through, compile-time dispatch helpers, and the host helpers
// (grid size, workspace) the operators share.
//
// Design, and why:
//  - Every runtime call goes through SA_CUDA_TRY and every launch through launch(), which turn
//    a failure into SA_ERR_CUDA (or SA_ERR_OUT_OF_MEMORY, SA_ERR_NO_CUDA) with a message naming
//    the call or kernel, the file and line, and CUDA's own text. Nothing here aborts.
//  - Every entry point validates through the shared validators first (same messages as the
//    CPU backend, nothing written on failure; they also reject pointers that are not 4-byte
//    aligned, which would fault on the GPU), then launches on the caller's stream and checks
//    the launch. Kernels are asynchronous: faults inside a kernel surface at the caller's next
//    synchronisation.
//  - Kernels run on the current device (cudaGetDevice); the stream must belong to it.
//  - Indices that address the tensor are int64_t: numel and even one plane may exceed 2^31.
//    Grids are 1-D (grid.x may be up to 2^31-1) and every kernel loops grid-stride, so no
//    shape runs into the 65535 limit of grid.y / grid.z or overflows grid.x.
//  - Each kernel is written once and instantiated per compile-time case (with_k, with_bool,
//    with_act, with_radius) instead of copy-pasted launch ladders.
#ifndef SA_CUDA_KERNEL_UTILS_CUH
#define SA_CUDA_KERNEL_UTILS_CUH

#include <cuda_runtime.h>
#include <stdint.h>

#include <algorithm>
#include <atomic>
#include <type_traits>

#include "../cpp/common/sa_internal.h"
#include "../cpp/common/sa_math.h"
#include "spatialact/spatialact.h"

namespace sa {

// ---- errors --------------------------------------------------------------------------------

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
// in cudaGetLastError. `what` names the launch in the message, e.g. "frelu_kernel".
#define SA_CUDA_LAUNCHED(fn, what)                                                  \
    do {                                                                            \
        cudaError_t sa_e_ = cudaGetLastError();                                     \
        if (sa_e_ != cudaSuccess) return sa::cuda_fail(sa_e_, fn, what, __FILE__, __LINE__); \
    } while (0)

namespace sa {
namespace cuda {

constexpr int kThreads = 256;  // block size of the 1-D (grid-stride) kernels

// ---- launch context ------------------------------------------------------------------------

// Where and how wide to launch: the caller's stream and the current device's SM count and
// opt-in shared memory per block.
struct LaunchCtx {
    cudaStream_t stream;
    int device, sms, smem_optin;
};

inline int launch_ctx(const char* fn, void* stream, LaunchCtx* ctx) {
    // The device attributes are cached per device: cudaDeviceGetAttribute is cheap but not
    // free, and these entry points are called once per layer per forward pass.
    constexpr int kMaxDevices = 64;
    static std::atomic<int> sm_cache[kMaxDevices], optin_cache[kMaxDevices];
    int dev = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e != cudaSuccess) {
        cudaGetLastError();  // leave no stale error for the next SA_CUDA_LAUNCHED to report
        return cuda_fail(e, fn, "cudaGetDevice(&dev)", __FILE__, __LINE__);
    }
    const bool cached = dev >= 0 && dev < kMaxDevices;
    int sms = cached ? sm_cache[dev].load(std::memory_order_relaxed) : 0;
    int optin = cached ? optin_cache[dev].load(std::memory_order_relaxed) : 0;
    if (sms <= 0 || optin <= 0) {
        SA_CUDA_TRY(fn, cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
        SA_CUDA_TRY(fn, cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
        if (sms < 1) sms = 1;
        if (cached) {
            sm_cache[dev].store(sms, std::memory_order_relaxed);
            optin_cache[dev].store(optin, std::memory_order_relaxed);
        }
    }
    // An earlier failed call of this library (say a memcpy with a bad pointer, already
    // reported to its caller) leaves its non-sticky error as the runtime's "last error";
    // clear it so that SA_CUDA_LAUNCHED after our launch reports this launch only. Sticky
    // errors (a faulted context) are not cleared by this and still fail the launch.
    cudaGetLastError();
    ctx->stream = (cudaStream_t)stream;
    ctx->device = dev;
    ctx->sms = sms;
    ctx->smem_optin = optin;
    return SA_OK;
}

// The protocol of every CUDA entry point: check_rc is the status of the shared validation
// (evaluated by the caller, before anything else); then the launch context; then body(ctx),
// which launches.
template <class F>
int with_launch_ctx(const char* fn, int check_rc, void* stream, F&& body) {
    if (check_rc) return check_rc;
    LaunchCtx ctx;
    if (int rc = launch_ctx(fn, stream, &ctx)) return rc;
    return body(ctx);
}

// ---- the launch helper ---------------------------------------------------------------------

// One launch site for every kernel: launch on the caller's stream with smem bytes of dynamic
// shared memory, then check the launch (bad configuration, missing kernel image for this GPU,
// ...), naming the kernel `what` in the message. Arguments convert to the kernel's parameter
// types as in a direct <<<>>> launch.
template <class... P, class... A>
int launch(const char* fn, const char* what, void (*kernel)(P...), dim3 grid, dim3 block, size_t smem,
           const LaunchCtx& ctx, A... args) {
    kernel<<<grid, block, smem, ctx.stream>>>(args...);
    SA_CUDA_LAUNCHED(fn, what);
    return SA_OK;
}

// Blocks of `kernel` (threads per block, smem bytes of dynamic shared memory) that fit on one
// SM, after allowing the kernel that much dynamic shared memory (beyond the default 48 KiB
// needs the opt-in).
template <class... P>
int blocks_per_sm(const char* fn, void (*kernel)(P...), int threads, size_t smem, int* per_sm) {
    SA_CUDA_TRY(fn, cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    *per_sm = 0;
    SA_CUDA_TRY(fn, cudaOccupancyMaxActiveBlocksPerMultiprocessor(per_sm, kernel, threads, smem));
    return SA_OK;
}

// Blocks of kThreads for `items` grid-stride items, at most per_sm blocks per SM.
inline int64_t grid_for(const LaunchCtx& c, int64_t items, int per_sm) {
    int64_t blocks = (items + kThreads - 1) / kThreads;
    return std::max<int64_t>(1, std::min<int64_t>(blocks, (int64_t)c.sms * per_sm));
}

// ---- compile-time dispatch -----------------------------------------------------------------

// f(std::integral_constant<int, v>{}) for the V that equals v, else otherwise().
template <int... V, class F, class G>
int with_value(int v, F&& f, G&& otherwise) {
    int rc = 0;
    const bool found = ((v == V ? (rc = f(std::integral_constant<int, V>{}), true) : false) || ...);
    return found ? rc : otherwise();
}

// FReLU kernel sizes.
template <class F>
int with_k(int k, F&& f) {
    return with_value<1, 3, 5, 7>(k, f, [&] {
        return fail(SA_ERR_INTERNAL, "with_k: kernel size %d has no CUDA instantiation", k);
    });
}

// Star activations.
template <class F>
int with_act(int act, F&& f) {
    return with_value<SA_ACT_IDENTITY, SA_ACT_RELU, SA_ACT_RELU6, SA_ACT_LEAKY_RELU>(act, f, [&] {
        return fail(SA_ERR_INTERNAL, "with_act: act %d has no CUDA instantiation", act);
    });
}

// TD radii: 1 .. 8 at compile time (register windows), any other as R = 0 (runtime radius).
template <class F>
int with_radius(int r, F&& f) {
    return with_value<1, 2, 3, 4, 5, 6, 7, 8>(r, f, [&] { return f(std::integral_constant<int, 0>{}); });
}

template <class F>
int with_bool(bool b, F&& f) {
    return b ? f(std::true_type{}) : f(std::false_type{});
}

// ---- host helpers --------------------------------------------------------------------------

// Checked size arithmetic for workspaces: false on overflow.
inline bool mul_ok(size_t a, size_t b, size_t* out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

// Stream-ordered scratch, freed (stream-ordered) when the call returns, on every path.
struct Workspace {
    cudaStream_t stream = nullptr;
    float* p = nullptr;
    bool async = true;
    ~Workspace() {
        if (!p) return;
        if (async) {
            cudaFreeAsync(p, stream);
        } else {
            cudaStreamSynchronize(stream);
            cudaFree(p);
        }
        cudaGetLastError();
    }
    int alloc(const char* fn, cudaStream_t s, size_t floats) {
        stream = s;
        if (floats == 0) return SA_OK;
        if (floats > (SIZE_MAX / 4)) return fail(SA_ERR_OUT_OF_MEMORY, "%s: workspace too large", fn);
        cudaError_t e = cudaMallocAsync((void**)&p, floats * 4, s);
        if (e == cudaErrorNotSupported) {  // no stream-ordered allocator on this device/driver
            cudaGetLastError();
            async = false;
            e = cudaMalloc((void**)&p, floats * 4);
        }
        if (e != cudaSuccess) {
            p = nullptr;
            cudaGetLastError();
            return cuda_fail(e, fn, "cudaMallocAsync(workspace)", __FILE__, __LINE__);
        }
        return SA_OK;
    }
};

// ---- shared by td_lrelu.cu and ntd_lrelu.cu ------------------------------------------------

// The TD gate u of f: hard (alpha or 1) or soft (sa_math.h).
template <bool SOFT>
__device__ __forceinline__ float gate(float f, float alpha, float eps) {
    return SOFT ? sa_td_gate_soft(f, alpha, eps) : sa_td_gate_hard(f, alpha);
}

// The pointwise case of TD and NTD, T == 0 or lambda == 0: y = sa_td_out(o, gate(o))
// (td_lrelu.cu).
int td_pointwise(const char* fn, const LaunchCtx& c, const float* o, float* y, int64_t n, const sa_params* p);

}  // namespace cuda
}  // namespace sa

#endif
