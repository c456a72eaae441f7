// CUDA kernels of the element-wise operators: LeakyReLU / ReLU / PReLU forward and backward,
// and star (see spatialact.h for the contracts and docs/OPERATORS.md for the math).
//
// Element-wise operators are bandwidth bound: one generic grid-stride kernel moves 16-byte
// (float4) vectors when every pointer has the same 16-byte phase (a short scalar head peels
// off the misaligned front, a scalar tail finishes), and falls back to scalar loads when the
// phases differ. The per-element formula comes from sa_math.h, the one the CPU kernels use,
// so both backends agree bit for bit.
#include <stdint.h>

#include "../cpp/common/sa_math.h"
#include "kernel_utils.cuh"
#include "spatialact/spatialact.h"

using namespace sa::cuda;
using sa::fail;

namespace {

constexpr int kBlocksPerSm = 32;  // element-wise grid cap: 4 full waves of 8 blocks/SM;
                                  // beyond that the grid-stride loop takes over
constexpr int kVecInFlight = 4;   // float4 loads in flight per thread in the vector loop

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
// (__launch_bounds__ with 4 blocks per SM, i.e. up to 64 registers: without the minimum,
// ptxas 13.0 kept LeakyOp's kernel for sm_80 at 32 registers and spilled the vectors in flight.)
template <class Op>
__global__ void __launch_bounds__(kThreads, 4)
    elementwise_kernel(Op op, const float* a, const float* b, float* y, int64_t n, int64_t head, int64_t nvec) {
    const int64_t tid = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = tid; i < head; i += stride) y[i] = op(i, a[i], Op::kBinary ? b[i] : 0.0f);
    const float4* a4 = reinterpret_cast<const float4*>(a + head);
    const float4* b4 = Op::kBinary ? reinterpret_cast<const float4*>(b + head) : nullptr;
    float4* y4 = reinterpret_cast<float4*>(y + head);
    // kVecInFlight vectors per thread and iteration, all loaded before any is stored: with one
    // load in flight per thread the loop waits a DRAM latency per vector (y may alias a or b, so
    // the compiler may not hoist the next load above this store itself; each element is still
    // read and written by the same thread, so this order is legal in place).
    int64_t v = tid;
    for (; v + (kVecInFlight - 1) * stride < nvec; v += kVecInFlight * stride) {
        float4 va[kVecInFlight], vb[kVecInFlight];
#pragma unroll
        for (int u = 0; u < kVecInFlight; u++) {
            va[u] = a4[v + u * stride];
            if constexpr (Op::kBinary) vb[u] = b4[v + u * stride];
            else vb[u] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        }
#pragma unroll
        for (int u = 0; u < kVecInFlight; u++) y4[v + u * stride] = op.apply4(head + 4 * (v + u * stride), va[u], vb[u]);
    }
    for (; v < nvec; v += stride) {
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
    // Threads for the dominant loop: kVecInFlight vectors each (scalar: one element each).
    const int64_t work = nvec > 0 ? (nvec + kVecInFlight - 1) / kVecInFlight : n;
    int64_t blocks = (work + kThreads - 1) / kThreads;
    const int64_t cap = (int64_t)ctx.sms * kBlocksPerSm;
    if (blocks > cap) blocks = cap;
    if (blocks < 1) blocks = 1;
    return launch(fn, "elementwise_kernel", elementwise_kernel<Op>, dim3((unsigned)blocks), dim3(kThreads), 0, ctx, op,
                  a, b, y, n, head, nvec);
}

}  // namespace

extern "C" {

int sa_cuda_leaky_relu_forward(const float* x, float* y, sa_shape shape, const sa_params* p, void* stream) {
    const char* fn = "sa_cuda_leaky_relu_forward";
    int64_t n;
    return with_launch_ctx(fn, sa::check_leaky(fn, x, y, shape, p, &n), stream,
                           {{"x", x}, {"y", y}, {"alpha_per_channel", p ? p->alpha_per_channel : nullptr}}, [&](const LaunchCtx& ctx) {
        if (p->alpha_per_channel)
            return launch_elementwise(fn, ctx, PReluOp{{p->alpha_per_channel, shape.h * shape.w, shape.c}}, x,
                                      (const float*)nullptr, y, n);
        return launch_elementwise(fn, ctx, LeakyOp{p->alpha}, x, (const float*)nullptr, y, n);
    });
}

int sa_cuda_leaky_relu_backward(const float* x, const float* dy, float* dx, sa_shape shape, const sa_params* p,
                                void* stream) {
    const char* fn = "sa_cuda_leaky_relu_backward";
    int64_t n;
    int rc = sa::check_leaky(fn, x, dx, shape, p, &n);
    if (!rc) rc = sa::check_ptr(fn, dy, "dy");
    if (!rc) rc = sa::check_overlap(fn, dy, "dy", dx, "dx", n * 4, true);
    return with_launch_ctx(fn, rc, stream,
                           {{"x", x}, {"dy", dy}, {"dx", dx}, {"alpha_per_channel", p ? p->alpha_per_channel : nullptr}},
                           [&](const LaunchCtx& ctx) {
        if (p->alpha_per_channel)
            return launch_elementwise(fn, ctx, PReluGradOp{{p->alpha_per_channel, shape.h * shape.w, shape.c}}, x,
                                      dy, dx, n);
        return launch_elementwise(fn, ctx, LeakyGradOp{p->alpha}, x, dy, dx, n);
    });
}

int sa_cuda_star_forward(const float* a, const float* b, float* y, sa_shape shape, const sa_params* p, void* stream) {
    const char* fn = "sa_cuda_star_forward";
    int64_t n;
    return with_launch_ctx(fn, sa::check_star(fn, a, b, y, shape, p, &n), stream, {{"a", a}, {"b", b}, {"y", y}}, [&](const LaunchCtx& ctx) {
        const float alpha = p->alpha;
        return with_act(p->act, [&](auto act) {
            return launch_elementwise(fn, ctx, StarOp<decltype(act)::value>{alpha}, a, b, y, n);
        });
    });
}

SA_NOT_IMPLEMENTED_ENTRY(sa_cuda_star_backward, const float*, const float*, const float*, float*, float*, sa_shape,
                         const sa_params*, void*)

}  // extern "C"
