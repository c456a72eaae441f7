// CUDA backend, runtime part: device probe, memory and streams. The CUDA runtime is linked
// statically (see CMakeLists.txt), so the library loads on machines without a driver; the
// first call here then reports cudaErrorInsufficientDriver as SA_ERR_NO_CUDA.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mutex>
#include <set>
#include <utility>

#include "kernel_utils.cuh"
#include "spatialact/spatialact.h"

using sa::fail;

// The oldest NVIDIA driver branch the linked CUDA runtime runs on (CUDA 13: R580; 12: R525).
#define SA_CUDA_MIN_DRIVER_BRANCH (CUDART_VERSION >= 13000 ? 580 : CUDART_VERSION >= 12000 ? 525 : 450)

namespace {

using sa::cuda::DeviceScope;

// Makes `device` current (kernel_utils.cuh: DeviceScope), after checking that it exists.
int enter_device(const char* fn, int device, DeviceScope* scope) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();  // clear the sticky-free error so later calls start clean
        return sa::cuda_fail(e, fn, "cudaGetDeviceCount", __FILE__, __LINE__);
    }
    if (device < 0 || device >= count)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: device %d does not exist (%d GPU(s))", fn, device, count);
    return scope->enter(fn, device);
}

int check_bytes(const char* fn, int64_t bytes) {
    if (bytes < 0) return fail(SA_ERR_INVALID_ARGUMENT, "%s: bytes = %lld is negative", fn, (long long)bytes);
    return SA_OK;
}

}  // namespace

namespace sa {
namespace cuda {

namespace {
std::atomic<int> g_debug{-1};  // -1: not yet read from SA_CUDA_DEBUG
}

bool debug_mode() {
    int d = g_debug.load(std::memory_order_relaxed);
    if (d < 0) {
        const char* env = getenv("SA_CUDA_DEBUG");
        d = env && *env && strcmp(env, "0") != 0 ? 1 : 0;
        int expected = -1;
        g_debug.compare_exchange_strong(expected, d);  // sa_cuda_set_debug may have won: keep it
        d = g_debug.load(std::memory_order_relaxed);
    }
    return d == 1;
}

int opt_in_shared(const char* fn, const void* kernel, const LaunchCtx& c) {
    static std::mutex mu;
    static std::set<std::pair<const void*, int>> done;
    std::lock_guard<std::mutex> lock(mu);
    if (done.count({kernel, c.device})) return SA_OK;
    SA_CUDA_TRY(fn, cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, c.smem_optin));
    done.insert({kernel, c.device});
    return SA_OK;
}

namespace {
constexpr int kMaxPoolDevices = 64;
std::mutex g_pool_mu;
cudaMemPool_t g_pools[kMaxPoolDevices];
bool g_pool_tried[kMaxPoolDevices];
}  // namespace

int workspace_pool(const char* fn, int device, cudaMemPool_t* pool) {
    *pool = nullptr;
    if (device < 0 || device >= kMaxPoolDevices) return SA_OK;  // (cudaMalloc then)
    std::lock_guard<std::mutex> lock(g_pool_mu);
    if (!g_pool_tried[device]) {
        int supported = 0;
        cudaError_t e = cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device);
        if (e != cudaSuccess) {
            cudaGetLastError();
            return sa::cuda_fail(e, fn, "cudaDeviceGetAttribute(cudaDevAttrMemoryPoolsSupported)", __FILE__, __LINE__);
        }
        if (!supported) {
            g_pool_tried[device] = true;  // for good: cudaMalloc on this device
            return SA_OK;
        }
        cudaMemPoolProps props;
        memset(&props, 0, sizeof props);
        props.allocType = cudaMemAllocationTypePinned;
        props.location.type = cudaMemLocationTypeDevice;
        props.location.id = device;
        cudaMemPool_t p = nullptr;
        SA_CUDA_TRY(fn, cudaMemPoolCreate(&p, &props));
        uint64_t keep = UINT64_MAX;  // keep what is freed for the next call
        e = cudaMemPoolSetAttribute(p, cudaMemPoolAttrReleaseThreshold, &keep);
        if (e != cudaSuccess) {
            cudaMemPoolDestroy(p);
            return sa::cuda_fail(e, fn, "cudaMemPoolSetAttribute(cudaMemPoolAttrReleaseThreshold)", __FILE__, __LINE__);
        }
        g_pools[device] = p;
        g_pool_tried[device] = true;
    }
    *pool = g_pools[device];
    return SA_OK;
}

}  // namespace cuda
}  // namespace sa

