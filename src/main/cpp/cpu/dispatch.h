// CPU plumbing shared by every operator: the kernel table and the arguments of its entries,
// the pick of the table for this CPU, and the task helpers of the entry points.
//
// One ISA-dispatch mechanism for every CPU kernel: each operator's kernel source,
// kernels/<operator>_isa.cpp, is compiled once per instruction set (baseline SSE2, AVX2+FMA,
// AVX-512; CMakeLists.txt and sa_add_isa_kernels) into the namespace sa::isa_<name>, and
// kernels/table_isa.cpp assembles those functions into the table sa::kernels_<name>. The entry
// points (elementwise.cpp, frelu.cpp, td_lrelu.cpp, ntd_lrelu.cpp) call kernels only through
// kt(), the table of the ISA this CPU has or sa_cpu_set_isa() forced, so one binary runs on
// any x86-64 and uses the widest vectors the CPU has.
#ifndef SA_CPU_DISPATCH_H
#define SA_CPU_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "spatialact/spatialact.h"
#include "threadpool.h"

namespace sa {

// ---- arguments of the kernels ---------------------------------------------------------------

// Column tile of the row-based stencils: the K input rows of a tile stay in L1/L2 whatever
// the image width.
constexpr int64_t kColTile = 2048;

struct FreluTask {
    const float* x;  // plane
    float* y;        // plane
    int64_t h, w;
    int64_t r0, r1;  // rows
    int64_t c0, c1;  // columns
    int k, variant;
    const float* weight;  // this channel's folded weights
    float bias;
};

// Gate parameters of TD/NTD-LReLU (make_gate). v = 1 - 2u is what the Gaussian sees.
struct GateParams {
    float alpha, eps, vclosed;  // vclosed = 1 - 2 alpha: v of a closed hard gate
    float kz;                   // soft: (1 - alpha) / eps, capped at 1e30 (see make_gate)
};

// TD-LReLU on one tile.
struct TdTile {
    const float* o;  // plane
    float* y;        // plane
    int64_t H, W;
    int64_t R0, R1, C0, C1;  // output rectangle
    int T, r;
    float lambda;
    GateParams gp;
    const float* g;  // 2r+1 taps
    int64_t planes = 1;  // consecutive planes of the same tile (td_incr only; others take 1)
};
typedef void (*TdTileFn)(const TdTile& tile, float* scratch);

// Rows per step of the TD wavefront: a level computes this many rows at a time, so the 2r+B
// rows of the level below that they read stay in L1 while each is read 2r+1 times.
constexpr int kWaveBlock = 16;

// Workspace of the hard form's incremental scheme over one extended tile of eh x ew pixels
// (td_incr_body, kernels/td_lrelu_isa.cpp; td_lrelu.cpp sizes the tasks with it). Offsets in
// floats from the task's scratch, each 64-byte aligned. F holds f = o - lambda * G*v over the
// tile padded by r rows above and below and by off columns on the left (a multiple of 16,
// >= r) and at least r + 16 on the right, so that a flip's window never leaves it; a pixel is
// one flat index into F (row * pf + column). The bit planes (open, dirty, may flip) have one
// bit per float of F, in 16-bit chunks: chunk c is F[16c, 16c + 16).
// The two flip lists hold flat indices, at most one per pixel of the tile each (and 16 of
// slack).
struct TdIncrLayout {
    int64_t off, pf, pv;  // F's left padding and pitch; the v rows' pitch
    int nck;              // 16-column chunks per window row (2r + 1 columns)
    size_t f, q, tmp, hs, vring, zero, open, dirty, unc, valid, list_a, list_b, total;
};
static inline bool td_incr_layout(int64_t eh, int64_t ew, int r, TdIncrLayout* L) {
    if (eh <= 0 || ew <= 0 || r < 1 || r > 32 || eh > (int64_t(1) << 30) || ew > (int64_t(1) << 30)) return false;
    auto al = [](int64_t v) { return (size_t)((v + 15) / 16 * 16); };
    L->nck = (2 * r + 1 + 15) / 16;
    L->off = (r + 15) / 16 * 16;
    L->pf = (L->off + ew + r + 16 * L->nck + 15) / 16 * 16;
    L->pv = (ew + 2 * r + 15) / 16 * 16;
    const int64_t nf = (eh + 2 * r) * L->pf;  // floats of F
    if (nf >= (int64_t(1) << 32) || eh * ew >= (int64_t(1) << 32)) return false;  // 32-bit flat indices
    const int64_t plane = (nf / 16 + 2 + 1) / 2;  // floats of one bit plane: a uint16 per chunk, 2 spare
    size_t at = 0;
    L->f = at;      at += al(nf);
    L->q = at;      at += al((2 * r + 1) * 16 * (int64_t)L->nck);
    L->tmp = at;    at += al(L->pv + 16);  // a row's last 16-column chunk may read past pv
    L->hs = at;     at += al(L->pv);
    L->vring = at;  at += al((2 * r + 1) * L->pv);
    L->zero = at;   at += al(L->pv);
    L->open = at;   at += al(plane);
    L->dirty = at;  at += al(plane);
    L->unc = at;    at += al(plane);
    L->valid = at;  at += al(L->pf / 8);   // rows of uint16 chunks: the tile's columns, the output's, v's
    L->list_a = at; at += al(eh * ew + 16);  // uint32, 16 of slack for a full-vector append
    L->list_b = at; at += al(eh * ew + 16);
    L->total = at;
    return true;
}

// NTD-LReLU on one tile of one sample (ntd_lrelu.cpp plans them): the call's inputs, the
// tile's extended region E (its output rectangle grown by T*S and clipped to the image), which
// the stages below treat as their image of H x W pixels, and the task's workspace.
struct NtdArgs {
    const float* o;
    const float* guide;  // user guide or nullptr
    float* y;
    int64_t N, C, Cg;
    int64_t IH, IW;      // the image
    int64_t er0, ec0;    // E's first row and column in the image
    int64_t H, W;        // E's size
    int S, P, T, knn;
    float h, lambda;
    GateParams gp;
    // per-task state
    int64_t n;           // sample
    int64_t c0, c1;      // channels of this task (va/vb hold c1 - c0 planes)
    int64_t x0, x1;      // columns of E that ntd_iter computes
    int64_t R0, R1, C0, C1;  // the task's output rectangle in E (ntd_incr)
    int t;
    // workspace
    float* gpad;  // Cg x Hg x Wg: the guide over E padded by P+S, clamped to the image's edges
    int64_t Hg, Wg;
    float* wt;    // H x K x W normalised weights
    float* va;    // (c1 - c0) x Hv x pv padded v (ring of S zeros)
    float* vb;
    int64_t Hv, pvv;
    // the incremental scheme's (ntd_incr): the gates of its channels (c1 - c0 <= kNtdIncrBlock
    // planes of H x W bytes) and two flip lists (H x W indices i * W + x each)
    uint8_t* u;
    int32_t *la, *lb;
    float* ws;  // H x W x K: the weights by source (ntd_sources)
};
typedef void (*NtdIterFn)(const NtdArgs& j, int64_t i0, int64_t i1, float* acc);
typedef void (*NtdIncrFn)(const NtdArgs& j, float* acc);

// Rows per weight block of NTD (see ntd_weights).
constexpr int64_t kNtdWeightRows = 8;
// The workspace of one NTD task (ntd_lrelu.cpp plans the tiles to fit it): 4M floats, 16 MiB,
// the size Scratch keeps per thread; larger only when even a 16 x 16 tile with one channel and
// its T*S halo does not fit (T*S above about 100 with S = 3).
constexpr size_t kNtdTaskFloats = size_t(4) << 20;

// Channels the NTD incremental scheme carries through its T iterations at a time (ntd_lrelu.cpp):
// one block of ntd_iter's weight sharing; its workspace does not grow with the channels of a
// task, so tasks can take all channels and build the weights once per tile.
constexpr int64_t kNtdIncrBlock = 8;

constexpr int ntd_K(int S) { return (2 * S + 1) * (2 * S + 1); }

// ---- the kernel table -----------------------------------------------------------------------

struct KernelTable {
    const char* name;
    // kernels/elementwise_isa.cpp
    void (*leaky)(const float* x, float* y, int64_t n, float alpha);
    void (*leaky_backward)(const float* x, const float* dy, float* dx, int64_t n, float alpha);
    void (*star)(const float* a, const float* b, float* y, int64_t n, int act, float alpha);
    // kernels/frelu_isa.cpp
    void (*frelu)(const FreluTask& t);
    // kernels/td_lrelu_isa.cpp: the tile kernel for (soft, wavefront or whole-tile buffer, r)
    TdTileFn (*td_tile)(bool soft, bool wave, int r);
    // the hard-form tile kernel of the delta scheme (only what can change is recomputed;
    // bit-identical to td_tile's hard kernels of the same ISA), for r
    TdTileFn (*td_sparse)(int r);
    // the hard-form tile kernel of the incremental scheme (one dense iteration, then only the
    // flipped gates' windows; within the hard-form agreement of the direct kernels), for r
    TdTileFn (*td_incr)(int r);
    void (*td_soft_point)(const float* o, float* y, int64_t n, const GateParams& gp);
    // kernels/ntd_lrelu_isa.cpp: the iteration kernel for (soft, S) (rows [i0, i1), columns
    // [x0, x1), channels [c0, c1) of the tile), and the stages that build the padded guide
    // (task: channel x padded row), the weights of rows [i0, i0 + kNtdWeightRows) (E, Hs: see
    // ntd_weights), their normalisation (row i; scratch: W floats, plus K x W with k-nearest
    // truncation) and v^0 (task: channel of the task x padded row).
    NtdIterFn (*ntd_iter)(bool soft, int S);
    // the hard form's incremental scheme for S (T >= 2): all T iterations of the task and y
    // (one dense iteration, then only the windows of flipped gates; within the hard-form
    // agreement of ntd_iter's iterations)
    NtdIncrFn (*ntd_incr)(int S);
    void (*ntd_guide)(const NtdArgs& j, int64_t task);
    void (*ntd_weights)(const NtdArgs& j, int64_t i0, int64_t i1, float* E, float* Hs);
    void (*ntd_normalise)(const NtdArgs& j, int64_t i, float* scratch);
    void (*ntd_init)(const NtdArgs& j, int64_t cl, int64_t pi);  // channel of the task, padded row
    void (*ntd_sources)(const NtdArgs& j, int64_t row);  // the incremental scheme's weights by source
    // td_soft_point is the baseline build's in every table (kernels/table_isa.cpp): one build
    // keeps the pointwise soft gate the same bits on every CPU, where the AVX2 and AVX-512
    // builds would round differently (FMA contraction). The NTD stages other than ntd_iter and
    // ntd_incr are each build's own, compiled with -ffp-contract=off (ntd_stages_isa.cpp), which
    // gives the same bits in every build.
};

extern const KernelTable kernels_baseline;
extern const KernelTable kernels_avx2;
extern const KernelTable kernels_avx512;

// The table of the current ISA (sa_cpu_isa()); dispatch.cpp.
const KernelTable& kt();

// ---- task helpers of the entry points (dispatch.cpp) ---------------------------------------

// Below this many elements a call runs on the calling thread: waking workers costs more.
constexpr int64_t kParallelMin = 1 << 15;

// fn(ctx, t) for t in [0, ntasks): on the pool when parallel (and there are two or more),
// else in order on the calling thread.
void run_tasks(int64_t ntasks, task_fn fn, void* ctx, bool parallel);

// Checked size arithmetic for workspaces: false on overflow.
static inline bool mul_ok(size_t a, size_t b, size_t* out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

static inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Scratch memory: 64-byte aligned, never throws.
struct Buf {
    float* p = nullptr;
    size_t n = 0;
    Buf() = default;
    Buf(const Buf&) = delete;
    Buf& operator=(const Buf&) = delete;
    ~Buf();
    bool reserve(size_t count);  // false when it cannot allocate
};

// Hands out scratch for one task: the thread's cached buffer (kept and grown per thread), or
// above kCacheCap floats a private buffer that is freed when the task ends.
constexpr size_t kCacheCap = size_t(4) << 20;  // floats (16 MiB) kept per thread
struct Scratch {
    Buf own;
    float* p = nullptr;
    bool get(size_t count);
};

// ---- shared by td_lrelu.cpp and ntd_lrelu.cpp (defined in td_lrelu.cpp) ------------------

GateParams make_gate(const sa_params* p);
// The pointwise case of TD and NTD, T == 0 or lambda == 0. Hard: LeakyReLU itself. Soft:
// o * gate(o).
int td_pointwise(const float* o, float* y, sa_shape shape, int64_t n, const sa_params* p);

}  // namespace sa

#endif
