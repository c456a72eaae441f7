/*
 * spatialact: the one C header. Every operator's entry point is declared here once, forward
 * and backward side by side, CPU and CUDA side by side. The JavaCPP class
 * dev.spatialact.internal.SpatialActNative mirrors this file one to one.
 *
 * Conventions (see docs/OPERATORS.md of the project and the spec it follows):
 *  - tensors are float32, NCHW, contiguous; element (n,c,i,j) is at ((n*C+c)*H+i)*W+j;
 *    indices are 64-bit;
 *  - every function returns an sa_status code; SA_OK is 0. On failure the message of the
 *    failing call is kept per thread and read with sa_last_error();
 *  - native code never aborts or exits: every failure, CUDA's included, is a status code;
 *  - validation happens before any write: a call rejected for its arguments leaves the output
 *    untouched (SA_ERR_OUT_OF_MEMORY from a workspace allocation may come after part of the
 *    output was written);
 *  - CPU entry points take host pointers; CUDA entry points take device pointers (the
 *    params' weight pointers included) and a cudaStream_t passed as void* (NULL = the
 *    legacy default stream). CUDA calls are asynchronous on that stream.
 */
#ifndef SPATIALACT_H
#define SPATIALACT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define SA_API __declspec(dllexport)
#else
#define SA_API __attribute__((visibility("default")))
#endif

/* ---- status codes ------------------------------------------------------------------- */
#define SA_OK                    0
#define SA_ERR_INVALID_ARGUMENT  1  /* a shape, pointer or parameter is out of range    */
#define SA_ERR_OUT_OF_MEMORY     2  /* host or device allocation failed                 */
#define SA_ERR_NOT_IMPLEMENTED   3  /* declared, not implemented on this backend yet    */
#define SA_ERR_NO_CUDA           4  /* built without CUDA, or no usable driver / GPU    */
#define SA_ERR_CUDA              5  /* a CUDA call failed; the message names the call   */
#define SA_ERR_INTERNAL          6
#define SA_ERR_CANCELLED         7  /* sa_cpu_forward_cancellable: the flag was raised   */

/* ---- enumerations -------------------------------------------------------------------- */
/* star: y = act(a) * b */
#define SA_ACT_IDENTITY   0
#define SA_ACT_RELU       1
#define SA_ACT_RELU6      2
#define SA_ACT_LEAKY_RELU 3

/* FReLU funnel condition */
#define SA_FRELU_FULL  0   /* T = BN(depthwise k x k conv)                  */
#define SA_FRELU_LIGHT 1   /* T = BN1(conv 1 x k) + BN2(conv k x 1)         */

/* CPU instruction sets (sa_cpu_isa / sa_cpu_set_isa) */
#define SA_ISA_BASELINE 0  /* x86-64 baseline, SSE2 */
#define SA_ISA_AVX2     1  /* AVX2 + FMA             */
#define SA_ISA_AVX512   2  /* AVX-512 F/BW/DQ/VL     */

/* ---- shape and parameters ------------------------------------------------------------ */
typedef struct sa_shape {
    int64_t n, c, h, w;
} sa_shape;

/*
 * One parameter block for every operator; each operator reads only its own fields.
 * sa_params_init() fills the spec's defaults.
 */