extern "C" {

int sa_cuda_set_debug(int on) {
    sa::cuda::g_debug.store(on ? 1 : 0, std::memory_order_relaxed);
    return SA_OK;
}

int sa_cuda_release_workspaces(int device) {
    const char* fn = "sa_cuda_release_workspaces";
    DeviceScope scope;
    if (int rc = enter_device(fn, device, &scope)) return rc;
    cudaMemPool_t pool = nullptr;
    {
        std::lock_guard<std::mutex> lock(sa::cuda::g_pool_mu);
        if (device < sa::cuda::kMaxPoolDevices) pool = sa::cuda::g_pools[device];
    }
    if (!pool) return SA_OK;
    // Freed blocks return to the pool when the frees complete on their streams: wait for them.
    SA_CUDA_TRY(fn, cudaDeviceSynchronize());
    SA_CUDA_TRY(fn, cudaMemPoolTrimTo(pool, 0));
    return SA_OK;
}

int sa_cuda_versions(int* driver, int* runtime) {
    const char* fn = "sa_cuda_versions";
    if (!driver || !runtime) return fail(SA_ERR_INVALID_ARGUMENT, "%s: driver or runtime is NULL", fn);
    *driver = 0;
    *runtime = CUDART_VERSION;
    cudaError_t e = cudaDriverGetVersion(driver);
    if (e != cudaSuccess) {
        cudaGetLastError();
        *driver = 0;
    }
    return SA_OK;
}

int sa_cuda_forward_on(int device, int op, const float* in0, const float* in1, float* y, sa_shape shape,
                       const sa_params* p, void* stream) {
    if (device < 0)
        return fail(SA_ERR_INVALID_ARGUMENT, "sa_cuda_forward_on: device %d is negative", device);
    struct Expect {  // the device every launch context of this call must find
        explicit Expect(int d) { sa::cuda::t_expect_device = d; }
        ~Expect() { sa::cuda::t_expect_device = -1; }
    } expect(device);
    return sa_cuda_forward(op, in0, in1, y, shape, p, stream);
}

int sa_cuda_compiled(void) { return 1; }

int sa_cuda_device_count(int* count) {
    const char* fn = "sa_cuda_device_count";
    if (!count) return fail(SA_ERR_INVALID_ARGUMENT, "%s: count is NULL", fn);
    *count = 0;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        if (e == cudaErrorInsufficientDriver) {
            int driver = 0;
            cudaDriverGetVersion(&driver);
            cudaGetLastError();
            char have[96];
            if (driver > 0)
                snprintf(have, sizeof have, "the installed driver supports CUDA %d.%d", driver / 1000, driver % 1000 / 10);
            else
                snprintf(have, sizeof have, "no NVIDIA driver was found");
            return fail(SA_ERR_NO_CUDA, "%s: %s (%s); this library's CUDA %d.%d runtime needs an NVIDIA driver of "
                        "branch R%d or newer; %s", fn, cudaGetErrorString(e), cudaGetErrorName(e),
                        CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10, SA_CUDA_MIN_DRIVER_BRANCH, have);
        }
        return sa::cuda_fail(e, fn, "cudaGetDeviceCount", __FILE__, __LINE__);
    }
    *count = n;
    if (n == 0) return fail(SA_ERR_NO_CUDA, "%s: the CUDA driver reports no GPU", fn);
    return SA_OK;
}

int sa_cuda_device_name(int device, char* buf, int64_t len) {
    const char* fn = "sa_cuda_device_name";
    if (!buf || len <= 0) return fail(SA_ERR_INVALID_ARGUMENT, "%s: buf is NULL or len <= 0", fn);
    buf[0] = '\0';
    DeviceScope scope;
    if (int rc = enter_device(fn, device, &scope)) return rc;
    cudaDeviceProp prop;
    SA_CUDA_TRY(fn, cudaGetDeviceProperties(&prop, device));
    snprintf(buf, (size_t)len, "%s, sm_%d%d, %lld MiB", prop.name, prop.major, prop.minor,
             (long long)(prop.totalGlobalMem >> 20));
    return SA_OK;
}

