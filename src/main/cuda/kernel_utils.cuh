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
//  - A call runs on the device of its pointers (cudaPointerGetAttributes), which it makes
//    current (and leaves current); a stream of another device is refused.
//  - Indices that address the tensor are int64_t: numel and even one plane may exceed 2^31.
//    Grids are 1-D (grid.x may be up to 2^31-1) and every kernel loops grid-stride, so no
//    shape runs into the 65535 limit of grid.y / grid.z or overflows grid.x.
//  - Each kernel is written once and instantiated per compile-time case (with_k, with_bool,
//    with_act, with_radius) instead of copy-pasted launch ladders.
#ifndef SA_CUDA_KERNEL_UTILS_CUH
#define SA_CUDA_KERNEL_UTILS_CUH

// A device function kept out of line (nvcc's __noinline__; the emulated GPU's host compiler takes
// the GNU attribute: a __noinline__ macro there would break libstdc++'s own
// __attribute__((__noinline__))).
#ifdef __CUDACC__
#define SA_NOINLINE __noinline__
#else
#define SA_NOINLINE __attribute__((noinline))
#endif

#include <cuda_runtime.h>
#include <stdint.h>

#include <algorithm>
#include <atomic>
#include <initializer_list>
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

// A tensor or parameter pointer of a call, by name (for the messages); NULL where absent.
struct DevArg {
    const char* name;
    const void* p;
};

// Where and how wide to launch: the call's device (that of its tensors), the caller's stream,
// and the device's SM count and shared memory (opt-in per block, per SM, reserved per block).
struct LaunchCtx {
    cudaStream_t stream;
    int device, sms, smem_optin, smem_per_sm, smem_reserved;
};

// The device sa_cuda_forward_on named for this thread's call in progress, or -1 (device.cu).
inline thread_local int t_expect_device = -1;

// The device of the call: the device whose memory its pointers are (cudaPointerGetAttributes),
// not the thread's current device, which is whichever GPU the thread last touched. Host memory,
// or pointers of two different GPUs, are refused by name.
inline int call_device(const char* fn, std::initializer_list<DevArg> args, int* dev) {
    *dev = -1;
    const char* first = nullptr;
    // A named device (sa_cuda_forward_on, the Java API) is made current before the pointers are
    // queried, so that the query touches no other GPU.
    if (t_expect_device >= 0) SA_CUDA_TRY(fn, cudaSetDevice(t_expect_device));
    for (const DevArg& a : args) {
        if (!a.p) continue;
        cudaPointerAttributes at;
        cudaError_t e = cudaPointerGetAttributes(&at, a.p);
        if (e != cudaSuccess) {
            cudaGetLastError();
            if (e == cudaErrorInvalidValue)
                return fail(SA_ERR_INVALID_ARGUMENT, "%s: %s (%p) is not device memory", fn, a.name, a.p);
            return cuda_fail(e, fn, "cudaPointerGetAttributes", __FILE__, __LINE__);
        }
        if (at.type != cudaMemoryTypeDevice && at.type != cudaMemoryTypeManaged)
            return fail(SA_ERR_INVALID_ARGUMENT, "%s: %s (%p) is %s memory, not device memory", fn, a.name, a.p,
                        at.type == cudaMemoryTypeHost ? "page-locked host" : "host");
        if (*dev < 0) {
            *dev = at.device;
            first = a.name;
        } else if (at.device != *dev) {
            return fail(SA_ERR_INVALID_ARGUMENT, "%s: %s is memory of GPU %d, %s of GPU %d; a call's tensors and "
                        "parameters must be on one GPU", fn, a.name, at.device, first, *dev);
        }
    }
    if (*dev < 0) {  // no pointer (an empty tensor): the current device
        SA_CUDA_TRY(fn, cudaGetDevice(dev));
    }
    if (t_expect_device >= 0 && *dev != t_expect_device)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: the call names GPU %d, but %s is memory of GPU %d", fn,
                    t_expect_device, first ? first : "the current device", *dev);
    return SA_OK;
}

// Makes `device` current for the call and leaves it current after it (as cudaSetDevice does):
// every call names or derives its device, so none depends on what is current, and restoring
// the previous device would create a context on it (CUDA 12+: cudaSetDevice initialises the
// primary context) even in a process that never uses that GPU.
struct DeviceScope {
    int enter(const char* fn, int device) {
        int cur = 0;
        SA_CUDA_TRY(fn, cudaGetDevice(&cur));
        if (cur != device) SA_CUDA_TRY(fn, cudaSetDevice(device));
        return SA_OK;
    }
};

