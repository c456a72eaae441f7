// CPU entry points of the element-wise operators, LeakyReLU/ReLU/PReLU (forward and backward)
// and star: validate, split the tensor into chunks and run the table's kernels
// (kernels/elementwise_isa.cpp) on the pool.
#include <stdint.h>

#include <algorithm>

#include "../common/sa_internal.h"
#include "dispatch.h"
#include "spatialact/spatialact.h"

namespace sa {
namespace {

// Elements per task of the element-wise kernels.
constexpr int64_t kChunk = 1 << 15;

struct Elementwise {
    const float* a;
    const float* b;
    float* y;
    int64_t n;
    int64_t plane;       // H*W, for per-channel alphas
    int64_t channels;
    const sa_params* p;
    int op;              // 0 leaky, 1 leaky backward, 2 star
    const KernelTable* k;
};

void run_chunk(const Elementwise& e, int64_t begin, int64_t end) {
    const KernelTable& k = *e.k;
    const sa_params* p = e.p;
    if (e.op == 2) {
        k.star(e.a + begin, e.b + begin, e.y + begin, end - begin, p->act, p->alpha);
        return;
    }
    // Split at plane borders when alphas are per channel.
    int64_t i = begin;
    while (i < end) {
        int64_t stop = end;
        float alpha = p->alpha;
        if (p->alpha_per_channel) {
            int64_t plane_idx = i / e.plane;
            alpha = p->alpha_per_channel[plane_idx % e.channels];
            stop = std::min(end, (plane_idx + 1) * e.plane);
        }
        if (e.op == 0)
            k.leaky(e.a + i, e.y + i, stop - i, alpha);
        else
            k.leaky_backward(e.a + i, e.b + i, e.y + i, stop - i, alpha);
        i = stop;
    }
}

void elementwise_task(void* ctx, int64_t t) {
    const Elementwise& e = *static_cast<const Elementwise*>(ctx);
    int64_t begin = t * kChunk;
    run_chunk(e, begin, std::min(e.n, begin + kChunk));
}

// Below kParallelMin (= kChunk) elements this is one chunk on the calling thread.
void run_elementwise(const Elementwise& e) {
    run_tasks((e.n + kChunk - 1) / kChunk, elementwise_task, (void*)&e, e.n >= kParallelMin);
}

}  // namespace
}  // namespace sa

using namespace sa;

extern "C" {

int sa_cpu_leaky_relu_forward(const float* x, float* y, sa_shape shape, const sa_params* p) {
    int64_t n;
    int rc = check_leaky("sa_cpu_leaky_relu_forward", x, y, shape, p, &n);
    if (rc) return rc;
    Elementwise e{x, nullptr, y, n, shape.h * shape.w, shape.c, p, 0, &kt()};
    run_elementwise(e);
    return SA_OK;
}

int sa_cpu_leaky_relu_backward(const float* x, const float* dy, float* dx, sa_shape shape, const sa_params* p) {
    const char* fn = "sa_cpu_leaky_relu_backward";
    int64_t n;
    int rc = check_leaky(fn, x, dx, shape, p, &n);
    if (rc) return rc;
    if ((rc = check_ptr(fn, dy, "dy"))) return rc;
    if ((rc = check_overlap(fn, dy, "dy", dx, "dx", n * 4, true))) return rc;
    Elementwise e{x, dy, dx, n, shape.h * shape.w, shape.c, p, 1, &kt()};
    run_elementwise(e);
    return SA_OK;
}

int sa_cpu_star_forward(const float* a, const float* b, float* y, sa_shape shape, const sa_params* p) {
    int64_t n;
    int rc = check_star("sa_cpu_star_forward", a, b, y, shape, p, &n);
    if (rc) return rc;
    Elementwise e{a, b, y, n, shape.h * shape.w, shape.c, p, 2, &kt()};
    run_elementwise(e);
    return SA_OK;
}

SA_NOT_IMPLEMENTED_ENTRY(sa_cpu_star_backward, const float*, const float*, const float*, float*, float*, sa_shape,
                         const sa_params*)

}  // extern "C"
