// CUDA NTD-LReLU forward (docs/TD-LReLU.md has the formulation and the design).
//
// NTD-LReLU, stored weights. Per sample: the guide (channel mean or the caller's), then one
// kernel builds the normalised, k-nearest-truncated weights of every pixel (offset-major
// planes: coalesced), then T kernels iterate every channel with them (a pixel tile's weights and
// each channel's v tile staged in shared memory; the first forms v^0 = 1 - 2u^0 from o as it
// stages), keeping v = 1 - 2u between iterations in two ping-pong buffers. Recomputing the weights on chip instead of
// storing them is the alternative docs/TD-LReLU.md discusses; comparing the two needs a GPU.
//
// The workspace is stream-ordered (cudaMallocAsync / cudaFreeAsync, kernel_utils.cuh).
#include <stdint.h>

#include "../cpp/common/sa_math.h"
#include "kernel_utils.cuh"
#include "spatialact/spatialact.h"

using namespace sa::cuda;
using sa::fail;

namespace {

// Channel mean of sample n, summed in channel order and scaled by (float)(1/C), as the CPU.
__global__ void ntd_mean_kernel(const float* __restrict__ o, float* __restrict__ g, int64_t C, int64_t HW,
                                float inv) {
    for (int64_t x = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; x < HW; x += (int64_t)gridDim.x * blockDim.x) {
        float s = o[x];
        for (int64_t c = 1; c < C; c++) s += o[c * HW + x];
        g[x] = C > 1 ? s * inv : s;
    }
}

struct NtdArgs {
    int64_t H, W, C, Cg;
    int S, P, knn;
    float scale;  // 1 / ((2P+1)^2 * Cg * h^2)
    float alpha, lambda, eps;
};

// ---- one pixel's weights, from guide tiles in shared memory ------------------------------
// The pair weights of pixel (i, j): direct patch sums with clamp-to-edge, exp, k-nearest
// truncation by rank (ties: lower offset index = lower raster index), normalisation; offset
// k = (dy + S) * (2S + 1) + (dx + S). The guide arrives one channel at a time as a tile with an
// E = S + P halo, clamped to the image while staged, so every guide value is read from global
// memory about once per channel instead of 2 (2P+1)^2 times per offset. Each offset's distance
// sums channel, then patch row, then patch column, as the direct loop of version 1 did: the
// same bits.

// Stages guide channel gc's tile: rows i0 - E .. i0 + TH + E - 1, columns j0 - E .. j0 + TW + E - 1
// (GH x GW), each clamped to the image.
__device__ __forceinline__ void ntd_stage_guide(const float* __restrict__ gc, float* gsh, int64_t i0, int64_t j0,
                                                int GH, int GW, int E, int64_t H, int64_t W, int tid, int nthreads) {
    for (int idx = tid; idx < GH * GW; idx += nthreads) {
        const int r = idx / GW, q = idx - r * GW;
        const int64_t gi = min(max(i0 - E + r, (int64_t)0), H - 1), gj = min(max(j0 - E + q, (int64_t)0), W - 1);
        gsh[idx] = gc[gi * W + gj];
    }
}

// Adds one guide channel's squared patch differences to d[k] of pixel (i, j), tile position
// (li, lj).
__device__ __forceinline__ void ntd_add_distances(const float* gsh, int GW, int li, int lj, int64_t i, int64_t j,
                                                  const NtdArgs& a, float* d) {
    const int S = a.S, P = a.P, D = 2 * S + 1, K = D * D, self = K / 2, E = S + P;
    for (int k = 0; k < K; k++) {
        const int dy = k / D - S, dx = k % D - S;
        const int64_t yi = i + dy, yj = j + dx;
        if (k == self || yi < 0 || yi >= a.H || yj < 0 || yj >= a.W) continue;
        float dk = d[k];
        for (int pa = -P; pa <= P; pa++) {
            const float* r0 = gsh + (li + E + pa) * GW + (lj + E);
            const float* r1 = gsh + (li + E + dy + pa) * GW + (lj + E + dx);
            for (int pb = -P; pb <= P; pb++) {
                const float e = r0[pb] - r1[pb];
                dk = fmaf(e, e, dk);
            }
        }
        d[k] = dk;
    }
}

// Distances d[k] -> the pixel's weights before normalisation (exp, knn); returns their sum.
__device__ __forceinline__ float ntd_finish_weights(int64_t i, int64_t j, const NtdArgs& a, float* w) {
    const int S = a.S, D = 2 * S + 1, K = D * D, self = K / 2;
    for (int k = 0; k < K; k++) {
        const int dy = k / D - S, dx = k % D - S;
        const int64_t yi = i + dy, yj = j + dx;
        float wk = 0.0f;
        if (k == self) {
            wk = 1.0f;
        } else if (yi >= 0 && yi < a.H && yj >= 0 && yj < a.W) {
            const float dm = w[k] * a.scale;
            wk = dm < 87.0f ? expf(-dm) : 0.0f;  // NaN distance: 0, as on the CPU
        }
        w[k] = wk;
    }
    if (a.knn > 0 && a.knn < K) {
        const int need = a.knn - 1;
        float keep[(2 * SA_NTD_MAX_SEARCH + 1) * (2 * SA_NTD_MAX_SEARCH + 1)];
        for (int k = 0; k < K; k++) {
            int rank = 0;
            if (k != self)
                for (int k2 = 0; k2 < K; k2++)
                    if (k2 != self && k2 != k && (w[k2] > w[k] || (w[k2] == w[k] && k2 < k))) rank++;
            keep[k] = (k == self || rank < need) ? w[k] : 0.0f;
        }
        for (int k = 0; k < K; k++) w[k] = keep[k];
    }
    float sum = 0.0f;
    for (int k = 0; k < K; k++) sum += w[k];
    return sum;
}

// The weights of the TH x TW tile at (i0, j0), one pixel per thread (thread p: row pi, column pj),
// from the guide's Cg channels staged one at a time in gsh; then w[k] / sum for pixel p, or 0
// outside the image, is handed to put(k, value). Every thread passes the same barriers.
template <class Put>
__device__ __forceinline__ void ntd_tile_weights(const float* __restrict__ g, float* gsh, int64_t i0, int64_t j0,
                                                 int TH, int TW, int p, int pi, int pj, const NtdArgs& a, Put put) {
    const int S = a.S, K = (2 * S + 1) * (2 * S + 1), E = S + a.P, GH = TH + 2 * E, GW = TW + 2 * E;
    const int64_t i = i0 + pi, j = j0 + pj, HW = a.H * a.W;
    const bool inside = i < a.H && j < a.W;
    float w[(2 * SA_NTD_MAX_SEARCH + 1) * (2 * SA_NTD_MAX_SEARCH + 1)];
    for (int k = 0; k < K; k++) w[k] = 0.0f;  // the distances first
    for (int64_t c = 0; c < a.Cg; c++) {
        ntd_stage_guide(g + c * HW, gsh, i0, j0, GH, GW, E, a.H, a.W, p, TH * TW);
        __syncthreads();
        if (inside) ntd_add_distances(gsh, GW, pi, pj, i, j, a, w);
        __syncthreads();  // gsh is restaged for the next channel or tile
    }
    if (!inside) {
        for (int k = 0; k < K; k++) put(k, 0.0f);
        return;
    }
    const float sum = ntd_finish_weights(i, j, a, w);
    for (int k = 0; k < K; k++) put(k, w[k] / sum);
}

constexpr int kWTile = 16;  // the weights kernel's tile: 16 x 16 = kThreads pixels
static_assert(kWTile * kWTile == kThreads, "one pixel per thread");

// Stored weights: every pixel's into wt[k * HW + x]. (__launch_bounds__ with 4 blocks per SM:
// with the block size alone ptxas 13.0 gave sm_90 48 registers and 24 bytes of spills.)
__global__ void __launch_bounds__(kThreads, 4)
    ntd_weights_kernel(const float* __restrict__ g, float* __restrict__ wt, NtdArgs a) {
    extern __shared__ float gsh[];  // (kWTile + 2E)^2
    const int64_t H = a.H, W = a.W, HW = H * W;
    const int64_t tiles_x = (W + kWTile - 1) / kWTile, tiles = tiles_x * ((H + kWTile - 1) / kWTile);
    const int tid = threadIdx.x, pi = tid / kWTile, pj = tid - pi * kWTile;
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
        const int64_t ty = t / tiles_x;
        const int64_t i0 = ty * kWTile, j0 = (t - ty * tiles_x) * kWTile;
        const int64_t x = (i0 + pi) * W + (j0 + pj);
        const bool inside = i0 + pi < H && j0 + pj < W;
        ntd_tile_weights(g, gsh, i0, j0, kWTile, kWTile, tid, pi, pj, a, [&](int k, float v) {
            if (inside) wt[(int64_t)k * HW + x] = v;
        });
    }
}