// A stream given to a call on `device` must belong to it (NULL, the legacy default stream, is
// the current device's). `what` names the call's side in the message ("tensors", "copy").
inline int check_stream(const char* fn, int device, void* stream, const char* what) {
    if (!stream) return SA_OK;
#if CUDART_VERSION >= 12080
    int sdev = -1;
    cudaError_t e = cudaStreamGetDevice((cudaStream_t)stream, &sdev);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: stream %p is not a CUDA stream of this process (%s)", fn, stream,
                    cudaGetErrorString(e));
    }
    if (sdev != device)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: the stream belongs to GPU %d, the %s to GPU %d", fn, sdev, what,
                    device);
#else
    (void)fn, (void)device, (void)what;  // (no cudaStreamGetDevice before CUDA 12.8: not checked)
#endif
    return SA_OK;
}

inline int launch_ctx(const char* fn, int dev, void* stream, LaunchCtx* ctx) {
    // The device attributes are cached per device: cudaDeviceGetAttribute is cheap but not
    // free, and these entry points are called once per layer per forward pass.
    constexpr int kMaxDevices = 64;
    static std::atomic<int> sm_cache[kMaxDevices], optin_cache[kMaxDevices], per_sm_cache[kMaxDevices],
        reserved_cache[kMaxDevices];
    const bool cached = dev >= 0 && dev < kMaxDevices;
    // sms is stored last (release) and loaded first (acquire): a thread that sees it sees the rest.
    int sms = cached ? sm_cache[dev].load(std::memory_order_acquire) : 0;
    int optin = cached ? optin_cache[dev].load(std::memory_order_relaxed) : 0;
    int per_sm = cached ? per_sm_cache[dev].load(std::memory_order_relaxed) : 0;
    int reserved = cached ? reserved_cache[dev].load(std::memory_order_relaxed) : 0;
    if (sms <= 0 || optin <= 0 || per_sm <= 0) {
        SA_CUDA_TRY(fn, cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
        SA_CUDA_TRY(fn, cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
        SA_CUDA_TRY(fn, cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, dev));
        SA_CUDA_TRY(fn, cudaDeviceGetAttribute(&reserved, cudaDevAttrReservedSharedMemoryPerBlock, dev));
        if (sms < 1) sms = 1;
        if (optin < 1) optin = 48 * 1024;
        if (per_sm < optin) per_sm = optin;
        if (cached) {
            optin_cache[dev].store(optin, std::memory_order_relaxed);
            per_sm_cache[dev].store(per_sm, std::memory_order_relaxed);
            reserved_cache[dev].store(reserved, std::memory_order_relaxed);
            sm_cache[dev].store(sms, std::memory_order_release);
        }
    }
    // A stream of another GPU would launch there (or fail): refuse it by name. (NULL is the
    // legacy default stream of the current device, which launch_ctx's caller made the call's.)
    if (int rc = check_stream(fn, dev, stream, "tensors")) return rc;
    // An earlier failed call of this library (say a memcpy with a bad pointer, already
    // reported to its caller) leaves its non-sticky error as the runtime's "last error";
    // clear it so that SA_CUDA_LAUNCHED after our launch reports this launch only. Sticky
    // errors (a faulted context) are not cleared by this and still fail the launch.
    cudaGetLastError();
    ctx->stream = (cudaStream_t)stream;
    ctx->device = dev;
    ctx->sms = sms;
    ctx->smem_optin = optin;
    ctx->smem_per_sm = per_sm;
    ctx->smem_reserved = reserved;
    return SA_OK;
}

// The protocol of every CUDA entry point: check_rc is the status of the shared validation
// (evaluated by the caller, before anything else); then the call's device, from its pointers
// (args), made current; then the launch context; then body(ctx), which launches.
template <class F>
int with_launch_ctx(const char* fn, int check_rc, void* stream, std::initializer_list<DevArg> args, F&& body) {
    if (check_rc) return check_rc;
    int dev = -1;
    if (int rc = call_device(fn, args, &dev)) return rc;
    DeviceScope scope;
    if (int rc = scope.enter(fn, dev)) return rc;
    LaunchCtx ctx;
    if (int rc = launch_ctx(fn, dev, stream, &ctx)) return rc;
    return body(ctx);
}

// ---- the launch helper ---------------------------------------------------------------------

// The synchronous debug mode (sa_cuda_set_debug, or SA_CUDA_DEBUG=1 in the environment): every
// launch is followed by a synchronisation of its stream, so that a kernel that faults is named
// by the call that launched it, not reported by whatever synchronises next. Slow: for debugging.
bool debug_mode();

// Sets kernel's dynamic shared-memory limit to the device's whole opt-in (c.smem_optin), once
// per device and kernel (device.cu).
int opt_in_shared(const char* fn, const void* kernel, const LaunchCtx& c);

// One launch site for every kernel: launch on the caller's stream with smem bytes of dynamic
// shared memory, then check the launch (bad configuration, missing kernel image for this GPU,
// ...), naming the kernel `what` in the message. Arguments convert to the kernel's parameter
// types as in a direct <<<>>> launch.
template <class... P, class... A>
int launch(const char* fn, const char* what, void (*kernel)(P...), dim3 grid, dim3 block, size_t smem,
           const LaunchCtx& ctx, A... args) {
    kernel<<<grid, block, smem, ctx.stream>>>(args...);
    SA_CUDA_LAUNCHED(fn, what);
    if (debug_mode()) {
        cudaError_t e = cudaStreamSynchronize(ctx.stream);
        if (e != cudaSuccess) {
            cudaGetLastError();
            return fail(e == cudaErrorMemoryAllocation ? SA_ERR_OUT_OF_MEMORY : SA_ERR_CUDA,
                        "%s: kernel %s failed while running (debug mode: synchronised after the launch): %s (%s, "
                        "cudaError %d)", fn, what, cudaGetErrorString(e), cudaGetErrorName(e), (int)e);
        }
    }
    return SA_OK;
}

// Blocks of `kernel` (threads per block, smem bytes of dynamic shared memory) that fit on one
// SM. Dynamic shared memory beyond the default 48 KiB needs the opt-in attribute: set once per
// device and instantiation, to the device's whole opt-in limit, so that calls of different sizes
// on several host threads never lower it under each other's launch (setting it per call to that
// call's size raced).
template <class... P>
int blocks_per_sm(const char* fn, const LaunchCtx& c, void (*kernel)(P...), int threads, size_t smem, int* per_sm) {
    if (int rc = opt_in_shared(fn, (const void*)kernel, c)) return rc;
    *per_sm = 0;
    SA_CUDA_TRY(fn, cudaOccupancyMaxActiveBlocksPerMultiprocessor(per_sm, kernel, threads, smem));
    return SA_OK;
}

// Launches a kernel whose blocks loop over `tasks` tasks (tiles, strips) on as many blocks as
// are resident at once (every SM full, at most one block per task); an error if one block of
// smem bytes does not fit an SM. `what` names the kernel in messages.
template <class... P, class... A>
int launch_resident(const char* fn, const char* what, void (*kernel)(P...), int64_t tasks, dim3 block, size_t smem,
                    const LaunchCtx& c, A... args) {
    int per_sm = 0;
    if (int e = blocks_per_sm(fn, c, kernel, (int)(block.x * block.y * block.z), smem, &per_sm)) return e;
    if (per_sm < 1) return fail(SA_ERR_INTERNAL, "%s: a %zu-byte block of %s does not fit on this GPU", fn, smem, what);
    const int64_t grid = std::max<int64_t>(1, std::min<int64_t>(tasks, (int64_t)c.sms * per_sm));
    return launch(fn, what, kernel, dim3((unsigned)grid), block, smem, c, args...);
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

// The library's stream-ordered pool of workspaces on a device (device.cu): created on first use
// with the release threshold at its maximum, so that memory freed at the end of one call is
// reused by the next instead of being returned to the driver at every synchronisation (the
// device's default pool keeps nothing: threshold 0). It holds at most the largest set of
// workspaces in flight at once; sa_cuda_release_workspaces() trims it. NULL (and SA_OK) where the
// device has no stream-ordered allocator.
int workspace_pool(const char* fn, int device, cudaMemPool_t* pool);

// Stream-ordered scratch from the device's workspace pool, freed (stream-ordered) when the call
// returns, on every path; cudaMalloc / cudaFree where the device has no pool.
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
    int alloc(const char* fn, const LaunchCtx& c, size_t floats) {
        stream = c.stream;
        if (floats == 0) return SA_OK;
        if (floats > (SIZE_MAX / 4)) return fail(SA_ERR_OUT_OF_MEMORY, "%s: workspace too large", fn);
        cudaMemPool_t pool = nullptr;
        if (int rc = workspace_pool(fn, c.device, &pool)) return rc;
        cudaError_t e;
        if (pool) {
            e = cudaMallocFromPoolAsync((void**)&p, floats * 4, pool, c.stream);
        } else {
            async = false;
            e = cudaMalloc((void**)&p, floats * 4);
        }
        if (e != cudaSuccess) {
            p = nullptr;
            cudaGetLastError();
            return cuda_fail(e, fn, pool ? "cudaMallocFromPoolAsync(workspace)" : "cudaMalloc(workspace)", __FILE__,
                             __LINE__);
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
