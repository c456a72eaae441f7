// CUDA forward kernels of LeakyReLU / ReLU / PReLU, star and FReLU, and the LeakyReLU
// backward (see spatialact.h for the contracts and docs/OPERATORS.md for the math).
//
// Design, and why:
//  - Element-wise operators are bandwidth bound: one generic grid-stride kernel moves 16-byte
//    (float4) vectors when every pointer has the same 16-byte phase (a short scalar head peels
//    off the misaligned front, a scalar tail finishes), and falls back to scalar loads when the
//    phases differ. The per-element formula comes from sa_math.h, the one the CPU kernels use,
//    so both backends agree bit for bit.
//  - FReLU is one fused pass: a block stages a 32 x 32 output tile plus its K/2 halo of the
//    plane in shared memory (zeros outside the image = the conv's zero padding), every thread
//    computes 4 vertically adjacent outputs from it (each staged row is read once per thread
//    and reused by up to 4 outputs), adds the folded BN shift and takes sa_max_nan(x, T).
//    x is read once from DRAM (halo re-reads hit L2) and y written once: LeakyReLU's bytes.
//    The summation order is the CPU kernel's (acc = bias, then a-major, b-minor FMA; LIGHT:
//    (bias + row taps) + column taps), so results should match the FMA builds of the CPU
//    kernel bit for bit (test_ops counts the identical outputs).
//  - Indices that address the tensor are int64_t: numel and even one plane may exceed 2^31.
//    Grids are 1-D (grid.x may be up to 2^31-1) and every kernel loops grid-stride, so no
//    shape runs into the 65535 limit of grid.y / grid.z or overflows grid.x.
//  - Every entry point validates through the shared validators first (same messages as the
//    CPU backend, nothing written on failure), then checks what only the GPU needs (4-byte
//    alignment), then launches on the caller's stream and checks the launch. Kernels are
//    asynchronous: faults inside a kernel surface at the caller's next synchronisation.
//  - Kernels run on the current device (cudaGetDevice); the stream must belong to it.
#include <stdint.h>

#include <atomic>
#include <type_traits>

#include "../cpp/common/sa_math.h"
#include "cuda_check.cuh"
#include "spatialact/spatialact.h"

using sa::fail;

namespace {

// ---- launch plumbing --------------------------------------------------------------------

constexpr int kThreads = 256;        // element-wise block size
constexpr int kBlocksPerSm = 32;     // element-wise grid cap: 4 full waves of 8 blocks/SM;
                                     // beyond that the grid-stride loop takes over
constexpr int kMaxDevices = 64;

// Where and how wide to launch: the caller's stream and the current device's SM count.
struct LaunchCtx {
    cudaStream_t stream;
    int sms;
};

int launch_ctx(const char* fn, void* stream, LaunchCtx* ctx) {
    // The SM count is cached per device: cudaDeviceGetAttribute is cheap but not free, and
    // these entry points are called once per layer per forward pass.
    static std::atomic<int> sm_cache[kMaxDevices];
    int dev = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e != cudaSuccess) {
        cudaGetLastError();  // leave no stale error for the next SA_CUDA_LAUNCHED to report
        return sa::cuda_fail(e, fn, "cudaGetDevice(&dev)", __FILE__, __LINE__);
    }
    int sms = (dev >= 0 && dev < kMaxDevices) ? sm_cache[dev].load(std::memory_order_relaxed) : 0;
    if (sms <= 0) {
        e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
        if (e != cudaSuccess) {
            cudaGetLastError();
            return sa::cuda_fail(e, fn, "cudaDeviceGetAttribute(cudaDevAttrMultiProcessorCount)", __FILE__,
                                 __LINE__);
        }
        if (sms < 1) sms = 1;
        if (dev >= 0 && dev < kMaxDevices) sm_cache[dev].store(sms, std::memory_order_relaxed);
    }
    // An earlier failed call of this library (say a memcpy with a bad pointer, already
    // reported to its caller) leaves its non-sticky error as the runtime's "last error";
    // clear it so that SA_CUDA_LAUNCHED after our launch reports this launch only. Sticky
    // errors (a faulted context) are not cleared by this and still fail the launch.
    cudaGetLastError();
    ctx->stream = (cudaStream_t)stream;
    ctx->sms = sms;
    return SA_OK;
}

