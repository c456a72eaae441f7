// The emulated GPU: a host implementation of the subset of CUDA that spatialact's kernels use,
// so that the unchanged .cu sources compile with g++ (no nvcc) into a test build of the CUDA
// backend whose sa_cuda_* entry points run on host memory (docs/EMULATOR.md).
//
// What it models, and how:
//  - A kernel launch runs synchronously on the calling thread. Every CUDA thread of a block is
//    a fiber (its own stack); the threads of a block interleave only at __syncthreads, which
//    is counted per thread, and at warp collectives (__ballot_sync), where the lanes of one warp
//    meet. A barrier not reached by every thread of the block (some exited, or wait at another
//    __syncthreads), or a collective not reached by every lane of its mask, is a fault.
//  - Launch limits of a configurable device model (cuda_emu.cpp: h100, a100, sm86, sm75, tiny,
//    ...): threads per block, block and grid dimensions (grid.y/z <= 65535), dynamic shared
//    memory above 48 KiB only after cudaFuncSetAttribute, the opt-in limit, SM count and
//    occupancy; stream and device checks.
//  - Shared memory is allocated per block with exactly the size declared (static) or launched
//    (dynamic), poisoned at block start; global memory from cudaMalloc is poisoned too.
//  - Each launch runs up to three times from the same device-memory snapshot: threads (between
//    barriers) and blocks in ascending, descending and shuffled order, each with a different
//    shared-memory poison; the device memory afterwards must be bitwise equal (a detector for
//    races and uninitialised shared reads that change results).
//  - Execution faults are reported like an asynchronous kernel fault (cudaErrorLaunchFailure
//    from the launch check or the next synchronising call, once), printed, and counted.
//
// The source rewrite (rewrite_cu.cmake) that precedes compilation turns the three constructs
// C++ cannot express into calls of this header: kernel<<<g, b, smem, s>>>(args) into
// sa_emu::make_launch(kernel, g, b, smem, s)(args), and the two __shared__ declarations into
// sa_emu::static_shared / dynamic_shared. Everything else compiles as written.
#ifndef SA_CUDA_EMU_H
#define SA_CUDA_EMU_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <tuple>
#include <type_traits>
#include <utility>

#define SA_EMU_API __attribute__((visibility("default")))

// The runtime version the emulation stands for (the CUDA 13.0 that CI's nvcc has).
#define CUDART_VERSION 13000

// ---- qualifiers --------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)

// ---- vector and index types ----------------------------------------------------------------
struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(16) float4 {
    float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
struct alignas(16) uint4 {
    unsigned x, y, z, w;
};
struct alignas(16) int4 {
    int x, y, z, w;
};
inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }

// ---- runtime types -----------------------------------------------------------------------
enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInitializationError = 3,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInsufficientDriver = 35,
    cudaErrorInvalidDeviceFunction = 98,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorIllegalAddress = 700,
    cudaErrorLaunchOutOfResources = 701,
    cudaErrorLaunchFailure = 719,
    cudaErrorNotSupported = 801,
};
typedef enum cudaError cudaError_t;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

enum cudaDeviceAttr {
    cudaDevAttrMaxThreadsPerBlock = 1,
    cudaDevAttrMaxBlockDimX = 2,
    cudaDevAttrMaxBlockDimY = 3,
    cudaDevAttrMaxBlockDimZ = 4,
    cudaDevAttrMaxGridDimX = 5,
    cudaDevAttrMaxGridDimY = 6,
    cudaDevAttrMaxGridDimZ = 7,
    cudaDevAttrMaxSharedMemoryPerBlock = 8,
    cudaDevAttrWarpSize = 10,
    cudaDevAttrMultiProcessorCount = 16,
    cudaDevAttrComputeCapabilityMajor = 75,
    cudaDevAttrComputeCapabilityMinor = 76,
    cudaDevAttrMaxSharedMemoryPerMultiprocessor = 81,
    cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
    cudaDevAttrReservedSharedMemoryPerBlock = 111,
    cudaDevAttrMemoryPoolsSupported = 115,
};

enum cudaMemoryType {
    cudaMemoryTypeUnregistered = 0,
    cudaMemoryTypeHost = 1,
    cudaMemoryTypeDevice = 2,
    cudaMemoryTypeManaged = 3,
};

struct cudaPointerAttributes {
    enum cudaMemoryType type;
    int device;
    void* devicePointer;
    void* hostPointer;
};

