// CPU NTD-LReLU (docs/TD-LReLU.md has the formulation and the choices): validation, the
// workspace and the tasks; the kernels are kernels/ntd_lrelu_isa.cpp.
//
// Per sample, the nonlocal weights are built once by box filtering squared guide differences
// per search offset, normalised (and k-nearest truncated), stored row by row (row i holds the
// (2S+1)^2 weight rows of that image row), then reused by the T iterations of every channel.
// Iterations go over row blocks, all channels per block, so one block's weights stay in cache
// while the channels stream past them.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <utility>

#include "../common/sa_internal.h"
#include "dispatch.h"
#include "spatialact/spatialact.h"

namespace sa {
namespace {

struct NtdJob : NtdArgs {
    const KernelTable* k;  // the table of this call
    NtdIterFn iter;        // its iteration kernel for (soft, S)
    int64_t rows_per_task;
    std::atomic<bool> oom{false};
};

// A task of a stage that needs no scratch: the table's STAGE (ntd_guide, ntd_init) on the job.
template <void (*KernelTable::*STAGE)(const NtdArgs&, int64_t)>
void ntd_stage_task(void* ctx, int64_t task) {
    NtdJob& j = *static_cast<NtdJob*>(ctx);
    (j.k->*STAGE)(j, task);
}

void ntd_weights_task(void* ctx, int64_t task) {
    NtdJob& j = *static_cast<NtdJob*>(ctx);
    if (j.oom.load(std::memory_order_relaxed)) return;
    const int64_t i0 = task * kNtdWeightRows, i1 = std::min(j.H, i0 + kNtdWeightRows);
    const int64_t We = j.W + 2 * j.P, re = (i1 - i0) + 2 * j.P;
    Scratch s;
    size_t a, b;
    if (!mul_ok((size_t)re, (size_t)We, &a) || !mul_ok((size_t)re, (size_t)j.W, &b) || !s.get(a + b)) {
        j.oom = true;
        return;
    }
    j.k->ntd_weights(j, i0, i1, s.p, s.p + a);
}

void ntd_normalise_task(void* ctx, int64_t i) {
    NtdJob& j = *static_cast<NtdJob*>(ctx);
    const int K = ntd_K(j.S);
    const bool knn = j.knn > 0 && j.knn < K;
    Scratch s;
    if (!s.get((size_t)j.W * (knn ? (size_t)K + 1 : 1))) {
        j.oom = true;
        return;
    }
    j.k->ntd_normalise(j, i, s.p);
}

void ntd_iter_task(void* ctx, int64_t task) {
    NtdJob& j = *static_cast<NtdJob*>(ctx);
    if (j.oom.load(std::memory_order_relaxed)) return;
    Scratch s;
    if (!s.get((size_t)j.W)) {
        j.oom = true;
        return;
    }
    const int64_t i0 = task * j.rows_per_task, i1 = std::min(j.H, i0 + j.rows_per_task);
    j.iter(j, i0, i1, s.p);
}

}  // namespace
}  // namespace sa

using namespace sa;