// One launch site for every kernel: launch on the caller's stream, then check the launch
// (bad configuration, missing kernel image for this GPU, ...). Arguments convert to the
// kernel's parameter types as in a direct <<<>>> launch.
template <class... P, class... A>
int launch(const char* fn, void (*kernel)(P...), dim3 grid, dim3 block, const LaunchCtx& ctx, A... args) {
    kernel<<<grid, block, 0, ctx.stream>>>(args...);
    SA_CUDA_LAUNCHED(fn, "kernel launch (<<<grid, block, 0, stream>>>)");
    return SA_OK;
}

// Runtime value -> template argument, so that each kernel is written once and instantiated
// per compile-time case instead of copy-pasted launch ladders.
template <class F>
int with_k(int k, F&& f) {
    switch (k) {
        case 1: return f(std::integral_constant<int, 1>{});
        case 3: return f(std::integral_constant<int, 3>{});
        case 5: return f(std::integral_constant<int, 5>{});
        case 7: return f(std::integral_constant<int, 7>{});
        default: return fail(SA_ERR_INTERNAL, "with_k: kernel size %d has no CUDA instantiation", k);
    }
}

template <class F>
int with_bool(bool b, F&& f) {
    return b ? f(std::true_type{}) : f(std::false_type{});
}

template <class F>
int with_act(int act, F&& f) {
    switch (act) {
        case SA_ACT_IDENTITY: return f(std::integral_constant<int, SA_ACT_IDENTITY>{});
        case SA_ACT_RELU: return f(std::integral_constant<int, SA_ACT_RELU>{});
        case SA_ACT_RELU6: return f(std::integral_constant<int, SA_ACT_RELU6>{});
        case SA_ACT_LEAKY_RELU: return f(std::integral_constant<int, SA_ACT_LEAKY_RELU>{});
        default: return fail(SA_ERR_INTERNAL, "with_act: act %d has no CUDA instantiation", act);
    }
}

// Scalar loads of a float need 4-byte alignment on the GPU (a misaligned one faults and
// poisons the context), so reject it up front instead.
int check_align4(const char* fn, const void* p, const char* name) {
    if (p && ((uintptr_t)p & 3u) != 0)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: %s = %p is not 4-byte aligned", fn, name, p);
    return SA_OK;
}

// ---- element-wise kernels ----------------------------------------------------------------

// Each op maps (global index, a, b) -> y for one element, and four consecutive elements at
// once. Unary ops ignore b and never have it loaded (kBinary).
template <class Op>
__device__ __forceinline__ float4 apply4_each(const Op& op, int64_t i, float4 a, float4 b) {
    return make_float4(op(i, a.x, b.x), op(i + 1, a.y, b.y), op(i + 2, a.z, b.z), op(i + 3, a.w, b.w));
}

struct LeakyOp {
    static constexpr bool kBinary = false;
    float alpha;
    __device__ float operator()(int64_t, float x, float) const { return sa_leaky(x, alpha); }
    __device__ float4 apply4(int64_t i, float4 a, float4 b) const { return apply4_each(*this, i, a, b); }
};

// Per-channel slope: element i lies in plane i / (H*W), channel plane % C. The 64-bit
// division is done once per float4; the rare vector that straddles a plane border (or a
// plane smaller than 4 elements) recomputes the channel for the lanes past the border.
struct PReluSlope {
    const float* alpha;  // device, C values
    int64_t plane;       // H*W
    int64_t channels;
    __device__ float at(int64_t i) const { return alpha[(i / plane) % channels]; }
    __device__ void at4(int64_t i, float s[4]) const {
        const int64_t p = i / plane;
        const int64_t r = i - p * plane;
        const float s0 = alpha[p % channels];
#pragma unroll
        for (int e = 0; e < 4; e++) s[e] = (r + e < plane) ? s0 : at(i + e);
    }
};

