// CPU NTD-LReLU (docs/TD-LReLU.md has the formulation and the choices): validation, the
// workspace and the tasks; the kernels are kernels/ntd_lrelu_isa.cpp.
//
// The image is cut into output tiles (and the channels into groups); a task owns one tile of
// one sample and one channel group, with a halo of T*S pixels, and does everything on it in
// its own workspace (at most kNtdTaskFloats floats, 16 MiB, whatever H x W; see ntd_plan):
// the guide over the tile's extended region, the nonlocal weights by box filtering squared
// guide differences per search offset, normalised (and k-nearest truncated), stored row by row
// (row i holds the (2S+1)^2 weight rows of that row), then v^0 and the T iterations of its
// channels, eight channels per weight load. The halo is recomputed by neighbouring tiles
// rather than exchanged, as in TD-LReLU.
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

// Floats of one task's workspace, for a tile whose extended region is eh x ew and G channels:
// padded guide, weights, two padded v buffers, and the weight / normalisation scratch.
struct NtdSizes {
    size_t gpad, wt, v, tmp, incr, total;
    bool ok;
};
// incr: the incremental scheme, which holds v and f of kNtdIncrBlock channels at a time, and
// its gates (eh x ew bytes) and two flip lists (eh x ew indices).
NtdSizes ntd_sizes(int64_t eh, int64_t ew, int64_t G, int64_t Cg, int S, int P, int knn, bool incr) {
    NtdSizes z{};
    const int K = ntd_K(S);
    const int64_t pad = P + S;
    const int64_t Hg = eh + 2 * pad, Wg = ew + 2 * pad, Hv = eh + 2 * S, pvv = round_up(ew + 2 * S, 16);
    const bool kn = knn > 0 && knn < K;
    const int64_t re = kNtdWeightRows + 2 * P;
    const int64_t wscr = re * (ew + 2 * P) + re * ew, nscr = ew * (kn ? (int64_t)K + 1 : 1);
    const int64_t ascr = 8 * (ew + 16) + 64;  // ntd_iter's acc rows, and the vector tail's overrun
    z.ok = mul_ok((size_t)Cg, (size_t)Hg, &z.gpad) && mul_ok(z.gpad, (size_t)Wg, &z.gpad) &&
           mul_ok((size_t)K, (size_t)eh, &z.wt) && mul_ok(z.wt, (size_t)ew, &z.wt) &&
           mul_ok((size_t)(incr ? std::min<int64_t>(G, kNtdIncrBlock) : G), (size_t)Hv, &z.v) &&
           mul_ok(z.v, (size_t)pvv, &z.v);
    z.tmp = (size_t)std::max(std::max(wscr, nscr), ascr);
    // (bounded by the K x eh x ew product checked above)
    z.incr = incr ? (size_t)(2 * eh * ew + (kNtdIncrBlock * eh * ew + 3) / 4 + 16 + (int64_t)K * eh * ew) : 0;
    z.gpad = (size_t)round_up((int64_t)z.gpad, 16);
    z.wt = (size_t)round_up((int64_t)z.wt, 16);
    z.ok = z.ok && z.gpad < SIZE_MAX / 8 && z.wt < SIZE_MAX / 8 && z.v < SIZE_MAX / 8;
    z.total = z.ok ? z.gpad + z.wt + 2 * z.v + z.tmp + z.incr : SIZE_MAX;
    return z;
}

struct NtdJob : NtdArgs {
    const KernelTable* k;  // the table of this call
    NtdIterFn iter;        // its iteration kernel for (soft, S)
    NtdIncrFn incr_fn;     // the incremental scheme's kernel for S, or null (dense iterations)
    int64_t TH, TW, G;     // output tile, channels per task
    int64_t row_tiles, col_tiles, groups;
    std::atomic<bool> oom{false};
};

