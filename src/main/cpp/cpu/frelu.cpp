// CPU entry points of FReLU: validate, tile the planes (kColTile columns at most, row blocks
// when there are few planes) and run the table's kernel (kernels/frelu_isa.cpp) on the pool.
#include <stdint.h>

#include <algorithm>

#include "../common/sa_internal.h"
#include "dispatch.h"
#include "spatialact/spatialact.h"

namespace sa {
namespace {

struct FreluJob {
    const float* x;
    float* y;
    sa_shape s;
    const sa_params* p;
    int64_t row_block, row_blocks, col_block, col_blocks;
    const KernelTable* k;
};

void frelu_task(void* ctx, int64_t t) {
    const FreluJob& j = *static_cast<const FreluJob*>(ctx);
    const int64_t per_plane = j.row_blocks * j.col_blocks;
    const int64_t plane = t / per_plane, rest = t % per_plane;
    const int64_t rb = rest / j.col_blocks, cb = rest % j.col_blocks;
    const int64_t H = j.s.h, W = j.s.w, c = plane % j.s.c;
    FreluTask ft;
    ft.x = j.x + plane * H * W;
    ft.y = j.y + plane * H * W;
    ft.h = H;
    ft.w = W;
    ft.r0 = rb * j.row_block;
    ft.r1 = std::min(H, ft.r0 + j.row_block);
    ft.c0 = cb * j.col_block;
    ft.c1 = std::min(W, ft.c0 + j.col_block);
    ft.k = j.p->k;
    ft.variant = j.p->variant;
    const int64_t wlen = j.p->variant == SA_FRELU_LIGHT ? 2 * j.p->k : (int64_t)j.p->k * j.p->k;
    ft.weight = j.p->weight + c * wlen;
    ft.bias = j.p->bias ? j.p->bias[c] : 0.0f;
    j.k->frelu(ft);
}

}  // namespace
}  // namespace sa

using namespace sa;

extern "C" {

int sa_cpu_frelu_forward(const float* x, float* y, sa_shape shape, const sa_params* p) {
    int64_t n;
    int rc = check_frelu("sa_cpu_frelu_forward", x, y, shape, p, &n);
    if (rc) return rc;
    FreluJob j;
    j.x = x;
    j.y = y;
    j.s = shape;
    j.p = p;
    j.k = &kt();
    const int64_t planes = shape.n * shape.c, H = shape.h, W = shape.w;
    const int threads = n < kParallelMin ? 1 : pool_threads();
    // Column tiles of at most kColTile, balanced (a wide image never leaves a sliver of a tile:
    // the kernel's edge blocks need a tile of at least 16 + k columns).
    j.col_blocks = (W + kColTile - 1) / kColTile;
    j.col_block = (W + j.col_blocks - 1) / j.col_blocks;
    // Whole planes per task when there are enough of them (no halo re-reads); otherwise
    // row blocks of at least 16 rows until every thread has about four tasks.
    int64_t row_block = H;
    const int64_t want = 4 * (int64_t)threads;
    if (planes * j.col_blocks < want) {
        int64_t blocks = (want + planes * j.col_blocks - 1) / (planes * j.col_blocks);
        row_block = std::max<int64_t>(16, (H + blocks - 1) / blocks);
    }
    // Bound a task to about 1M elements so big planes still spread over the threads.
    const int64_t max_rows = std::max<int64_t>(16, (int64_t(1) << 20) / j.col_block);
    row_block = std::min(row_block, max_rows);
    j.row_block = std::max<int64_t>(1, std::min(row_block, H));
    j.row_blocks = (H + j.row_block - 1) / j.row_block;
    const int64_t tasks = planes * j.row_blocks * j.col_blocks;
    run_tasks(tasks, frelu_task, &j, threads > 1);
    return SA_OK;
}

SA_NOT_IMPLEMENTED_ENTRY(sa_cpu_frelu_backward, const float*, const float*, float*, sa_shape, const sa_params*)

}  // extern "C"