// Stream-ordered memory pools (the fields the library sets).
typedef struct CUmemPoolHandle_st* cudaMemPool_t;
enum cudaMemAllocationType { cudaMemAllocationTypeInvalid = 0, cudaMemAllocationTypePinned = 1 };
enum cudaMemLocationType { cudaMemLocationTypeInvalid = 0, cudaMemLocationTypeDevice = 1 };
enum cudaMemPoolAttr { cudaMemPoolAttrReleaseThreshold = 4 };
struct cudaMemLocation {
    enum cudaMemLocationType type;
    int id;
};
struct cudaMemPoolProps {
    enum cudaMemAllocationType allocType;
    int handleTypes;
    struct cudaMemLocation location;
    void* win32SecurityAttributes;
    size_t maxSize;
    unsigned short usage;
    unsigned char reserved[54];
};

enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
    cudaFuncAttributePreferredSharedMemoryCarveout = 9,
};

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01

typedef struct CUstream_st* cudaStream_t;

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;
    size_t sharedMemPerBlock;
    size_t sharedMemPerBlockOptin;
    size_t sharedMemPerMultiprocessor;
    int warpSize;
    int maxThreadsPerBlock;
    int maxThreadsDim[3];
    int maxGridSize[3];
    int major, minor;
    int multiProcessorCount;
    int maxThreadsPerMultiProcessor;
};

// ---- runtime API (the calls the .cu files make) ----------------------------------------------
SA_EMU_API cudaError_t cudaGetLastError(void);
SA_EMU_API cudaError_t cudaPeekAtLastError(void);
SA_EMU_API const char* cudaGetErrorString(cudaError_t e);
SA_EMU_API const char* cudaGetErrorName(cudaError_t e);
SA_EMU_API cudaError_t cudaGetDeviceCount(int* count);
SA_EMU_API cudaError_t cudaGetDevice(int* dev);
SA_EMU_API cudaError_t cudaSetDevice(int dev);
SA_EMU_API cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int dev);
SA_EMU_API cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int dev);
SA_EMU_API cudaError_t cudaDeviceSynchronize(void);
SA_EMU_API cudaError_t cudaMalloc(void** p, size_t bytes);
SA_EMU_API cudaError_t cudaFree(void* p);
SA_EMU_API cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t s);
SA_EMU_API cudaError_t cudaFreeAsync(void* p, cudaStream_t s);
SA_EMU_API cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
SA_EMU_API cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s);
SA_EMU_API cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
SA_EMU_API cudaError_t cudaStreamCreate(cudaStream_t* s);
SA_EMU_API cudaError_t cudaStreamDestroy(cudaStream_t s);
SA_EMU_API cudaError_t cudaStreamSynchronize(cudaStream_t s);
SA_EMU_API cudaError_t cudaStreamGetDevice(cudaStream_t s, int* device);
SA_EMU_API cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* p);
SA_EMU_API cudaError_t cudaDriverGetVersion(int* v);
SA_EMU_API cudaError_t cudaMemPoolCreate(cudaMemPool_t* pool, const cudaMemPoolProps* props);
SA_EMU_API cudaError_t cudaMemPoolDestroy(cudaMemPool_t pool);
SA_EMU_API cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, cudaMemPoolAttr attr, void* value);
SA_EMU_API cudaError_t cudaMemPoolTrimTo(cudaMemPool_t pool, size_t keep);
SA_EMU_API cudaError_t cudaMallocFromPoolAsync(void** p, size_t bytes, cudaMemPool_t pool, cudaStream_t s);

template <class T>
inline cudaError_t cudaMalloc(T** p, size_t bytes) {
    return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}
template <class T>
inline cudaError_t cudaMallocAsync(T** p, size_t bytes, cudaStream_t s) {
    return cudaMallocAsync(reinterpret_cast<void**>(p), bytes, s);
}

namespace sa_emu {

// What a CUDA thread sees: its indices, and where its launch records the kernel's name.
struct ThreadView {
    uint3 tid, bid;
    dim3 bdim, gdim;
    const char** kernel_name;  // the launch's slot, filled from the first index read
};
extern SA_EMU_API const ThreadView* g_view;  // the running CUDA thread (one launch at a time)

inline const ThreadView* view(const char* fn) {
    const ThreadView* v = g_view;
    if (__builtin_expect(*v->kernel_name == nullptr, 0)) *v->kernel_name = fn;
    return v;
}

SA_EMU_API void syncthreads(const char* file, int line);
SA_EMU_API unsigned ballot_sync(unsigned mask, bool pred, const char* file, int line);
SA_EMU_API void* dynamic_shared_raw();
SA_EMU_API void* static_shared_raw(size_t bytes, size_t align);

template <class T>
T* dynamic_shared() {
    return static_cast<T*>(dynamic_shared_raw());
}
template <class T>
T& static_shared() {
    return *static_cast<T*>(static_shared_raw(sizeof(T), alignof(T)));
}

SA_EMU_API cudaError_t func_set_attribute(const void* func, cudaFuncAttribute attr, int value);
SA_EMU_API cudaError_t occupancy(int* blocks, const void* func, int threads, size_t smem);

struct LaunchConfig {
    const void* func;
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
};

// Runs body(ctx) as every thread of the grid. ptrs: the kernel's pointer arguments, checked to
// be device memory of the launch's device (or null).
SA_EMU_API void run_launch(const LaunchConfig& cfg, void (*body)(void*), void* ctx, const void* const* ptrs,
                           int nptrs);

template <class... P>
struct Launch {
    void (*kernel)(P...);
    LaunchConfig cfg;