// One task: sample n, one output tile, channels [c0, c1). Everything on the calling thread,
// in its own workspace: guide, weights and normalisation of the tile's extended region, v^0,
// then T iterations, each over the output rectangle grown by (T - t) * S (what the next one
// reads), the last writing y.
void ntd_task(void* ctx, int64_t task) {
    NtdJob& j = *static_cast<NtdJob*>(ctx);
    if (j.oom.load(std::memory_order_relaxed)) return;
    const int64_t per_sample = j.row_tiles * j.col_tiles * j.groups;
    NtdArgs a = j;
    a.n = task / per_sample;
    int64_t rest = task % per_sample;
    const int64_t grp = rest % j.groups;
    rest /= j.groups;
    const int64_t rt = rest / j.col_tiles, ct = rest % j.col_tiles;
    const int64_t R0 = rt * j.TH, R1 = std::min(j.IH, R0 + j.TH);
    const int64_t C0 = ct * j.TW, C1 = std::min(j.IW, C0 + j.TW);
    const int64_t halo = (int64_t)j.T * j.S;
    a.er0 = std::max<int64_t>(0, R0 - halo);
    a.ec0 = std::max<int64_t>(0, C0 - halo);
    a.H = std::min(j.IH, R1 + halo) - a.er0;
    a.W = std::min(j.IW, C1 + halo) - a.ec0;
    a.c0 = grp * j.G;
    a.c1 = std::min(j.C, a.c0 + j.G);
    const int64_t pad = j.P + j.S;
    a.Hg = a.H + 2 * pad;
    a.Wg = a.W + 2 * pad;
    a.Hv = a.H + 2 * j.S;
    a.pvv = round_up(a.W + 2 * j.S, 16);
    const bool incr = j.incr_fn != nullptr;
    const NtdSizes z = ntd_sizes(a.H, a.W, a.c1 - a.c0, j.Cg, j.S, j.P, j.knn, incr);
    Scratch s;
    if (!z.ok || !s.get(z.total)) {
        j.oom = true;
        return;
    }
    a.gpad = s.p;
    a.wt = a.gpad + z.gpad;
    a.va = a.wt + z.wt;
    a.vb = a.va + z.v;
    float* tmp = a.vb + z.v;
    a.u = nullptr;
    a.la = a.lb = nullptr;
    a.ws = nullptr;
    if (incr) {
        a.la = reinterpret_cast<int32_t*>(tmp + z.tmp);
        a.lb = a.la + a.H * a.W;
        a.ws = reinterpret_cast<float*>(a.lb + a.H * a.W);
        a.u = reinterpret_cast<uint8_t*>(a.ws + ntd_K(j.S) * a.H * a.W);
    }
    a.R0 = R0 - a.er0;
    a.R1 = R1 - a.er0;
    a.C0 = C0 - a.ec0;
    a.C1 = C1 - a.ec0;
    const KernelTable& k = *j.k;
    for (int64_t t = 0; t < j.Cg * a.Hg; t++) k.ntd_guide(a, t);
    for (int64_t i0 = 0; i0 < a.H; i0 += kNtdWeightRows)
        k.ntd_weights(a, i0, std::min(a.H, i0 + kNtdWeightRows), tmp, tmp + (kNtdWeightRows + 2 * j.P) * (a.W + 2 * j.P));
    for (int64_t i = 0; i < a.H; i++) k.ntd_normalise(a, i, tmp);
    if (incr) {  // kNtdIncrBlock channels at a time through all T iterations
        for (int64_t i = 0; i < a.H; i++) k.ntd_sources(a, i);
        for (int64_t b0 = a.c0, c1 = a.c1; b0 < c1; b0 += kNtdIncrBlock) {
            a.c0 = b0;
            a.c1 = std::min(c1, b0 + kNtdIncrBlock);
            j.incr_fn(a, tmp);  // makes v^0 itself, row by row
        }
        return;
    }
    for (int64_t cl = 0; cl < a.c1 - a.c0; cl++)
        for (int64_t pi = 0; pi < a.Hv; pi++) k.ntd_init(a, cl, pi);
    for (int t = 1; t <= j.T; t++) {
        a.t = t;
        const int64_t grow = (int64_t)(j.T - t) * j.S;
        const int64_t lr0 = std::max<int64_t>(0, R0 - grow - a.er0), lr1 = std::min<int64_t>(a.H, R1 + grow - a.er0);
        a.x0 = std::max<int64_t>(0, C0 - grow - a.ec0);
        a.x1 = std::min<int64_t>(a.W, C1 + grow - a.ec0);
        j.iter(a, lr0, lr1, tmp);  // tmp holds the acc rows
        std::swap(a.va, a.vb);
    }
}

// Tiles and channel groups: of the output tiles TH x TW (each the whole extent or 1024, 512,
// .. 16) and channel groups G (C, 64, 32, .. 1) whose task workspace fits kNtdTaskFloats, the
// one with the least estimated time on the threads: per task, the weights of its extended
// region (kWeightCost channel-iterations' worth per pixel: box sums, exp, normalisation and,
// for the incremental scheme, the copy by source; measured on AVX-512, 2026-12-01), the guide
// (C channels read per pixel) and the iterations of its channels over the shrinking rectangles
// (the first only, and a quarter more for the flips, in the incremental scheme); the tasks
// shared by the threads, and no less than the largest task.
constexpr double kWeightCost = 40.0;