// One iteration for every channel of one sample: f = o - lambda * W v; the new v into out, or y
// in the last iteration. A block owns a tile of TH x TW pixels, one per thread (TW = min(32, NP),
// TH = NP / TW), and holds in shared memory the tile's weights (K x NP: stored ones loaded once
// per pixel and iteration for all channels instead of once per channel, or, RECOMPUTE, built
// here from guide tiles, with no stored weights at all), and for each channel in turn the v tile
// with its S halo ((TH + 2S) x (TW + 2S), instead of K neighbour loads per output). Each
// channel's sum runs over the taps in the order of the direct loop (dy, then dx; taps outside the
// image skipped), so the results are the same bits either way.
template <bool SOFT, bool RECOMPUTE>
__global__ void __launch_bounds__(kThreads, 4)
    ntd_iter_kernel(const float* __restrict__ o, const float* __restrict__ vin, const float* __restrict__ wt,
                    const float* __restrict__ g, float* __restrict__ out, bool final_it, int TH, int TW, NtdArgs a) {
    extern __shared__ float ntd_smem[];
    const int S = a.S, D = 2 * S + 1, K = D * D;
    const int NP = TH * TW, VW = TW + 2 * S, VH = TH + 2 * S;
    float* wsh = ntd_smem;            // [K][NP]
    float* vsh = ntd_smem + K * NP;   // [VH][VW]
    float* gsh = vsh + VH * VW;       // RECOMPUTE: [TH + 2E][TW + 2E]
    const int64_t H = a.H, W = a.W, HW = H * W;
    const int64_t tiles_x = (W + TW - 1) / TW, tiles = tiles_x * ((H + TH - 1) / TH);
    const int p = threadIdx.x, pi = p / TW, pj = p - pi * TW;
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
        const int64_t ty = t / tiles_x;
        const int64_t i0 = ty * TH, j0 = (t - ty * tiles_x) * TW;
        const int64_t i = i0 + pi, j = j0 + pj;
        const bool inside = i < H && j < W;
        const int64_t x = i * W + j;
        if (RECOMPUTE) {  // each thread writes and later reads only its own column p of wsh
            ntd_tile_weights(g, gsh, i0, j0, TH, TW, p, pi, pj, a, [&](int k, float v) { wsh[k * NP + p] = v; });
        } else {  // the tile's stored weights, coalesced along each offset plane
            for (int idx = p; idx < K * NP; idx += NP) {
                const int k = idx / NP, q = idx - k * NP, qi = q / TW, qj = q - qi * TW;
                const int64_t gi = i0 + qi, gj = j0 + qj;
                wsh[idx] = gi < H && gj < W ? wt[(int64_t)k * HW + gi * W + gj] : 0.0f;
            }
        }
        for (int64_t c = 0; c < a.C; c++) {
            // v of the previous iteration, or in the first (vin NULL) v^0 = 1 - 2 gate(o) from o
            // itself: no v^0 pass over the tensor.
            const float* vc = (vin ? vin : o) + c * HW;
            for (int idx = p; idx < VH * VW; idx += NP) {
                const int r = idx / VW, q = idx - r * VW;
                const int64_t gi = i0 - S + r, gj = j0 - S + q;
                float v = 0.0f;
                if (gi >= 0 && gi < H && gj >= 0 && gj < W) {
                    v = vc[gi * W + gj];
                    if (!vin) v = 1.0f - 2.0f * gate<SOFT>(v, a.alpha, a.eps);
                }
                vsh[idx] = v;
            }
            __syncthreads();
            if (inside) {
                float acc = 0.0f;
                for (int dy = -S; dy <= S; dy++) {
                    const int64_t yi = i + dy;
                    if (yi < 0 || yi >= H) continue;
                    for (int dx = -S; dx <= S; dx++) {
                        const int64_t yj = j + dx;
                        if (yj < 0 || yj >= W) continue;
                        const float wk = wsh[((dy + S) * D + (dx + S)) * NP + p];
                        acc = fmaf(wk, vsh[(pi + S + dy) * VW + (pj + S + dx)], acc);
                    }
                }
                const float ov = o[c * HW + x];
                const float f = ov - a.lambda * acc;
                const float u = gate<SOFT>(f, a.alpha, a.eps);
                out[c * HW + x] = final_it ? sa_td_out(ov, u) : 1.0f - 2.0f * u;
            }
            __syncthreads();  // vsh is restaged for the next channel (and wsh for the next tile)
        }
    }
}

