// CPU TD-LReLU (docs/TD-LReLU.md has the formulation and the choices): validation, the tile
// plan and the tasks; the kernels are kernels/td_lrelu_isa.cpp, per ISA.
//
// Every task owns one tile of one plane plus a halo of T*r pixels (or the whole plane when it
// is small) and runs all T iterations on it while it sits in L2: the halo is recomputed by
// neighbouring tiles instead of being exchanged, so a task reads o's tile once from memory and
// writes y's tile once. Per iteration and row: a vertical Gaussian pass over 2r+1 rows of
// v = 1 - 2u into one scratch row, a horizontal pass, f = o - lambda * G*v and the gate; the
// new gate rows wait in a ring of r+1 rows until no later row needs the old ones, so one v
// buffer suffices.
#include <stdint.h>

#include <algorithm>
#include <atomic>

#include "../common/sa_internal.h"
#include "../common/sa_math.h"
#include "dispatch.h"
#include "spatialact/spatialact.h"

namespace sa {

GateParams make_gate(const sa_params* p) {
    GateParams g;
    g.alpha = p->alpha;
    g.eps = p->eps;
    g.vclosed = 1.0f - 2.0f * p->alpha;
    // z = f * kz instead of ((1 - alpha) f) / eps: a multiplication, not a division, per gate
    // (within an ulp of z). The cap keeps kz finite for eps below ~1e-30, where the sigmoid is
    // a step anyway; 0 * kz stays 0, so sigmoid(0) = 1/2 as in the formula.
    const double k = p->eps > 0.0f ? (1.0 - (double)p->alpha) / (double)p->eps : 0.0;
    g.kz = (float)(k < 1e30 ? k : 1e30);
    return g;
}

namespace {

// Scratch floats a tile needs (see td_tile_body in kernels/td_lrelu_isa.cpp).
size_t td_tile_scratch(int64_t eh, int64_t ew, int r, size_t* ok) {
    const int64_t pv = round_up(ew + 2 * r, 16);
    // V: eh + 2r rows; tmp: 1; ring: r + 1; hs (runtime radius only): 1.
    size_t rows = (size_t)(eh + 2 * r) + 1 + (size_t)(r + 1) + 1, total = 0;
    *ok = mul_ok(rows, (size_t)pv, &total);
    return total;
}

// Scratch floats of the wavefront (see td_wave_body in kernels/td_lrelu_isa.cpp).
size_t td_wave_scratch(int64_t ew, int T, int r, size_t* ok) {
    const int64_t pv = round_up(ew + 2 * r, 16);
    size_t rows = (size_t)T * (size_t)(2 * r + kWaveBlock) + 3, total = 0;
    *ok = mul_ok(rows, (size_t)pv, &total);
    return total;
}

// Scratch floats of the delta scheme (see td_sparse_body): V, tmp, hs, the ring, and the
// 64-bit block masks (active, two flip sets: eh x words each; the ring's r + 1 and one row).
size_t td_sparse_scratch(int64_t eh, int64_t ew, int r, size_t* ok) {
    const int64_t pv = round_up(ew + 2 * r, 16);
    const int64_t nw = ((ew + 15) / 16 + 63) / 64;
    size_t rows = (size_t)(eh + 2 * r) + 2 + (size_t)(r + 1), total = 0, words = 0;
    *ok = mul_ok(rows, (size_t)pv, &total) && mul_ok((size_t)(3 * eh + r + 2), (size_t)nw, &words) &&
          words <= SIZE_MAX / 2 - total;
    return total + 2 * words;
}

struct TdJob {
    const float* o;
    float* y;
    int64_t H, W;
    int64_t TH, TW, row_tiles, col_tiles;
    int T, r;
    float lambda;
    GateParams gp;
    float g[2 * SA_TD_MAX_RADIUS + 1];
    bool wave;  // wavefront (td_wave_body) or whole-tile buffer (td_tile_body)
    bool sparse;  // hard form, delta scheme (td_sparse_body)
    bool incr;    // hard form, incremental scheme (td_incr_body)
    TdTileFn fn;  // the table's kernel for (soft, wave, r)
    int64_t planes = 1, pgroup = 1;  // planes, and consecutive planes per task (incremental only)
    std::atomic<bool> oom{false};
};

void td_task(void* ctx, int64_t t) {
    TdJob& j = *static_cast<TdJob*>(ctx);
    if (j.oom.load(std::memory_order_relaxed)) return;
    const int64_t per_plane = j.row_tiles * j.col_tiles;
    const int64_t plane = t / per_plane * j.pgroup, rest = t % per_plane;
    const int64_t rt = rest / j.col_tiles, ct = rest % j.col_tiles;
    TdTile a;
    a.o = j.o + plane * j.H * j.W;
    a.y = j.y + plane * j.H * j.W;
    a.H = j.H;
    a.W = j.W;
    a.R0 = rt * j.TH;
    a.R1 = std::min(j.H, a.R0 + j.TH);
    a.C0 = ct * j.TW;
    a.C1 = std::min(j.W, a.C0 + j.TW);
    a.T = j.T;
    a.r = j.r;
    a.lambda = j.lambda;
    a.gp = j.gp;
    a.g = j.g;
    a.planes = std::min(j.pgroup, j.planes - plane);
    const int64_t halo = (int64_t)j.T * j.r;
    const int64_t eh = std::min(j.H, a.R1 + halo) - std::max<int64_t>(0, a.R0 - halo);
    const int64_t ew = std::min(j.W, a.C1 + halo) - std::max<int64_t>(0, a.C0 - halo);
    size_t ok;
    TdIncrLayout L{};
    size_t need = j.incr     ? (ok = td_incr_layout(eh, ew, j.r, &L), L.total)
                  : j.sparse ? td_sparse_scratch(eh, ew, j.r, &ok)
                  : j.wave ? td_wave_scratch(ew, j.T, j.r, &ok)
                           : td_tile_scratch(eh, ew, j.r, &ok);
    Scratch s;
    if (!ok || !s.get(need)) {
        j.oom = true;
        return;
    }
    j.fn(a, s.p);
}

// Both planners' last step: shorter row tiles until every thread has two tiles or more (not
// below max(8, halo) rows), then the tile counts.
void finish_plan(TdJob& j, int64_t planes, int threads, int64_t halo, int64_t TH, int64_t TW) {
    const int64_t H = j.H, W = j.W;
    const int64_t tiles = planes * ((H + TH - 1) / TH) * ((W + TW - 1) / TW);
    const int64_t want = 2 * (int64_t)threads;
    if (threads > 1 && tiles < want) {
        const int64_t min_rows = std::max<int64_t>(8, halo);
        const int64_t col_tiles = (W + TW - 1) / TW;
        const int64_t blocks = (want + planes * col_tiles - 1) / (planes * col_tiles);
        TH = std::min(TH, std::max(min_rows, (H + blocks - 1) / blocks));
    }
    j.TH = std::max<int64_t>(1, TH);
    j.TW = std::max<int64_t>(1, TW);
    j.row_tiles = (H + j.TH - 1) / j.TH;
    j.col_tiles = (W + j.TW - 1) / j.TW;
}

// Wavefront when its rings (T * (2r+B) rows) fit in about half of a core's L2, over whole
// planes or, for wide planes, column tiles at least as wide as the halo. Otherwise (many
// iterations times a large radius) a whole-tile v buffer: whole planes while that fits in
// about a third of L2, else tiles whose halo costs at most about 2x. Then enough row
// blocks (each with its own halo) that every thread has work.
void td_plan(TdJob& j, int64_t planes, int threads) {
    const int64_t H = j.H, W = j.W;
    const int64_t halo = (int64_t)j.T * j.r;
    const int64_t wave_budget = 256 * 1024;  // floats of the rings, ~1 MiB
    const int64_t levels = (int64_t)j.T * (2 * j.r + kWaveBlock) + 3;
    const int64_t budget = 160 * 1024;  // floats of the whole-tile v buffer, ~640 KiB
    int64_t TH = H, TW = W;
    j.wave = false;
    if (levels * (W + 2 * j.r + 16) <= wave_budget) {
        j.wave = true;
    } else {
        const int64_t tw = wave_budget / levels - 2 * halo - 2 * j.r - 16;
        if (tw >= std::max<int64_t>(64, halo)) {
            j.wave = true;
            TW = std::min(W, tw / 16 * 16);
        }
    }
    if (!j.wave && H * W > budget) {
        TW = W <= 1024 ? W : std::min<int64_t>(W, std::max<int64_t>(256, round_up(2 * halo, 64)));
        const int64_t ew = std::min<int64_t>(W, TW + 2 * halo);
        TH = std::max<int64_t>(budget / ew - 2 * halo, std::max<int64_t>(16, halo));
        TH = std::min(TH, H);
    }
    finish_plan(j, planes, threads, halo, TH, TW);
}

// The delta scheme keeps v of a whole tile (with its T*r halo): whole planes while v fits in
// about 1 MiB, else tiles of the full width (up to 1024 columns, wider planes in column tiles
// of at least 256 and twice the halo) and as many rows as fit. Its cost after the first
// iteration is the flipped gates' neighbourhoods, so the halo costs mostly in iteration 1.
// Then enough row blocks that every thread has work.
void td_plan_sparse(TdJob& j, int64_t planes, int threads) {
    const int64_t H = j.H, W = j.W;
    const int64_t halo = (int64_t)j.T * j.r;
    const int64_t budget = 256 * 1024;  // floats of v, ~1 MiB
    int64_t TH = H, TW = W;
    if ((H + 2 * j.r) * (W + 2 * j.r + 16) > budget) {
        TW = W <= 1024 ? W : std::min<int64_t>(W, std::max<int64_t>(256, round_up(2 * halo, 64)));
        const int64_t ew = std::min<int64_t>(W, TW + 2 * halo) + 2 * j.r + 16;
        TH = std::max<int64_t>(budget / ew - 2 * halo - 2 * j.r, std::max<int64_t>(16, halo));
        TH = std::min(TH, H);
    }
    finish_plan(j, planes, threads, halo, TH, TW);
}

std::atomic<int> g_td_direct{0};  // sa_internal_cpu_td_direct: 0 auto, 1 direct, 2 delta, 3 incremental

struct PointJob {
    const float* o;
    float* y;
    int64_t n;
    GateParams gp;
    const KernelTable* k;
};
constexpr int64_t kPointChunk = 1 << 15;

void soft_point_task(void* ctx, int64_t t) {
    const PointJob& j = *static_cast<const PointJob*>(ctx);
    const int64_t b = t * kPointChunk, e = std::min(j.n, b + kPointChunk);
    j.k->td_soft_point(j.o + b, j.y + b, e - b, j.gp);
}

}  // namespace

int td_pointwise(const float* o, float* y, sa_shape shape, int64_t n, const sa_params* p) {
    if (p->eps == 0.0f) {
        sa_params q = *p;
        q.alpha_per_channel = nullptr;
        return sa_cpu_leaky_relu_forward(o, y, shape, &q);
    }
    PointJob j{o, y, n, make_gate(p), &kt()};
    run_tasks((n + kPointChunk - 1) / kPointChunk, soft_point_task, &j, n >= kParallelMin);
    return SA_OK;
}

}  // namespace sa