// The extents along one side of I pixels cut into tiles of T0 (tile q from a = q T0), each
// grown by g on both sides and clipped to the image, min(I, a + T0 + g) - max(0, a - g): their
// sum in closed form (the planner evaluates it for every candidate and iteration; checked
// against the loop over tiles for random I, T0, g) and the largest (min(I, T0 + 2g), exact
// wherever an unclipped tile exists).
void extents(int64_t I, int64_t T0, int64_t g, double& sum, int64_t& largest) {
    const int64_t nt = (I + T0 - 1) / T0;
    const int64_t m = I - g < T0 ? 0 : std::min(nt, (I - g) / T0);  // tiles with a + T0 + g <= I
    const double hi = (double)T0 * (double)m * (double)(m + 1) / 2.0 + (double)g * m + (double)(nt - m) * I;
    const int64_t q0 = g / T0 + 1;  // the first tile with a - g > 0
    const double lo = q0 >= nt ? 0.0
                               : (double)T0 * ((double)(nt - 1) * nt / 2.0 - (double)(q0 - 1) * q0 / 2.0) -
                                     (double)g * (nt - q0);
    sum = hi - lo;
    largest = std::min(I, T0 + 2 * g);
}

std::atomic<int64_t> g_force_tile{0}, g_force_group{0};  // sa_internal_cpu_ntd_tiles
std::atomic<int> g_ntd_dense{0};                          // sa_internal_cpu_ntd_dense