struct PReluOp {
    static constexpr bool kBinary = false;
    PReluSlope slope;
    __device__ float operator()(int64_t i, float x, float) const { return sa_leaky(x, slope.at(i)); }
    __device__ float4 apply4(int64_t i, float4 a, float4) const {
        float s[4];
        slope.at4(i, s);
        return make_float4(sa_leaky(a.x, s[0]), sa_leaky(a.y, s[1]), sa_leaky(a.z, s[2]), sa_leaky(a.w, s[3]));
    }
};

// Backward: a = x, b = dy; dx = dy * (x > 0 ? 1 : alpha), in the CPU kernel's operand order.
struct LeakyGradOp {
    static constexpr bool kBinary = true;
    float alpha;
    __device__ float operator()(int64_t, float x, float dy) const { return dy * sa_leaky_grad(x, alpha); }
    __device__ float4 apply4(int64_t i, float4 a, float4 b) const { return apply4_each(*this, i, a, b); }
};

struct PReluGradOp {
    static constexpr bool kBinary = true;
    PReluSlope slope;
    __device__ float operator()(int64_t i, float x, float dy) const { return dy * sa_leaky_grad(x, slope.at(i)); }
    __device__ float4 apply4(int64_t i, float4 a, float4 b) const {
        float s[4];
        slope.at4(i, s);
        return make_float4(b.x * sa_leaky_grad(a.x, s[0]), b.y * sa_leaky_grad(a.y, s[1]),
                           b.z * sa_leaky_grad(a.z, s[2]), b.w * sa_leaky_grad(a.w, s[3]));
    }
};

// Star: y = act(a) * b, the activation fixed at compile time (no switch per element).
template <int ACT>
struct StarOp {
    static constexpr bool kBinary = true;
    float alpha;
    __device__ float operator()(int64_t, float a, float b) const { return sa_star_act(a, ACT, alpha) * b; }
    __device__ float4 apply4(int64_t i, float4 a, float4 b) const { return apply4_each(*this, i, a, b); }
};

// Elements [0, head) and [head + 4*nvec, n) go scalar, [head, head + 4*nvec) as float4; the
// caller chose head so that a + head, b + head and y + head are 16-byte aligned (or head = n
// when their phases differ). y may equal a or b: each element is read and then written by
// the same thread, so there is no __restrict__ and no read-only (nc) load here.
template <class Op>
__global__ void __launch_bounds__(kThreads)
    elementwise_kernel(Op op, const float* a, const float* b, float* y, int64_t n, int64_t head, int64_t nvec) {
    const int64_t tid = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = tid; i < head; i += stride) y[i] = op(i, a[i], Op::kBinary ? b[i] : 0.0f);
    const float4* a4 = reinterpret_cast<const float4*>(a + head);
    const float4* b4 = Op::kBinary ? reinterpret_cast<const float4*>(b + head) : nullptr;
    float4* y4 = reinterpret_cast<float4*>(y + head);
    for (int64_t v = tid; v < nvec; v += stride) {
        const float4 va = a4[v];
        const float4 vb = Op::kBinary ? b4[v] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        y4[v] = op.apply4(head + 4 * v, va, vb);
    }
    for (int64_t i = head + 4 * nvec + tid; i < n; i += stride) y[i] = op(i, a[i], Op::kBinary ? b[i] : 0.0f);
}