extern "C" {

int sa_cpu_ntd_lrelu_forward(const float* o, const float* guide, float* y, sa_shape shape, const sa_params* p) {
    const char* fn = "sa_cpu_ntd_lrelu_forward";
    int64_t n;
    int rc = check_ntd(fn, o, guide, y, shape, p, &n);
    if (rc) return rc;
    if (p->iterations == 0 || p->lambda == 0.0f) return td_pointwise(o, y, shape, n, p);

    NtdJob j;
    j.o = o;
    j.guide = p->guide_channels > 0 ? guide : nullptr;
    j.y = y;
    j.N = shape.n;
    j.C = shape.c;
    j.H = shape.h;
    j.W = shape.w;
    j.Cg = p->guide_channels > 0 ? p->guide_channels : 1;
    j.S = p->search;
    j.P = p->patch;
    j.T = p->iterations;
    j.knn = p->knn;
    j.h = p->h;
    j.lambda = p->lambda;
    j.gp = make_gate(p);
    j.k = &kt();
    const int K = ntd_K(j.S);
    const int64_t pad = j.P + j.S;
    j.Hg = j.H + 2 * pad;
    j.Wg = j.W + 2 * pad;
    j.Hv = j.H + 2 * j.S;
    j.pvv = round_up(j.W + 2 * j.S, 16);

    // Workspace: padded guide, weights, two padded v buffers (one sample at a time).
    size_t sg, sw, sv, tot;
    bool ok = mul_ok((size_t)j.Cg, (size_t)j.Hg, &sg) && mul_ok(sg, (size_t)j.Wg, &sg) &&
              mul_ok((size_t)K, (size_t)j.H, &sw) && mul_ok(sw, (size_t)j.W, &sw) &&
              mul_ok((size_t)j.C, (size_t)j.Hv, &sv) && mul_ok(sv, (size_t)j.pvv, &sv);
    sg = round_up((int64_t)sg, 16);
    sw = round_up((int64_t)sw, 16);
    tot = sg + sw;
    ok = ok && sv <= (SIZE_MAX - tot) / 2;
    tot += 2 * sv;
    Buf ws;
    if (!ok || !ws.reserve(tot)) {
        const double mib = ok ? (double)tot * sizeof(float) / 1048576.0 : INFINITY;
        const double limit = (double)sa_cpu_workspace_limit() / 1048576.0;
        if (mib > limit)
            return fail(SA_ERR_OUT_OF_MEMORY,
                        "%s: the workspace of this call (%.1f MiB: weights of %d offsets for each of H x W = %lld pixels) "
                        "exceeds the workspace budget of %.1f MiB (sa_cpu_set_workspace_limit); nothing was allocated",
                        fn, mib, K, (long long)(j.H * j.W), limit);
        return fail(SA_ERR_OUT_OF_MEMORY, "%s: could not allocate the %zu-float workspace (weights of %d offsets)", fn, tot, K);
    }
    j.gpad = ws.p;
    j.wt = j.gpad + sg;
    j.va = j.wt + sw;
    j.vb = j.va + sv;

    const bool par = n >= kParallelMin && pool_threads() > 1;
    const bool soft = p->eps > 0.0f;
    j.iter = j.k->ntd_iter(soft, j.S);
    const int64_t threads = pool_threads();
    // Row blocks small enough that one block's weights stay in L2, and enough of them.
    j.rows_per_task = std::max<int64_t>(1, std::min<int64_t>(4, j.H / std::max<int64_t>(1, 4 * threads)));
    const int64_t iter_tasks = (j.H + j.rows_per_task - 1) / j.rows_per_task;

    for (int64_t s = 0; s < j.N; s++) {
        j.n = s;
        run_tasks(j.Cg * j.H, ntd_stage_task<&KernelTable::ntd_guide>, &j, par);
        for (int64_t c = 0; c < j.Cg; c++) {  // clamp the rows of the padded guide
            float* g = j.gpad + c * j.Hg * j.Wg;
            for (int64_t a = 0; a < pad; a++) {
                memcpy(g + a * j.Wg, g + pad * j.Wg, sizeof(float) * (size_t)j.Wg);
                memcpy(g + (pad + j.H + a) * j.Wg, g + (pad + j.H - 1) * j.Wg, sizeof(float) * (size_t)j.Wg);
            }
        }
        run_tasks((j.H + kNtdWeightRows - 1) / kNtdWeightRows, ntd_weights_task, &j, par);
        run_tasks(j.H, ntd_normalise_task, &j, par);
        run_tasks(j.C * j.Hv, ntd_stage_task<&KernelTable::ntd_init>, &j, par);
        if (j.oom) break;
        for (int t = 1; t <= j.T && !j.oom; t++) {
            j.t = t;
            run_tasks(iter_tasks, ntd_iter_task, &j, par);
            std::swap(j.va, j.vb);
        }
        if (j.oom) break;
    }
    if (j.oom) return fail(SA_ERR_OUT_OF_MEMORY, "%s: could not allocate scratch rows", fn);
    return SA_OK;
}

SA_NOT_IMPLEMENTED_ENTRY(sa_cpu_ntd_lrelu_backward, const float*, const float*, const float*, float*, sa_shape,
                         const sa_params*)

}  // extern "C"
