// CUDA NTD-LReLU forward (docs/TD-LReLU.md has the formulation and the design).
//
// NTD-LReLU, stored weights. Per sample: the guide (channel mean or the caller's), then one
// kernel builds the normalised, k-nearest-truncated weights of every pixel (offset-major
// planes: coalesced), then T kernels iterate every channel with them (a pixel tile's weights and
// each channel's v tile staged in shared memory), keeping v = 1 - 2u between iterations in two
// ping-pong buffers. Recomputing the weights on chip instead of
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

// Weights of every pixel of one sample: direct patch sums with clamp-to-edge, exp, k-nearest
// truncation by rank (ties: lower offset index = lower raster index), normalisation.
// wt[k * HW + x], k = (dy + S) * (2S + 1) + (dx + S). A block owns a kWTile x kWTile pixel tile,
// one pixel per thread, and stages each guide channel's tile with its S + P halo in shared memory
// (the clamp-to-edge applied while staging), so every guide value is read from global memory
// about once per channel instead of 2 (2P+1)^2 times per offset. Each offset's distance sums
// channel, then patch row, then patch column, as the direct loop did: the same bits.
constexpr int kWTile = 16;  // 16 x 16 = kThreads pixels
constexpr int kWHaloMax = SA_NTD_MAX_SEARCH + SA_NTD_MAX_PATCH;
constexpr int kWGuideMax = (kWTile + 2 * kWHaloMax) * (kWTile + 2 * kWHaloMax);
static_assert(kWTile * kWTile == kThreads, "one pixel per thread");

// (__launch_bounds__ with 4 blocks per SM: with the block size alone ptxas 13.0 gave sm_90 48
// registers and 24 bytes of spills.)
__global__ void __launch_bounds__(kThreads, 4)
    ntd_weights_kernel(const float* __restrict__ g, float* __restrict__ wt, NtdArgs a) {
    __shared__ float gsh[kWGuideMax];
    const int S = a.S, P = a.P, D = 2 * S + 1, K = D * D, self = K / 2;
    const int E = S + P, GW = kWTile + 2 * E;
    const int64_t H = a.H, W = a.W, HW = H * W;
    const int64_t tiles_x = (W + kWTile - 1) / kWTile, tiles = tiles_x * ((H + kWTile - 1) / kWTile);
    const int tid = threadIdx.x, pi = tid / kWTile, pj = tid - pi * kWTile;
    float w[(2 * SA_NTD_MAX_SEARCH + 1) * (2 * SA_NTD_MAX_SEARCH + 1)];
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
        const int64_t ty = t / tiles_x;
        const int64_t i0 = ty * kWTile, j0 = (t - ty * tiles_x) * kWTile;
        const int64_t i = i0 + pi, j = j0 + pj;
        const bool inside = i < H && j < W;
        for (int k = 0; k < K; k++) w[k] = 0.0f;  // the distances first
        for (int64_t c = 0; c < a.Cg; c++) {
            const float* gc = g + c * HW;
            for (int idx = tid; idx < GW * GW; idx += kThreads) {
                const int r = idx / GW, q = idx - r * GW;
                const int64_t gi = min(max(i0 - E + r, (int64_t)0), H - 1), gj = min(max(j0 - E + q, (int64_t)0), W - 1);
                gsh[idx] = gc[gi * W + gj];
            }
            __syncthreads();
            if (inside) {
                for (int k = 0; k < K; k++) {
                    const int dy = k / D - S, dx = k % D - S;
                    const int64_t yi = i + dy, yj = j + dx;
                    if (k == self || yi < 0 || yi >= H || yj < 0 || yj >= W) continue;
                    float d = w[k];
                    for (int pa = -P; pa <= P; pa++) {
                        const float* r0 = gsh + (pi + E + pa) * GW + (pj + E);
                        const float* r1 = gsh + (pi + E + dy + pa) * GW + (pj + E + dx);
                        for (int pb = -P; pb <= P; pb++) {
                            const float e = r0[pb] - r1[pb];
                            d = fmaf(e, e, d);
                        }
                    }
                    w[k] = d;
                }
            }
            __syncthreads();  // gsh is restaged for the next channel or tile
        }
        if (!inside) continue;
        for (int k = 0; k < K; k++) {
            const int dy = k / D - S, dx = k % D - S;
            const int64_t yi = i + dy, yj = j + dx;
            float wk = 0.0f;
            if (k == self) {
                wk = 1.0f;
            } else if (yi >= 0 && yi < H && yj >= 0 && yj < W) {
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
        const int64_t x = i * W + j;
        for (int k = 0; k < K; k++) wt[(int64_t)k * HW + x] = w[k] / sum;
    }
}

// v^0 = 1 - 2 gate(o) for the channels of one sample.
template <bool SOFT>
__global__ void ntd_v0_kernel(const float* __restrict__ o, float* __restrict__ v, int64_t n, float alpha, float eps) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        v[i] = 1.0f - 2.0f * gate<SOFT>(o[i], alpha, eps);
}