typedef struct sa_params {
    /* LeakyReLU / ReLU / PReLU, star (leaky act), TD- and NTD-LReLU */
    float alpha;                      /* default 0.01; 0 = ReLU                          */
    const float* alpha_per_channel;   /* PReLU: C slopes; NULL for a single alpha        */

    /* star */
    int32_t act;                      /* SA_ACT_*, default SA_ACT_IDENTITY               */

    /* FReLU. Batch norm is folded by the caller (see sa_frelu_fold_bn):
     *   FULL : weight[C][k][k] = s[c] * w[c],      bias[C] = t[c]
     *   LIGHT: weight[C][2][k]: [c][0][:] = s1[c] * w_1xk[c], [c][1][:] = s2[c] * w_kx1[c],
     *          bias[C] = t1[c] + t2[c]                                                   */
    int32_t k;                        /* odd, 1..SA_FRELU_MAX_K, default 3                */
    int32_t variant;                  /* SA_FRELU_FULL or SA_FRELU_LIGHT                  */
    const float* weight;
    const float* bias;                /* may be NULL: no shift                            */

    /* TD-LReLU and NTD-LReLU */
    float lambda;                     /* default 0.1, >= 0                                */
    float sigma;                      /* default 1.0, > 0                                 */
    float eps;                        /* gate smoothing; 0 = hard gate (default)          */
    int32_t radius;                   /* Gaussian radius; 0 = ceil(3 sigma) (default)     */
    int32_t iterations;               /* T, default 5, >= 0                               */

    /* NTD-LReLU only */
    int32_t search;                   /* S, default 3                                     */
    int32_t patch;                    /* P, default 1                                     */
    float h;                          /* default 1.0, > 0                                 */
    int32_t knn;                      /* k-nearest truncation, 0 = whole window           */
    int64_t guide_channels;           /* Cg of a caller's guide (N x Cg x H x W);
                                         0 = channel mean of the input (default)          */
} sa_params;

#define SA_FRELU_MAX_K 7
#define SA_TD_MAX_RADIUS 32
#define SA_TD_MAX_ITERATIONS 1000
#define SA_NTD_MAX_SEARCH 7
#define SA_NTD_MAX_PATCH 3
/* Default batch-norm eps of FReLU (PyTorch's BatchNorm2d default). */
#define SA_FRELU_DEFAULT_BN_EPS 1e-5f

/* ---- the operator table ---------------------------------------------------------------- */
/* Every operator has a code, one row in the table (sa_op_info) and the per-operator entry
 * points below; sa_cpu_forward / sa_cuda_forward dispatch on the code. Adding an operator is
 * its kernels, its entry points, its row and its parameter check. */
#define SA_OP_LEAKY_RELU 0   /* LeakyReLU, ReLU, PReLU: y = f(x)          */
#define SA_OP_FRELU      1   /* FReLU (full and light): y = f(x)          */
#define SA_OP_STAR       2   /* star: y = act(a) * b                      */
#define SA_OP_TD_LRELU   3   /* TD-LReLU: y = f(o)                        */
#define SA_OP_NTD_LRELU  4   /* NTD-LReLU: y = f(o, guide)                */
#define SA_OP_COUNT      5

#define SA_MAX_INPUTS 2

/* What an operator takes: its tensor inputs (each of the call's shape, except the guide input,
 * N x p->guide_channels x H x W, absent when guide_channels is 0), and which input the output
 * may be (exactly; a partial overlap is always rejected). */
typedef struct sa_op_info {
    const char* name;                       /* "leaky_relu", as in the entry points' names   */
    int32_t inputs;                         /* tensor inputs, 1 .. SA_MAX_INPUTS              */
    const char* input_names[SA_MAX_INPUTS]; /* "x"; "a", "b"; "o", "guide"                    */
    int32_t inplace_mask;                   /* bit i set: y may be input i (in place)         */
    int32_t guide_input;                    /* index of the guide input, or -1                */
} sa_op_info;

/* ---- library ------------------------------------------------------------------------- */
SA_API const char* sa_version(void);
/* Message of the last failing call on this thread ("" if none). */
SA_API const char* sa_last_error(void);
SA_API int sa_params_init(sa_params* p);

/* The operator table: the row of op (SA_OP_*) into info. */
SA_API int sa_op_info_get(int op, sa_op_info* info);

/* The parameter contract of op: the ranges of its scalar fields (the checks every entry point of
 * op runs before it touches data, with the same messages), without tensors or the pointer
 * fields. Builders call it when an operator is built. */
