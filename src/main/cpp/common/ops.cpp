// The operator table: one row per operator (its operands, its parameter check, its CPU and
// CUDA forward entry points), and the entry points that dispatch on an operator's code. The
// Java binding, the Java operators' operand declarations, the native tests and the fuzzer all
// go through this table; adding an operator is a row here plus its kernels and entry points.
#include "sa_internal.h"

namespace sa {
namespace {

typedef int (*ParamCheck)(const char* fn, const sa_params* p);
typedef int (*CpuForward)(const float* in0, const float* in1, float* y, sa_shape s, const sa_params* p);
typedef int (*CudaForward)(const float* in0, const float* in1, float* y, sa_shape s, const sa_params* p, void* st);

struct OpRow {
    sa_op_info info;
    ParamCheck check;
    CpuForward cpu;
    CudaForward cuda;
};

// The entry points with one signature per backend (unary ones ignore in1; it is NULL).
const OpRow kOps[SA_OP_COUNT] = {
    {{"leaky_relu", 1, {"x", nullptr}, 0x1, -1}, check_leaky_params,
     [](const float* x, const float*, float* y, sa_shape s, const sa_params* p) {
         return sa_cpu_leaky_relu_forward(x, y, s, p);
     },
     [](const float* x, const float*, float* y, sa_shape s, const sa_params* p, void* st) {
         return sa_cuda_leaky_relu_forward(x, y, s, p, st);
     }},
    {{"frelu", 1, {"x", nullptr}, 0x0, -1}, check_frelu_params,
     [](const float* x, const float*, float* y, sa_shape s, const sa_params* p) {
         return sa_cpu_frelu_forward(x, y, s, p);
     },
     [](const float* x, const float*, float* y, sa_shape s, const sa_params* p, void* st) {
         return sa_cuda_frelu_forward(x, y, s, p, st);
     }},
    {{"star", 2, {"a", "b"}, 0x3, -1}, check_star_params, sa_cpu_star_forward, sa_cuda_star_forward},
    {{"td_lrelu", 1, {"o", nullptr}, 0x0, -1}, check_td_params,
     [](const float* o, const float*, float* y, sa_shape s, const sa_params* p) {
         return sa_cpu_td_lrelu_forward(o, y, s, p);
     },
     [](const float* o, const float*, float* y, sa_shape s, const sa_params* p, void* st) {
         return sa_cuda_td_lrelu_forward(o, y, s, p, st);
     }},
    {{"ntd_lrelu", 2, {"o", "guide"}, 0x0, 1}, check_ntd_params, sa_cpu_ntd_lrelu_forward, sa_cuda_ntd_lrelu_forward},
};

// The row of op, or a failure naming fn. A second input given to a one-input operator is an
// error, not something to ignore.
int row(const char* fn, int op, const float* in1, const OpRow** out) {
    if (op < 0 || op >= SA_OP_COUNT)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: op = %d is not an operator code (0 .. %d)", fn, op, SA_OP_COUNT - 1);
    *out = &kOps[op];
    if (in1 && (*out)->info.inputs < 2)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: %s takes one input; in1 must be NULL", fn, (*out)->info.name);
    return SA_OK;
}

}  // namespace
}  // namespace sa

extern "C" {

int sa_op_info_get(int op, sa_op_info* info) {
    const sa::OpRow* r = nullptr;
    int rc = sa::row("sa_op_info_get", op, nullptr, &r);
    if (rc != SA_OK) return rc;
    if (!info) return sa::fail(SA_ERR_INVALID_ARGUMENT, "sa_op_info_get: info is NULL");
    *info = r->info;
    return SA_OK;
}

int sa_check_params(int op, const sa_params* p) {
    const sa::OpRow* r = nullptr;
    int rc = sa::row("sa_check_params", op, nullptr, &r);
    if (rc != SA_OK) return rc;
    if ((rc = sa::check_params(r->info.name, p)) != SA_OK) return rc;
    return r->check(r->info.name, p);
}

int sa_cpu_forward(int op, const float* in0, const float* in1, float* y, sa_shape shape, const sa_params* p) {
    const sa::OpRow* r = nullptr;
    int rc = sa::row("sa_cpu_forward", op, in1, &r);
    return rc != SA_OK ? rc : r->cpu(in0, in1, y, shape, p);
}

int sa_cpu_forward_cancellable(int op, const float* in0, const float* in1, float* y, sa_shape shape,
                               const sa_params* p, const volatile int32_t* cancel) {
    const sa::OpRow* r = nullptr;
    int rc = sa::row("sa_cpu_forward_cancellable", op, in1, &r);
    if (rc != SA_OK) return rc;
    sa::cpu_cancel_begin(cancel);
    rc = r->cpu(in0, in1, y, shape, p);
    const bool cancelled = sa::cpu_cancel_end();
    if (rc == SA_OK && cancelled)
        return sa::fail(SA_ERR_CANCELLED, "%s: cancelled; the output is incomplete", r->info.name);
    return rc;
}

int sa_cuda_forward(int op, const float* in0, const float* in1, float* y, sa_shape shape, const sa_params* p,
                    void* stream) {
    const sa::OpRow* r = nullptr;
    int rc = sa::row("sa_cuda_forward", op, in1, &r);
    return rc != SA_OK ? rc : r->cuda(in0, in1, y, shape, p, stream);
}

}  // extern "C"