using namespace sa;

extern "C" {

int sa_cpu_td_lrelu_forward(const float* o, float* y, sa_shape shape, const sa_params* p) {
    const char* fn = "sa_cpu_td_lrelu_forward";
    int64_t n;
    int rc = check_td(fn, o, y, shape, p, &n);
    if (rc) return rc;
    const int r = td_radius(p);
    if (p->iterations == 0 || p->lambda == 0.0f) return td_pointwise(o, y, shape, n, p);

    TdJob j;
    j.o = o;
    j.y = y;
    j.H = shape.h;
    j.W = shape.w;
    j.T = p->iterations;
    j.r = r;
    j.lambda = p->lambda;
    j.gp = make_gate(p);
    sa_td_gaussian(p->sigma, r, j.g);
    const bool soft = p->eps > 0.0f;
    const int threads = n < kParallelMin ? 1 : pool_threads();
    const int64_t planes = shape.n * shape.c;
    // Hard form: the incremental scheme (below); else the block delta scheme where it
    // measured faster than the direct wavefront (small planes, where per-row work is little
    // and the fixed point comes early, and many iterations, where the later ones are nearly
    // empty); else the direct kernels. The last two give the same bits; the incremental one
    // agrees with them as the hard form does (docs/PERFORMANCE.md, docs/TD-LReLU.md).
    const int mode = g_td_direct.load(std::memory_order_relaxed);
    // The incremental scheme keeps f = o - lambda * G*v as a running sum: lambda <= 1e30 keeps
    // every term finite (|lambda (1 + vclosed) g| <= 2e30; only |o| <= lambda can flip).
    // Auto: the incremental scheme whenever there is a second iteration to save (T >= 2; at
    // T = 1 its bookkeeping only adds to the direct kernels' one pass).
    j.incr = !soft && (mode == 3 || (mode == 0 && j.T >= 2)) && p->lambda <= 1e30f;
    if (j.incr) {
        // Its tiles are the block delta scheme's; the largest one's layout must fit the 32-bit
        // flat indices (not with a halo T*r in the thousands on a huge plane): else another
        // scheme runs.
        td_plan_sparse(j, planes, threads);
        const int64_t halo = (int64_t)j.T * r;
        TdIncrLayout L{};
        j.incr = td_incr_layout(std::min(j.H, j.TH + 2 * halo), std::min(j.W, j.TW + 2 * halo), r, &L);
    }
    j.sparse = !soft && !j.incr && (mode == 2 || mode == 3 || (mode == 0 && (shape.h * shape.w <= 32 * 32 || p->iterations >= 8)));
    j.planes = planes;
    if (j.incr) {  // planned above
        j.wave = false;
        j.fn = kt().td_incr(r);
        // Small whole planes: several per task share the kernel's set-up (its tables and
        // cleared bit planes cost about a quarter of a 32 x 32 plane), keeping two tasks per
        // thread. The planes are computed exactly as one per task would compute them.
        if (j.row_tiles == 1 && j.col_tiles == 1 && shape.h * shape.w <= 64 * 64)
            j.pgroup = std::max<int64_t>(1, std::min<int64_t>(planes / (2 * (int64_t)threads), 16384 / (shape.h * shape.w)));
    } else if (j.sparse) {
        td_plan_sparse(j, planes, threads);
        j.wave = false;
        j.fn = kt().td_sparse(r);
    } else {
        td_plan(j, planes, threads);
        j.fn = kt().td_tile(soft, j.wave, r);
    }
    const int64_t tasks = (planes + j.pgroup - 1) / j.pgroup * j.row_tiles * j.col_tiles;
    run_tasks(tasks, td_task, &j, threads > 1);
    if (j.oom) return fail(SA_ERR_OUT_OF_MEMORY, "%s: could not allocate the tile workspace", fn);
    return SA_OK;
}

int sa_internal_cpu_td_direct(int mode) {
    if (mode < 0) return g_td_direct.load();
    return g_td_direct.exchange(mode >= 1 && mode <= 3 ? mode : 0);
}

SA_NOT_IMPLEMENTED_ENTRY(sa_cpu_td_lrelu_backward, const float*, const float*, float*, sa_shape, const sa_params*)

}  // extern "C"