SA_API int sa_check_params(int op, const sa_params* p);

/* TD / NTD Gaussian radius actually used: p->radius, or ceil(3 sigma) when it is 0. */
SA_API int sa_td_radius(const sa_params* p);

/* FReLU batch-norm fold, computed in double (the math the Java API uses as well):
 *   s = gamma / sqrt(var + eps); t = beta + s * (conv_bias - mean)
 * conv_bias may be NULL (no conv bias). Writes C values into scale and shift. */
SA_API int sa_frelu_fold_bn(int64_t channels, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var,
                            const float* conv_bias, float eps, float* scale, float* shift);

/* FReLU preparation, the whole of it in one call: batch norm folded and multiplied into the
 * weights in double, each result rounded to float once.
 *   s, t of a branch: raw batch norm: s = gamma / sqrt(running_var + eps),
 *                                      t = beta + s * (conv_bias - running_mean);
 *                     folded:          s = scale, t = shift + scale * conv_bias;
 *                     none (bn NULL or all its pointers NULL): s = 1, t = conv_bias;
 *                     (conv_bias NULL counts as 0)
 *   FULL  (weight C x k x k):  weight_out[c][i] = s[c] * weight[c][i],  bias_out[c] = t[c]
 *   LIGHT (weight C x k of the 1 x k conv, weight_vertical C x k of the k x 1 conv, no conv bias):
 *         weight_out[c][0][i] = s1[c] * weight[c][i], weight_out[c][1][i] = s2[c] * weight_vertical[c][i],
 *         bias_out[c] = t1[c] + t2[c]
 * Every value must be finite, running_var >= 0, eps finite and > 0; a branch is raw or folded,
 * not both. weight_out holds C*k*k (FULL) or C*2*k (LIGHT) floats, bias_out C. */
typedef struct sa_frelu_bn {
    const float* gamma;
    const float* beta;
    const float* running_mean;
    const float* running_var;
    float eps;                       /* raw only; SA_FRELU_DEFAULT_BN_EPS is PyTorch's   */
    const float* scale;              /* folded: both or neither                           */
    const float* shift;
} sa_frelu_bn;

SA_API int sa_frelu_prepare(int64_t channels, int32_t k, int32_t variant, const float* weight,
                            const float* weight_vertical, const float* conv_bias, const sa_frelu_bn* bn,
                            const sa_frelu_bn* bn_vertical, float* weight_out, float* bias_out);

/* CPU backend: which instruction set the kernels use (best supported by default), how many
 * threads. sa_cpu_set_isa fails for a set the CPU lacks; threads <= 0 means all cores. */
SA_API int sa_cpu_isa(void);
SA_API int sa_cpu_isa_supported(int isa);
SA_API int sa_cpu_set_isa(int isa);
SA_API int sa_cpu_threads(void);
SA_API int sa_cpu_set_threads(int threads);
/* How long, in microseconds, the CPU pool's idle workers (and a call waiting for them) poll for
 * the next job before they block: a blocked worker costs a wake-up by the kernel at the next call
 * (~100 us in a virtual machine). Default 200; 0 blocks at once; us < 0 restores the default;
 * at most 1000000. Not applied when the threads outnumber the cores. */
SA_API int sa_cpu_spin_us(void);
SA_API int sa_cpu_set_spin_us(int us);
/* The CPU backend's workspace budget in bytes: no workspace buffer larger than this is
 * allocated; a call that needs one fails with SA_ERR_OUT_OF_MEMORY before allocating (instead of
 * meeting the OOM killer). Default: half of the physical memory; bytes <= 0 restores it. The
 * bounds of each operator's workspace are in docs/OPERATORS.md (NTD-LReLU: 16 MiB per tile task). */
SA_API int64_t sa_cpu_workspace_limit(void);
SA_API int sa_cpu_set_workspace_limit(int64_t bytes);