int sa_cuda_malloc(int device, int64_t bytes, void** ptr) {
    const char* fn = "sa_cuda_malloc";
    if (!ptr) return fail(SA_ERR_INVALID_ARGUMENT, "%s: ptr is NULL", fn);
    *ptr = nullptr;
    DeviceScope scope;
    int rc = check_bytes(fn, bytes);
    if (rc || (rc = enter_device(fn, device, &scope))) return rc;
    cudaError_t e = cudaMalloc(ptr, (size_t)(bytes > 0 ? bytes : 1));
    if (e == cudaErrorMemoryAllocation) {
        // The workspace pool keeps what TD/NTD freed (the driver does not trim it for a
        // cudaMalloc): give that back and try once more.
        cudaGetLastError();
        if (sa_cuda_release_workspaces(device) == SA_OK) e = cudaMalloc(ptr, (size_t)(bytes > 0 ? bytes : 1));
    }
    if (e != cudaSuccess) {
        *ptr = nullptr;
        return sa::cuda_fail(e, fn, "cudaMalloc", __FILE__, __LINE__);
    }
    return SA_OK;
}

int sa_cuda_free(int device, void* ptr) {
    const char* fn = "sa_cuda_free";
    if (!ptr) return SA_OK;
    DeviceScope scope;
    if (int rc = enter_device(fn, device, &scope)) return rc;
    SA_CUDA_TRY(fn, cudaFree(ptr));
    return SA_OK;
}

static int copy(const char* fn, int device, void* dst, const void* src, int64_t bytes, void* stream,
                cudaMemcpyKind kind) {
    int rc = check_bytes(fn, bytes);
    if (rc) return rc;
    if (bytes == 0) return SA_OK;
    if (!dst || !src) return fail(SA_ERR_INVALID_ARGUMENT, "%s: dst or src is NULL", fn);
    DeviceScope scope;
    if ((rc = enter_device(fn, device, &scope)) || (rc = sa::cuda::check_stream(fn, device, stream, "copy"))) return rc;
    cudaStream_t s = (cudaStream_t)stream;
    // No stream: ordered after all work on the device, whatever stream it runs on (the
    // library's streams are non-blocking, so the legacy default stream alone would not wait for
    // a kernel on them): the plain copies are safe, and cost a device synchronisation.
    if (!s) SA_CUDA_TRY(fn, cudaDeviceSynchronize());
    SA_CUDA_TRY(fn, cudaMemcpyAsync(dst, src, (size_t)bytes, kind, s));
    // Host copies are synchronous for the caller: the host buffer may be reused on return. A
    // device copy without a stream is too, so that later work on any stream sees it.
    if (kind != cudaMemcpyDeviceToDevice || !s) SA_CUDA_TRY(fn, cudaStreamSynchronize(s));
    return SA_OK;
}

int sa_cuda_memcpy_h2d(int device, void* dst, const void* src, int64_t bytes, void* stream) {
    return copy("sa_cuda_memcpy_h2d", device, dst, src, bytes, stream, cudaMemcpyHostToDevice);
}
int sa_cuda_memcpy_d2h(int device, void* dst, const void* src, int64_t bytes, void* stream) {
    return copy("sa_cuda_memcpy_d2h", device, dst, src, bytes, stream, cudaMemcpyDeviceToHost);
}
int sa_cuda_memcpy_d2d(int device, void* dst, const void* src, int64_t bytes, void* stream) {
    return copy("sa_cuda_memcpy_d2d", device, dst, src, bytes, stream, cudaMemcpyDeviceToDevice);
}

int sa_cuda_stream_create(int device, void** stream) {
    const char* fn = "sa_cuda_stream_create";
    if (!stream) return fail(SA_ERR_INVALID_ARGUMENT, "%s: stream is NULL", fn);
    *stream = nullptr;
    DeviceScope scope;
    if (int rc = enter_device(fn, device, &scope)) return rc;
    cudaStream_t s;
    SA_CUDA_TRY(fn, cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    *stream = (void*)s;
    return SA_OK;
}

int sa_cuda_stream_destroy(int device, void* stream) {
    const char* fn = "sa_cuda_stream_destroy";
    if (!stream) return SA_OK;
    DeviceScope scope;
    int rc = enter_device(fn, device, &scope);
    if (rc || (rc = sa::cuda::check_stream(fn, device, stream, "call"))) return rc;
    SA_CUDA_TRY(fn, cudaStreamDestroy((cudaStream_t)stream));
    return SA_OK;
}

int sa_cuda_stream_synchronize(int device, void* stream) {
    const char* fn = "sa_cuda_stream_synchronize";
    DeviceScope scope;
    int rc = enter_device(fn, device, &scope);
    if (rc || (rc = sa::cuda::check_stream(fn, device, stream, "call"))) return rc;
    SA_CUDA_TRY(fn, cudaStreamSynchronize((cudaStream_t)stream));
    return SA_OK;
}

}  // extern "C"
