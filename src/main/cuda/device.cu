// CUDA backend, runtime part: device probe, memory and streams. The CUDA runtime is linked
// statically (see CMakeLists.txt), so the library loads on machines without a driver; the
// first call here then reports cudaErrorInsufficientDriver as SA_ERR_NO_CUDA.
#include <stdio.h>

#include "kernel_utils.cuh"
#include "spatialact/spatialact.h"

using sa::fail;

namespace {

int set_device(const char* fn, int device) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();  // clear the sticky-free error so later calls start clean
        return sa::cuda_fail(e, fn, "cudaGetDeviceCount", __FILE__, __LINE__);
    }
    if (device < 0 || device >= count)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: device %d does not exist (%d GPU(s))", fn, device, count);
    SA_CUDA_TRY(fn, cudaSetDevice(device));
    return SA_OK;
}

int check_bytes(const char* fn, int64_t bytes) {
    if (bytes < 0) return fail(SA_ERR_INVALID_ARGUMENT, "%s: bytes = %lld is negative", fn, (long long)bytes);
    return SA_OK;
}

}  // namespace

extern "C" {

int sa_cuda_compiled(void) { return 1; }

int sa_cuda_device_count(int* count) {
    const char* fn = "sa_cuda_device_count";
    if (!count) return fail(SA_ERR_INVALID_ARGUMENT, "%s: count is NULL", fn);
    *count = 0;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
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
    int rc = set_device(fn, device);
    if (rc) return rc;
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
    int rc = check_bytes(fn, bytes);
    if (rc || (rc = set_device(fn, device))) return rc;
    SA_CUDA_TRY(fn, cudaMalloc(ptr, (size_t)(bytes > 0 ? bytes : 1)));
    return SA_OK;
}

int sa_cuda_free(int device, void* ptr) {
    const char* fn = "sa_cuda_free";
    if (!ptr) return SA_OK;
    int rc = set_device(fn, device);
    if (rc) return rc;
    SA_CUDA_TRY(fn, cudaFree(ptr));
    return SA_OK;
}

static int copy(const char* fn, int device, void* dst, const void* src, int64_t bytes, void* stream,
                cudaMemcpyKind kind) {
    int rc = check_bytes(fn, bytes);
    if (rc) return rc;
    if (bytes == 0) return SA_OK;
    if (!dst || !src) return fail(SA_ERR_INVALID_ARGUMENT, "%s: dst or src is NULL", fn);
    if ((rc = set_device(fn, device))) return rc;
    cudaStream_t s = (cudaStream_t)stream;
    SA_CUDA_TRY(fn, cudaMemcpyAsync(dst, src, (size_t)bytes, kind, s));
    // Host copies are synchronous for the caller: the host buffer may be reused on return.
    if (kind != cudaMemcpyDeviceToDevice) SA_CUDA_TRY(fn, cudaStreamSynchronize(s));
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
    int rc = set_device(fn, device);
    if (rc) return rc;
    cudaStream_t s;
    SA_CUDA_TRY(fn, cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    *stream = (void*)s;
    return SA_OK;
}

int sa_cuda_stream_destroy(int device, void* stream) {
    const char* fn = "sa_cuda_stream_destroy";
    if (!stream) return SA_OK;
    int rc = set_device(fn, device);
    if (rc) return rc;
    SA_CUDA_TRY(fn, cudaStreamDestroy((cudaStream_t)stream));
    return SA_OK;
}

int sa_cuda_stream_synchronize(int device, void* stream) {
    const char* fn = "sa_cuda_stream_synchronize";
    int rc = set_device(fn, device);
    if (rc) return rc;
    SA_CUDA_TRY(fn, cudaStreamSynchronize((cudaStream_t)stream));
    return SA_OK;
}

}  // extern "C"