/* ---- CUDA backend: probe, memory, streams -------------------------------------------- */
/* 1 if this library was compiled with CUDA kernels, else 0. */
SA_API int sa_cuda_compiled(void);
/* Number of usable GPUs. count is 0 and the status says why when there are none. */
SA_API int sa_cuda_device_count(int* count);
/* "NAME, sm_XY, N MiB" into buf (NUL-terminated, truncated to len). */
SA_API int sa_cuda_device_name(int device, char* buf, int64_t len);
SA_API int sa_cuda_malloc(int device, int64_t bytes, void** ptr);
SA_API int sa_cuda_free(int device, void* ptr);
/* Copies on a stream of that device (its copy is ordered with the stream's work), or with
 * stream NULL after all work on the device (a cudaDeviceSynchronize first: the library's streams
 * are non-blocking, so the legacy default stream alone would not wait for them). Host copies
 * return when the copy is complete. */
SA_API int sa_cuda_memcpy_h2d(int device, void* dst, const void* src, int64_t bytes, void* stream);
SA_API int sa_cuda_memcpy_d2h(int device, void* dst, const void* src, int64_t bytes, void* stream);
SA_API int sa_cuda_memcpy_d2d(int device, void* dst, const void* src, int64_t bytes, void* stream);
SA_API int sa_cuda_stream_create(int device, void** stream);
SA_API int sa_cuda_stream_destroy(int device, void* stream);
SA_API int sa_cuda_stream_synchronize(int device, void* stream);
/* The driver's CUDA version (cudaDriverGetVersion, e.g. 13000; 0 without a driver) and the
 * linked runtime's (CUDART_VERSION). The CUDA 13 runtime needs a driver of branch R580 or newer. */
SA_API int sa_cuda_versions(int* driver, int* runtime);
/* Debug mode on (1) or off (0), process-wide; SA_CUDA_DEBUG=1 in the environment turns it on at
 * start. Every kernel launch is then followed by a synchronisation of its stream, and a kernel
 * that faults fails the call that launched it, named in the message. Slow: for debugging. */
SA_API int sa_cuda_set_debug(int on);
/* The workspaces of TD- and NTD-LReLU come from a stream-ordered pool per device that keeps
 * freed memory for the next call (at most the largest set of workspaces in flight at once).
 * This waits for the device and returns the pool's unused memory to the driver. */
SA_API int sa_cuda_release_workspaces(int device);

/* ---- operators: forward and backward, CPU and CUDA, side by side ---------------------- */

/* Any operator by its code: in[0 .. inputs-1] as the table row says (a guide that is absent is
 * NULL; unused inputs must be NULL), then the operator's own entry point with its checks. */
SA_API int sa_cpu_forward(int op, const float* in0, const float* in1, float* y, sa_shape shape, const sa_params* p);
/* A CUDA call runs on the GPU whose memory its tensors are, not on the thread's current device
 * (it makes its GPU current, as cudaSetDevice, and leaves it so: restoring would create a CUDA
 * context on the previous GPU); tensors of two GPUs, host memory, or a stream of another GPU are
 * refused. sa_cuda_forward_on also requires that GPU to be `device` (made current first). The
 * entry points above that take a device make it current too. Debug mode and the stream-less
 * copies synchronise, which is not allowed while a stream is being captured into a CUDA graph. */
SA_API int sa_cuda_forward(int op, const float* in0, const float* in1, float* y, sa_shape shape, const sa_params* p,
                           void* stream);
SA_API int sa_cuda_forward_on(int device, int op, const float* in0, const float* in1, float* y, sa_shape shape,
                              const sa_params* p, void* stream);
/* sa_cpu_forward with a cooperative cancel: another thread sets *cancel to non-zero, and the call
 * stops at its next task boundary (a tile, a chunk of rows or elements: milliseconds) and returns
 * SA_ERR_CANCELLED. The inputs are untouched (unless the output is one of them, in place); the
 * output is then incomplete. cancel == NULL: not cancellable, as sa_cpu_forward. A flag already
 * set when the call starts cancels it before any work. */