// Pixels per iteration block: the largest of 256, 128, ..., 8 whose weights, v tile and (when
// recomputing) guide tile fit the device's shared memory per block.
int ntd_tile_pixels(int S, int P, bool recompute, int smem_optin, int* TH, int* TW, size_t* bytes) {
    const int K = (2 * S + 1) * (2 * S + 1), E = S + P;
    for (int np = kThreads; np >= 8; np /= 2) {
        const int tw = np < 32 ? np : 32, th = np / tw;
        const size_t b = ((size_t)K * np + (size_t)(th + 2 * S) * (tw + 2 * S) +
                          (recompute ? (size_t)(th + 2 * E) * (tw + 2 * E) : 0)) * sizeof(float);
        if (b <= (size_t)smem_optin) {
            *TH = th;
            *TW = tw;
            *bytes = b;
            return SA_OK;
        }
    }
    return fail(SA_ERR_INTERNAL, "ntd: the weights of 8 pixels (S = %d) do not fit %d bytes of shared memory", S,
                smem_optin);
}

std::atomic<int> g_weights_mode{0};  // sa_internal_cuda_ntd_weights: 0 the planner, 1 stored, 2 recomputed

// Stored weights cost K floats written and T x K read per pixel (global memory); recomputing
// them costs T weight builds per pixel instead ((2S+1)^2 (2P+1)^2 Cg FMAs and (2S+1)^2 exps, and
// with knn (2S+1)^4 comparisons). Which is faster is for a GPU to decide; until one has, the
// planner stores them (the fewer flops) unless they would take more than this (S = 7 on a
// 1200 x 1000 plane is ~1 GiB, 8192 x 8192 60 GiB: no GPU holds that) or T == 1 (built once
// either way: the fused kernel saves their write and read).
constexpr size_t kNtdStoredWeightsMax = (size_t)1 << 30;