template <class Op>
int launch_elementwise(const char* fn, const LaunchCtx& ctx, const Op& op, const float* a, const float* b, float* y,
                       int64_t n) {
    // float4 needs the same 16-byte phase everywhere; all pointers are 4-byte aligned here.
    const uintptr_t phase = (uintptr_t)y & 15u;
    const bool same_phase = ((uintptr_t)a & 15u) == phase && (!Op::kBinary || ((uintptr_t)b & 15u) == phase);
    int64_t head = n, nvec = 0;
    if (same_phase) {
        head = (int64_t)(((16u - phase) & 15u) / 4u);
        if (head > n) head = n;
        nvec = (n - head) / 4;
    }
    const int64_t work = nvec > 0 ? nvec : n;  // items of the dominant loop
    int64_t blocks = (work + kThreads - 1) / kThreads;
    const int64_t cap = (int64_t)ctx.sms * kBlocksPerSm;
    if (blocks > cap) blocks = cap;
    if (blocks < 1) blocks = 1;
    return launch(fn, elementwise_kernel<Op>, dim3((unsigned)blocks), dim3(kThreads), ctx, op, a, b, y, n, head,
                  nvec);
}

// ---- FReLU ------------------------------------------------------------------------------

constexpr int kTileW = 32;                         // output tile width = warp width: one
                                                   // warp covers one tile row, coalesced
constexpr int kRowsPerThread = 4;                  // outputs per thread, stacked vertically
constexpr int kTileH = 32;                         // output tile height
constexpr int kFreluThreadsY = kTileH / kRowsPerThread;
constexpr int kFreluThreads = kTileW * kFreluThreadsY;  // 256
static_assert(kTileH % kRowsPerThread == 0, "tile height must split into thread rows");

// One block per (plane, tile row, tile column), looping grid-stride over tiles so that any
// number of tiles fits a 1-D grid. weight: [C][K][K] (FULL) or [C][2][K] (LIGHT: row 0 the
// 1 x K horizontal filter, row 1 the K x 1 vertical one), BN folded in; bias: [C] or NULL.
template <int K, bool LIGHT>
__global__ void __launch_bounds__(kFreluThreads)
    frelu_kernel(const float* __restrict__ x, float* __restrict__ y, const float* __restrict__ weight,
                 const float* __restrict__ bias, int64_t C, int64_t H, int64_t W, int64_t tiles_w,
                 int64_t tiles_per_plane, int64_t total_tiles) {
    constexpr int R = K / 2;
    constexpr int SH = kTileH + 2 * R, SW = kTileW + 2 * R;
    constexpr int NW = LIGHT ? 2 * K : K * K;
    // Row stride SW: a warp reads 32 consecutive words of one staged row (conflict-free) and
    // the staging loop writes consecutive words (conflict-free).
    __shared__ float tile[SH][SW];

    const int tx = threadIdx.x;                   // output column in the tile
    const int ty0 = threadIdx.y * kRowsPerThread;  // first of this thread's output rows
    const int tid = threadIdx.y * kTileW + threadIdx.x;

    for (int64_t t = blockIdx.x; t < total_tiles; t += gridDim.x) {
        const int64_t plane = t / tiles_per_plane;
        const int64_t rest = t - plane * tiles_per_plane;
        const int64_t ti = rest / tiles_w;
        const int64_t i0 = ti * kTileH, j0 = (rest - ti * tiles_w) * kTileW;
        const int64_t c = plane % C;
        const float* xp = x + plane * H * W;
        float* yp = y + plane * H * W;

        // This channel's filter in registers (indices are compile-time after unrolling); the
        // same address for every thread, so one broadcast load each.
        float w[NW];
#pragma unroll
        for (int q = 0; q < NW; q++) w[q] = __ldg(weight + c * NW + q);
        const float shift = bias ? __ldg(bias + c) : 0.0f;  // the CPU adds 0 when NULL too

        // Stage rows i0-R .. i0+kTileH+R-1, columns j0-R .. j0+kTileW+R-1; zero outside.
        for (int idx = tid; idx < SH * SW; idx += kFreluThreads) {
            const int r = idx / SW, s = idx - r * SW;  // SW is a constant: no real division
            const int64_t gi = i0 - R + r, gj = j0 - R + s;
            float v = 0.0f;
            if (gi >= 0 && gi < H && gj >= 0 && gj < W) v = xp[gi * W + gj];
            tile[r][s] = v;
        }
        __syncthreads();

        float out[kRowsPerThread];
        if (!LIGHT) {
            // Stream the kRowsPerThread + K - 1 staged rows this thread needs; staged row r
            // feeds output o with filter row a = r - o. For each output, acc starts at the bias,
            // a rises with r and b rises inside: the CPU's order (kernels_isa.cpp).
            float acc[kRowsPerThread];
#pragma unroll
            for (int o = 0; o < kRowsPerThread; o++) acc[o] = shift;
#pragma unroll
            for (int r = 0; r < kRowsPerThread + K - 1; r++) {
                float v[K];
#pragma unroll
                for (int b = 0; b < K; b++) v[b] = tile[ty0 + r][tx + b];
#pragma unroll
                for (int o = 0; o < kRowsPerThread; o++) {
                    const int a = r - o;
                    if (a >= 0 && a < K) {
#pragma unroll
                        for (int b = 0; b < K; b++) acc[o] = fmaf(w[a * K + b], v[b], acc[o]);
                    }
                }
            }
#pragma unroll
            for (int o = 0; o < kRowsPerThread; o++) out[o] = acc[o];
        } else {
#pragma unroll
            for (int o = 0; o < kRowsPerThread; o++) {
                float hs = shift, vs = 0.0f;
#pragma unroll
                for (int b = 0; b < K; b++) hs = fmaf(w[b], tile[ty0 + o + R][tx + b], hs);
#pragma unroll
                for (int a = 0; a < K; a++) vs = fmaf(w[K + a], tile[ty0 + o + a][tx + R], vs);
                out[o] = hs + vs;
            }
        }

        const int64_t j = j0 + tx;
#pragma unroll
        for (int o = 0; o < kRowsPerThread; o++) {
            const int64_t i = i0 + ty0 + o;
            if (i < H && j < W) yp[i * W + j] = sa_max_nan(tile[ty0 + o + R][tx + R], out[o]);
        }
        __syncthreads();  // the tile is restaged by the next iteration
    }
}