SA_API int sa_cpu_forward_cancellable(int op, const float* in0, const float* in1, float* y, sa_shape shape,
                                      const sa_params* p, const volatile int32_t* cancel);

/* LeakyReLU / ReLU / PReLU (alpha_per_channel != NULL):
 *   y = x > 0 ? x : alpha * x;  dx = dy * (x > 0 ? 1 : alpha)
 * y may equal x (in place); no other overlap. */
SA_API int sa_cpu_leaky_relu_forward(const float* x, float* y, sa_shape shape, const sa_params* p);
SA_API int sa_cpu_leaky_relu_backward(const float* x, const float* dy, float* dx, sa_shape shape, const sa_params* p);
SA_API int sa_cuda_leaky_relu_forward(const float* x, float* y, sa_shape shape, const sa_params* p, void* stream);
SA_API int sa_cuda_leaky_relu_backward(const float* x, const float* dy, float* dx, sa_shape shape, const sa_params* p, void* stream);

/* FReLU: y = max(x, T(x)), one fused pass. y must not overlap x. */
SA_API int sa_cpu_frelu_forward(const float* x, float* y, sa_shape shape, const sa_params* p);
SA_API int sa_cpu_frelu_backward(const float* x, const float* dy, float* dx, sa_shape shape, const sa_params* p);
SA_API int sa_cuda_frelu_forward(const float* x, float* y, sa_shape shape, const sa_params* p, void* stream);
SA_API int sa_cuda_frelu_backward(const float* x, const float* dy, float* dx, sa_shape shape, const sa_params* p, void* stream);

/* Star: y = act(a) * b. y may equal a or b; no other overlap. */
SA_API int sa_cpu_star_forward(const float* a, const float* b, float* y, sa_shape shape, const sa_params* p);
SA_API int sa_cpu_star_backward(const float* a, const float* b, const float* dy, float* da, float* db, sa_shape shape, const sa_params* p);
SA_API int sa_cuda_star_forward(const float* a, const float* b, float* y, sa_shape shape, const sa_params* p, void* stream);
SA_API int sa_cuda_star_backward(const float* a, const float* b, const float* dy, float* da, float* db, sa_shape shape, const sa_params* p, void* stream);

/* TD-LReLU: y = o * u^T (threshold dynamics). y must not overlap o. */
SA_API int sa_cpu_td_lrelu_forward(const float* o, float* y, sa_shape shape, const sa_params* p);
SA_API int sa_cpu_td_lrelu_backward(const float* o, const float* dy, float* dx, sa_shape shape, const sa_params* p);
SA_API int sa_cuda_td_lrelu_forward(const float* o, float* y, sa_shape shape, const sa_params* p, void* stream);
SA_API int sa_cuda_td_lrelu_backward(const float* o, const float* dy, float* dx, sa_shape shape, const sa_params* p, void* stream);

/* NTD-LReLU: as TD-LReLU with the nonlocal average. guide is NULL (channel mean of o) or
 * N x guide_channels x H x W. y must not overlap o or guide. */
SA_API int sa_cpu_ntd_lrelu_forward(const float* o, const float* guide, float* y, sa_shape shape, const sa_params* p);
SA_API int sa_cpu_ntd_lrelu_backward(const float* o, const float* guide, const float* dy, float* dx, sa_shape shape, const sa_params* p);
SA_API int sa_cuda_ntd_lrelu_forward(const float* o, const float* guide, float* y, sa_shape shape, const sa_params* p, void* stream);
SA_API int sa_cuda_ntd_lrelu_backward(const float* o, const float* guide, const float* dy, float* dx, sa_shape shape, const sa_params* p, void* stream);

#ifdef __cplusplus
}
#endif

#endif /* SPATIALACT_H */