// NTD-LReLU on the current device, after validation.
int ntd_run(const char* fn, const LaunchCtx& c, const float* o, const float* guide, float* y, sa_shape shape,
            int64_t n, const sa_params* p) {
    if (p->iterations == 0 || p->lambda == 0.0f) return td_pointwise(fn, c, o, y, n, p);
    NtdArgs a;
    a.H = shape.h;
    a.W = shape.w;
    a.C = shape.c;
    a.Cg = p->guide_channels > 0 ? p->guide_channels : 1;
    a.S = p->search;
    a.P = p->patch;
    a.knn = p->knn;
    a.scale = (float)(1.0 / ((double)((2 * a.P + 1) * (2 * a.P + 1)) * (double)a.Cg * (double)p->h * (double)p->h));
    a.alpha = p->alpha;
    a.lambda = p->lambda;
    a.eps = p->eps;
    const int K = (2 * a.S + 1) * (2 * a.S + 1);
    const int64_t HW = a.H * a.W, CHW = a.C * HW;
    const int T = p->iterations;
    const bool soft = p->eps > 0.0f;

    // Workspace (one sample at a time): stored weights K x HW (not when recomputed), the
    // channel-mean guide HW, v buffers between iterations (none for T = 1, one for T = 2).
    const size_t nf = T >= 3 ? 2 : (size_t)(T - 1);
    size_t sw, sf, tot;
    if (!mul_ok((size_t)K, (size_t)HW, &sw) || !mul_ok(nf, (size_t)CHW, &sf) || sw > SIZE_MAX - sf - (size_t)HW)
        return fail(SA_ERR_OUT_OF_MEMORY, "%s: workspace too large", fn);
    const int mode = g_weights_mode.load(std::memory_order_relaxed);
    const bool recompute = mode == 2 || (mode == 0 && (T == 1 || sw > kNtdStoredWeightsMax / sizeof(float)));
    if (recompute) sw = 0;
    tot = sw + sf + (p->guide_channels > 0 ? 0 : (size_t)HW);
    Workspace ws;
    int rc = ws.alloc(fn, c, tot);
    if (rc) return rc;
    float* wt = ws.p;
    float* fbuf[2] = {ws.p + sw, nf == 2 ? ws.p + sw + CHW : nullptr};
    float* gmean = ws.p + sw + sf;

    int TH = 0, TW = 0;
    size_t iter_smem = 0;
    if ((rc = ntd_tile_pixels(a.S, a.P, recompute, c.smem_optin, &TH, &TW, &iter_smem))) return rc;
    const int64_t iter_tiles = ((a.H + TH - 1) / TH) * ((a.W + TW - 1) / TW);
    const int64_t grid_px = grid_for(c, HW, 8);
    const int64_t wt_tiles = ((a.H + kWTile - 1) / kWTile) * ((a.W + kWTile - 1) / kWTile);
    const int64_t grid_wt = std::max<int64_t>(1, std::min<int64_t>(wt_tiles, (int64_t)c.sms * 8));
    const int E = a.S + a.P;
    const size_t wt_smem = (size_t)(kWTile + 2 * E) * (kWTile + 2 * E) * sizeof(float);
    for (int64_t s = 0; s < shape.n; s++) {
        const float* os = o + s * CHW;
        float* ys = y + s * CHW;
        const float* g = p->guide_channels > 0 ? guide + s * a.Cg * HW : gmean;
        if (p->guide_channels == 0 &&
            (rc = launch(fn, "ntd_mean_kernel", ntd_mean_kernel, dim3((unsigned)grid_px), dim3(kThreads), 0, c, os,
                         gmean, a.C, HW, (float)(1.0 / (double)a.C))))
            return rc;
        if (!recompute && (rc = launch(fn, "ntd_weights_kernel", ntd_weights_kernel, dim3((unsigned)grid_wt),
                                       dim3(kThreads), wt_smem, c, g, wt, a)))
            return rc;
        const float* vin = nullptr;  // the first iteration forms v^0 from o
        for (int t = 1; t <= T; t++) {
            float* out = t == T ? ys : fbuf[(t - 1) % 2];
            rc = with_bool(soft, [&](auto sc) {
                return with_bool(recompute, [&](auto rcmp) {
                    return launch_resident(fn, "ntd_iter_kernel",
                                           ntd_iter_kernel<decltype(sc)::value, decltype(rcmp)::value>, iter_tiles,
                                           dim3(TH * TW), iter_smem, c, os, vin, (const float*)wt, g, out, t == T, TH,
                                           TW, a);
                });
            });
            if (rc) return rc;
            vin = out;
        }
    }
    return SA_OK;
}

}  // namespace

extern "C" {

int sa_internal_cuda_ntd_weights(int mode) {
    const int prev = g_weights_mode.load();
    if (mode >= 0) g_weights_mode.store(mode <= 2 ? mode : 0);
    return prev;
}

int sa_cuda_ntd_lrelu_forward(const float* o, const float* guide, float* y, sa_shape shape, const sa_params* p,
                              void* stream) {
    const char* fn = "sa_cuda_ntd_lrelu_forward";
    int64_t n;
    return with_launch_ctx(fn, sa::check_ntd(fn, o, guide, y, shape, p, &n), stream, {{"o", o}, {"guide", guide}, {"y", y}},
                           [&](const LaunchCtx& c) { return ntd_run(fn, c, o, guide, y, shape, n, p); });
}

SA_NOT_IMPLEMENTED_ENTRY(sa_cuda_ntd_lrelu_backward, const float*, const float*, const float*, float*, sa_shape,
                         const sa_params*, void*)

}  // extern "C"