// One iteration for every channel of one sample: f = o - lambda * W v; the new v into out, or y
// in the last iteration. A block owns a tile of TH x TW pixels, one per thread (TW = min(32, NP),
// TH = NP / TW), and stages two things in shared memory: the tile's weights once (K x NP, loaded
// once per pixel and iteration for all channels, instead of once per channel), and for each
// channel in turn the v tile with its S halo ((TH + 2S) x (TW + 2S), instead of K neighbour loads
// per output). Each channel's sum runs over the taps in the order of the direct loop (dy, then
// dx; taps outside the image skipped), so the results are the same bits.
template <bool SOFT>
__global__ void __launch_bounds__(kThreads)
    ntd_iter_kernel(const float* __restrict__ o, const float* __restrict__ vin, const float* __restrict__ wt,
                    float* __restrict__ out, bool final_it, int TH, int TW, NtdArgs a) {
    extern __shared__ float ntd_smem[];
    const int S = a.S, D = 2 * S + 1, K = D * D;
    const int NP = TH * TW, VW = TW + 2 * S, VH = TH + 2 * S;
    float* wsh = ntd_smem;            // [K][NP]
    float* vsh = ntd_smem + K * NP;   // [VH][VW]
    const int64_t H = a.H, W = a.W, HW = H * W;
    const int64_t tiles_x = (W + TW - 1) / TW, tiles = tiles_x * ((H + TH - 1) / TH);
    const int p = threadIdx.x, pi = p / TW, pj = p - pi * TW;
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
        const int64_t ty = t / tiles_x;
        const int64_t i0 = ty * TH, j0 = (t - ty * tiles_x) * TW;
        const int64_t i = i0 + pi, j = j0 + pj;
        const bool inside = i < H && j < W;
        const int64_t x = i * W + j;
        // The tile's weights, coalesced along each offset plane.
        for (int idx = p; idx < K * NP; idx += NP) {
            const int k = idx / NP, q = idx - k * NP, qi = q / TW, qj = q - qi * TW;
            const int64_t gi = i0 + qi, gj = j0 + qj;
            wsh[idx] = gi < H && gj < W ? wt[(int64_t)k * HW + gi * W + gj] : 0.0f;
        }
        for (int64_t c = 0; c < a.C; c++) {
            const float* vc = vin + c * HW;
            for (int idx = p; idx < VH * VW; idx += NP) {
                const int r = idx / VW, q = idx - r * VW;
                const int64_t gi = i0 - S + r, gj = j0 - S + q;
                vsh[idx] = gi >= 0 && gi < H && gj >= 0 && gj < W ? vc[gi * W + gj] : 0.0f;
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

// Pixels per iteration block: the largest of 256, 128, ..., 8 whose weights and v tile fit the
// device's shared memory per block.
int ntd_tile_pixels(int S, int smem_optin, int* TH, int* TW, size_t* bytes) {
    const int K = (2 * S + 1) * (2 * S + 1);
    for (int np = kThreads; np >= 8; np /= 2) {
        const int tw = np < 32 ? np : 32, th = np / tw;
        const size_t b = ((size_t)K * np + (size_t)(th + 2 * S) * (tw + 2 * S)) * sizeof(float);
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

    // Workspace (one sample at a time): weights K x HW, channel-mean guide HW, v buffers.
    const size_t nf = T >= 2 ? 2 : 1;
    size_t sw, sf, tot;
    if (!mul_ok((size_t)K, (size_t)HW, &sw) || !mul_ok(nf, (size_t)CHW, &sf) || sw > SIZE_MAX - sf - (size_t)HW)
        return fail(SA_ERR_OUT_OF_MEMORY, "%s: workspace too large", fn);
    tot = sw + sf + (p->guide_channels > 0 ? 0 : (size_t)HW);
    Workspace ws;
    int rc = ws.alloc(fn, c, tot);
    if (rc) return rc;
    float* wt = ws.p;
    float* fbuf[2] = {ws.p + sw, nf == 2 ? ws.p + sw + CHW : nullptr};
    float* gmean = ws.p + sw + sf;

    int TH = 0, TW = 0;
    size_t iter_smem = 0;
    if ((rc = ntd_tile_pixels(a.S, c.smem_optin, &TH, &TW, &iter_smem))) return rc;
    const int64_t iter_tiles = ((a.H + TH - 1) / TH) * ((a.W + TW - 1) / TW);
    const int64_t grid_px = grid_for(c, HW, 8);
    const int64_t wt_tiles = ((a.H + kWTile - 1) / kWTile) * ((a.W + kWTile - 1) / kWTile);
    const int64_t grid_wt = std::max<int64_t>(1, std::min<int64_t>(wt_tiles, (int64_t)c.sms * 8));
    for (int64_t s = 0; s < shape.n; s++) {
        const float* os = o + s * CHW;
        float* ys = y + s * CHW;
        const float* g = p->guide_channels > 0 ? guide + s * a.Cg * HW : gmean;
        if (p->guide_channels == 0 &&
            (rc = launch(fn, "ntd_mean_kernel", ntd_mean_kernel, dim3((unsigned)grid_px), dim3(kThreads), 0, c, os,
                         gmean, a.C, HW, (float)(1.0 / (double)a.C))))
            return rc;
        if ((rc = launch(fn, "ntd_weights_kernel", ntd_weights_kernel, dim3((unsigned)grid_wt), dim3(kThreads), 0, c, g,
                         wt, a)))
            return rc;
        const int64_t grid_v = grid_for(c, CHW, 8);
        rc = with_bool(soft, [&](auto sc) {
            return launch(fn, "ntd_v0_kernel", ntd_v0_kernel<decltype(sc)::value>, dim3((unsigned)grid_v),
                          dim3(kThreads), 0, c, os, fbuf[0], CHW, a.alpha, a.eps);
        });
        if (rc) return rc;
        const float* vin = fbuf[0];
        for (int t = 1; t <= T; t++) {
            float* out = t == T ? ys : fbuf[t % 2];
            rc = with_bool(soft, [&](auto sc) {
                auto kernel = ntd_iter_kernel<decltype(sc)::value>;
                int per_sm = 0;
                if (int e = blocks_per_sm(fn, c, kernel, TH * TW, iter_smem, &per_sm)) return e;
                if (per_sm < 1) return fail(SA_ERR_INTERNAL, "%s: a %zu-byte NTD tile does not fit on this GPU", fn, iter_smem);
                const int64_t grid = std::max<int64_t>(1, std::min<int64_t>(iter_tiles, (int64_t)c.sms * per_sm));
                return launch(fn, "ntd_iter_kernel", kernel, dim3((unsigned)grid), dim3(TH * TW), iter_smem, c, os, vin,
                              wt, out, t == T, TH, TW, a);
            });
            if (rc) return rc;
            vin = out;
        }
    }
    return SA_OK;
}

}  // namespace

extern "C" {

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