template <int K, bool LIGHT>
int launch_frelu(const char* fn, const LaunchCtx& ctx, const float* x, float* y, sa_shape s, const sa_params* p) {
    const int64_t tiles_w = (s.w + kTileW - 1) / kTileW;
    const int64_t tiles_h = (s.h + kTileH - 1) / kTileH;
    const int64_t tiles_per_plane = tiles_w * tiles_h;
    const int64_t total = s.n * s.c * tiles_per_plane;  // <= numel, fits int64
    // One block per tile is best (the hardware scheduler balances); only tensors with more
    // than 2^31-1 tiles make blocks loop.
    const int64_t blocks = total < (int64_t)INT32_MAX ? total : (int64_t)INT32_MAX;
    return launch(fn, frelu_kernel<K, LIGHT>, dim3((unsigned)blocks), dim3(kTileW, kFreluThreadsY), ctx, x, y,
                  p->weight, p->bias, s.c, s.h, s.w, tiles_w, tiles_per_plane, total);
}

}  // namespace

extern "C" {

int sa_cuda_leaky_relu_forward(const float* x, float* y, sa_shape shape, const sa_params* p, void* stream) {
    const char* fn = "sa_cuda_leaky_relu_forward";
    int64_t n;
    int rc = sa::check_leaky(fn, x, y, shape, p, &n);
    if (rc || (rc = check_align4(fn, x, "x")) || (rc = check_align4(fn, y, "y")) ||
        (rc = check_align4(fn, p->alpha_per_channel, "params.alpha_per_channel")))
        return rc;
    LaunchCtx ctx;
    if ((rc = launch_ctx(fn, stream, &ctx))) return rc;
    if (p->alpha_per_channel)
        return launch_elementwise(fn, ctx, PReluOp{{p->alpha_per_channel, shape.h * shape.w, shape.c}}, x,
                                  (const float*)nullptr, y, n);
    return launch_elementwise(fn, ctx, LeakyOp{p->alpha}, x, (const float*)nullptr, y, n);
}

int sa_cuda_leaky_relu_backward(const float* x, const float* dy, float* dx, sa_shape shape, const sa_params* p,
                                void* stream) {
    const char* fn = "sa_cuda_leaky_relu_backward";
    int64_t n;
    int rc = sa::check_leaky(fn, x, dx, shape, p, &n);
    if (rc || (rc = sa::check_ptr(fn, dy, "dy")) || (rc = sa::check_overlap(fn, dy, "dy", dx, "dx", n * 4, true)))
        return rc;
    if ((rc = check_align4(fn, x, "x")) || (rc = check_align4(fn, dy, "dy")) || (rc = check_align4(fn, dx, "dx")) ||
        (rc = check_align4(fn, p->alpha_per_channel, "params.alpha_per_channel")))
        return rc;
    LaunchCtx ctx;
    if ((rc = launch_ctx(fn, stream, &ctx))) return rc;
    if (p->alpha_per_channel)
        return launch_elementwise(fn, ctx, PReluGradOp{{p->alpha_per_channel, shape.h * shape.w, shape.c}}, x, dy,
                                  dx, n);
    return launch_elementwise(fn, ctx, LeakyGradOp{p->alpha}, x, dy, dx, n);
}

int sa_cuda_star_forward(const float* a, const float* b, float* y, sa_shape shape, const sa_params* p, void* stream) {
    const char* fn = "sa_cuda_star_forward";
    int64_t n;
    int rc = sa::check_star(fn, a, b, y, shape, p, &n);
    if (rc || (rc = check_align4(fn, a, "a")) || (rc = check_align4(fn, b, "b")) || (rc = check_align4(fn, y, "y")))
        return rc;
    LaunchCtx ctx;
    if ((rc = launch_ctx(fn, stream, &ctx))) return rc;
    const float alpha = p->alpha;
    return with_act(p->act, [&](auto act) {
        return launch_elementwise(fn, ctx, StarOp<decltype(act)::value>{alpha}, a, b, y, n);
    });
}

int sa_cuda_frelu_forward(const float* x, float* y, sa_shape shape, const sa_params* p, void* stream) {
    const char* fn = "sa_cuda_frelu_forward";
    int64_t n;
    int rc = sa::check_frelu(fn, x, y, shape, p, &n);
    if (rc || (rc = check_align4(fn, x, "x")) || (rc = check_align4(fn, y, "y")) ||
        (rc = check_align4(fn, p->weight, "params.weight")) || (rc = check_align4(fn, p->bias, "params.bias")))
        return rc;
    LaunchCtx ctx;
    if ((rc = launch_ctx(fn, stream, &ctx))) return rc;
    return with_k(p->k, [&](auto k) {
        return with_bool(p->variant == SA_FRELU_LIGHT, [&](auto light) {
            return launch_frelu<decltype(k)::value, decltype(light)::value>(fn, ctx, x, y, shape, p);
        });
    });
}

int sa_cuda_frelu_backward(const float*, const float*, float*, sa_shape, const sa_params*, void*) {
    return fail(SA_ERR_NOT_IMPLEMENTED, "sa_cuda_frelu_backward: FReLU gradients are not implemented on the GPU yet");
}

int sa_cuda_star_backward(const float*, const float*, const float*, float*, float*, sa_shape, const sa_params*,
                          void*) {
    return fail(SA_ERR_NOT_IMPLEMENTED, "sa_cuda_star_backward: star gradients are not implemented on the GPU yet");
}

}  // extern "C"