void ntd_plan(NtdJob& j, int threads) {
    const int64_t IH = j.IH, IW = j.IW, halo = (int64_t)j.T * j.S;
    const int64_t pad = j.P + j.S;
    const int64_t cands[] = {0, 1024, 512, 256, 128, 64, 32, 16};  // 0: the whole extent
    const int64_t groups_c[] = {j.C, 64, 32, 16, 8, 4, 2, 1};
    double best = -1.0;
    int64_t bTH = std::min<int64_t>(IH, 16), bTW = std::min<int64_t>(IW, 16), bG = 1;
    for (int64_t G0 : groups_c) {
        const int64_t G = std::min(j.C, G0);
        for (int64_t th0 : cands) {
            const int64_t TH = th0 == 0 ? IH : std::min(IH, th0);
            if (th0 != 0 && th0 >= IH) continue;
            for (int64_t tw0 : cands) {
                const int64_t TW = tw0 == 0 ? IW : std::min(IW, tw0);
                if (tw0 != 0 && tw0 >= IW) continue;
                const int64_t eh = std::min(IH, TH + 2 * halo), ew = std::min(IW, TW + 2 * halo);
                if (ntd_sizes(eh, ew, G, j.Cg, j.S, j.P, j.knn, j.incr_fn).total > kNtdTaskFloats) continue;
                // Every term is a product of a row and a column extent, so its sum over the
                // tiles is the product of the sums along each side (edge tiles have one-sided
                // halos: taking the full halo everywhere favoured whole-extent strips).
                const int64_t ngroups = (j.C + G - 1) / G;
                const int64_t nr = (IH + TH - 1) / TH, nc = (IW + TW - 1) / TW;
                double sh, sw;
                int64_t mh, mw;
                extents(IH, TH, halo, sh, mh);
                extents(IW, TW, halo, sw, mw);
                double it_sum = 0.0, it_max = 0.0;
                for (int t = 1; t <= (j.incr_fn ? 1 : j.T); t++) {
                    const int64_t g = (int64_t)(j.T - t) * j.S;
                    double rh, rw;
                    int64_t xh, xw;
                    extents(IH, TH, g, rh, xh);
                    extents(IW, TW, g, rw, xw);
                    it_sum += rh * rw;
                    it_max += (double)xh * (double)xw;
                }
                const double flips = j.incr_fn ? 1.25 : 1.0;  // the flips' windows after the dense first iteration
                auto cost = [&](double eh_ew, double padded, double it) {
                    return kWeightCost * eh_ew + (j.guide ? 0.0 : (double)j.C * padded / 4.0) + (double)G * it * flips;
                };
                const double total = (double)(j.N * ngroups) *
                                     cost(sh * sw, (sh + 2.0 * pad * nr) * (sw + 2.0 * pad * nc), it_sum);
                const double largest = cost((double)mh * mw, (double)(mh + 2 * pad) * (mw + 2 * pad), it_max);
                const double time = std::max(total / threads, largest);
                if (best < 0.0 || time < best) {
                    best = time;
                    bTH = TH;
                    bTW = TW;
                    bG = G;
                }
            }
        }
    }
    j.TH = bTH;
    j.TW = bTW;
    j.G = bG;
    auto count = [&] {
        j.row_tiles = (IH + j.TH - 1) / j.TH;
        j.col_tiles = (IW + j.TW - 1) / j.TW;
        j.groups = (j.C + j.G - 1) / j.G;
        return j.N * j.row_tiles * j.col_tiles * j.groups;
    };
    const int64_t ft = g_force_tile.load(), fg = g_force_group.load();
    if (ft > 0) {
        j.TH = std::min(IH, ft);
        j.TW = std::min(IW, ft);
    }
    if (fg > 0) j.G = std::min(j.C, fg);
    count();
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
    j.IH = shape.h;
    j.IW = shape.w;
    j.Cg = p->guide_channels > 0 ? p->guide_channels : 1;
    j.S = p->search;
    j.P = p->patch;
    j.T = p->iterations;
    j.knn = p->knn;
    j.h = p->h;
    j.lambda = p->lambda;
    j.gp = make_gate(p);
    j.k = &kt();
    const bool soft = p->eps > 0.0f;
    j.iter = j.k->ntd_iter(soft, j.S);
    // The incremental scheme keeps f as a running sum of lambda-scaled terms: lambda <= 1e30
    // keeps them finite. Flip indices are 32-bit: a task's extended tile is far below 2^31
    // pixels (the workspace budget holds its weights).
    j.incr_fn = !soft && j.T >= 2 && p->lambda <= 1e30f && g_ntd_dense.load(std::memory_order_relaxed) == 0
                    ? j.k->ntd_incr(j.S)
                    : nullptr;
    const int threads = n >= kParallelMin ? pool_threads() : 1;
    ntd_plan(j, threads);

    // The largest task's workspace against the budget, before anything is written.
    const int64_t halo = (int64_t)j.T * j.S;
    const NtdSizes z = ntd_sizes(std::min(j.IH, j.TH + 2 * halo), std::min(j.IW, j.TW + 2 * halo), std::min(j.C, j.G),
                                 j.Cg, j.S, j.P, j.knn, j.incr_fn);
    const double mib = z.ok ? (double)z.total * sizeof(float) / 1048576.0 : INFINITY;
    const double limit = (double)sa_cpu_workspace_limit() / 1048576.0;
    if (!z.ok || mib > limit)
        return fail(SA_ERR_OUT_OF_MEMORY,
                    "%s: the workspace of one tile task (%.1f MiB: weights of %d offsets for a %lld x %lld tile with its "
                    "halo, v of %lld channels) exceeds the workspace budget of %.1f MiB (sa_cpu_set_workspace_limit); "
                    "nothing was allocated",
                    fn, mib, ntd_K(j.S), (long long)std::min(j.IH, j.TH + 2 * halo),
                    (long long)std::min(j.IW, j.TW + 2 * halo),
                    (long long)(j.incr_fn ? std::min(std::min(j.C, j.G), kNtdIncrBlock) : std::min(j.C, j.G)), limit);

    const int64_t tasks = j.N * j.row_tiles * j.col_tiles * j.groups;
    run_tasks(tasks, ntd_task, &j, threads > 1);
    if (j.oom) return fail(SA_ERR_OUT_OF_MEMORY, "%s: could not allocate the %zu-float tile workspace", fn, z.total);
    return SA_OK;
}

int sa_internal_cpu_ntd_dense(int mode) {
    if (mode < 0) return g_ntd_dense.load();
    return g_ntd_dense.exchange(mode == 1 ? 1 : 0);
}

void sa_internal_cpu_ntd_tiles(int64_t tile, int64_t group) {
    g_force_tile.store(tile > 0 ? tile : 0);
    g_force_group.store(group > 0 ? group : 0);
}

SA_NOT_IMPLEMENTED_ENTRY(sa_cpu_ntd_lrelu_backward, const float*, const float*, const float*, float*, sa_shape,
                         const sa_params*)

}  // extern "C"