    template <class... A>
    void operator()(A&&... args) const {
        static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
        struct Pack {
            void (*kernel)(P...);
            std::tuple<typename std::decay<P>::type...> params;
        };
        // The arguments convert to the parameter types as in a direct <<<>>> launch.
        Pack pack{kernel, std::tuple<typename std::decay<P>::type...>(std::forward<A>(args)...)};
        const void* ptrs[sizeof...(P) + 1] = {};
        int n = 0;
        std::apply(
            [&](const auto&... v) {
                auto one = [&](const auto& x) {
                    if constexpr (std::is_pointer<std::decay_t<decltype(x)>>::value)
                        ptrs[n++] = reinterpret_cast<const void*>(x);
                };
                (one(v), ...);
            },
            pack.params);
        // Every CUDA thread calls the kernel with its own copies of the parameters.
        run_launch(
            cfg, [](void* c) { Pack* p = static_cast<Pack*>(c); std::apply(p->kernel, p->params); }, &pack, ptrs, n);
    }
};

template <class... P>
Launch<P...> make_launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem = 0, cudaStream_t stream = nullptr) {
    return Launch<P...>{kernel, LaunchConfig{reinterpret_cast<const void*>(kernel), grid, block, smem, stream}};
}

}  // namespace sa_emu

template <class... P>
inline cudaError_t cudaFuncSetAttribute(void (*func)(P...), cudaFuncAttribute attr, int value) {
    return sa_emu::func_set_attribute(reinterpret_cast<const void*>(func), attr, value);
}
inline cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
    return sa_emu::func_set_attribute(func, attr, value);
}
template <class... P>
inline cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, void (*func)(P...), int threads,
                                                                 size_t smem) {
    return sa_emu::occupancy(blocks, reinterpret_cast<const void*>(func), threads, smem);
}

// ---- device built-ins --------------------------------------------------------------------
// The kernel's name comes from the first index variable it reads (__PRETTY_FUNCTION__).
#define threadIdx (::sa_emu::view(__PRETTY_FUNCTION__)->tid)
#define blockIdx (::sa_emu::view(__PRETTY_FUNCTION__)->bid)
#define blockDim (::sa_emu::view(__PRETTY_FUNCTION__)->bdim)
#define gridDim (::sa_emu::view(__PRETTY_FUNCTION__)->gdim)
#define __syncthreads() ::sa_emu::syncthreads(__FILE__, __LINE__)

// Warp vote: every lane of the mask must reach the same call (run_block resolves the warp).
#define __ballot_sync(mask, pred) ::sa_emu::ballot_sync((mask), (pred) != 0, __FILE__, __LINE__)
// (hi:lo) >> (shift & 31), the low 32 bits (a rotate when hi == lo).
inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned shift) {
    const unsigned s = shift & 31u;
    return s == 0 ? lo : (lo >> s) | (hi << (32u - s));
}

// Byte n of the result: byte (s >> 4n) & 7 of the eight bytes y:x (x the low four).
inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
    const uint64_t v = (uint64_t)y << 32 | x;
    unsigned r = 0;
    for (int n = 0; n < 4; n++) r |= (unsigned)(v >> (8 * ((s >> (4 * n)) & 7u)) & 0xffu) << (8 * n);
    return r;
}

template <class T>
inline T __ldg(const T* p) {
    return *p;
}
// Streaming store (cache hint only).
template <class T>
inline void __stcs(T* p, T v) {
    *p = v;
}

// CUDA's device min/max: the integer overloads compare in the common type; float ones are
// fminf/fmaxf (a NaN operand loses).
template <class A, class B>
inline typename std::common_type<A, B>::type min(A a, B b) {
    typedef typename std::common_type<A, B>::type T;
    return (T)b < (T)a ? (T)b : (T)a;
}
template <class A, class B>
inline typename std::common_type<A, B>::type max(A a, B b) {
    typedef typename std::common_type<A, B>::type T;
    return (T)a < (T)b ? (T)b : (T)a;
}
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }

#endif
