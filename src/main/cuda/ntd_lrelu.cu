// CUDA NTD-LReLU forward (docs/TD-LReLU.md has the formulation and the design).
//
// NTD-LReLU, stored weights. Per sample: the guide (channel mean or the caller's), then one
// kernel builds the normalised, k-nearest-truncated weights of every pixel (offset-major
// planes: coalesced), then T kernels iterate every channel with them, keeping v = 1 - 2u
// between iterations in two ping-pong buffers. Recomputing the weights on chip instead of
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
// wt[k * HW + x], k = (dy + S) * (2S + 1) + (dx + S).
__global__ void ntd_weights_kernel(const float* __restrict__ g, float* __restrict__ wt, NtdArgs a) {
    const int S = a.S, P = a.P, D = 2 * S + 1, K = D * D, self = K / 2;
    const int64_t H = a.H, W = a.W, HW = H * W;
    float w[(2 * SA_NTD_MAX_SEARCH + 1) * (2 * SA_NTD_MAX_SEARCH + 1)];
    for (int64_t x = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; x < HW; x += (int64_t)gridDim.x * blockDim.x) {
        const int64_t i = x / W, j = x % W;
        for (int k = 0; k < K; k++) {
            const int dy = k / D - S, dx = k % D - S;
            const int64_t yi = i + dy, yj = j + dx;
            float wk = 0.0f;
            if (k == self) {
                wk = 1.0f;
            } else if (yi >= 0 && yi < H && yj >= 0 && yj < W) {
                float d = 0.0f;
                for (int64_t c = 0; c < a.Cg; c++) {
                    const float* gc = g + c * HW;
                    for (int pa = -P; pa <= P; pa++) {
                        const int64_t r0 = min(max(i + pa, (int64_t)0), H - 1) * W;
                        const int64_t r1 = min(max(yi + pa, (int64_t)0), H - 1) * W;
                        for (int pb = -P; pb <= P; pb++) {
                            const float e = gc[r0 + min(max(j + pb, (int64_t)0), W - 1)] -
                                            gc[r1 + min(max(yj + pb, (int64_t)0), W - 1)];
                            d = fmaf(e, e, d);
                        }
                    }
                }
                const float dm = d * a.scale;
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
        for (int k = 0; k < K; k++) wt[(int64_t)k * HW + x] = w[k] / sum;
    }
}

// v^0 = 1 - 2 gate(o) for the channels of one sample.
template <bool SOFT>
__global__ void ntd_v0_kernel(const float* __restrict__ o, float* __restrict__ v, int64_t n, float alpha, float eps) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        v[i] = 1.0f - 2.0f * gate<SOFT>(o[i], alpha, eps);
}

// One iteration for every channel of one sample: f = o - lambda * W v; the new v into out,
// or y in the last iteration. Item = (pixel, group of channels).
template <bool SOFT>
__global__ void ntd_iter_kernel(const float* __restrict__ o, const float* __restrict__ vin,
                                const float* __restrict__ wt, float* __restrict__ out, bool final_it, int cgroup,
                                NtdArgs a) {
    const int S = a.S, D = 2 * S + 1;
    const int64_t H = a.H, W = a.W, HW = H * W;
    const int64_t groups = (a.C + cgroup - 1) / cgroup;
    const int64_t items = HW * groups;
    for (int64_t it = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; it < items; it += (int64_t)gridDim.x * blockDim.x) {
        const int64_t x = it % HW, cg = it / HW;
        const int64_t i = x / W, j = x % W;
        const int64_t c1 = min(a.C, (cg + 1) * cgroup);
        for (int64_t c = cg * cgroup; c < c1; c++) {
            const float* vc = vin + c * HW;
            float acc = 0.0f;
            for (int dy = -S; dy <= S; dy++) {
                const int64_t yi = i + dy;
                if (yi < 0 || yi >= H) continue;
                for (int dx = -S; dx <= S; dx++) {
                    const int64_t yj = j + dx;
                    if (yj < 0 || yj >= W) continue;
                    const float wk = wt[(int64_t)((dy + S) * D + (dx + S)) * HW + x];
                    acc = fmaf(wk, vc[yi * W + yj], acc);
                }
            }
            const float ov = o[c * HW + x];
            const float f = ov - a.lambda * acc;
            const float u = gate<SOFT>(f, a.alpha, a.eps);
            out[c * HW + x] = final_it ? sa_td_out(ov, u) : 1.0f - 2.0f * u;
        }
    }
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

    const int cgroup = 8;
    const int64_t items = HW * ((a.C + cgroup - 1) / cgroup);
    const int64_t grid_px = grid_for(c, HW, 8), grid_it = grid_for(c, items, 8);
    for (int64_t s = 0; s < shape.n; s++) {
        const float* os = o + s * CHW;
        float* ys = y + s * CHW;
        const float* g = p->guide_channels > 0 ? guide + s * a.Cg * HW : gmean;
        if (p->guide_channels == 0 &&
            (rc = launch(fn, "ntd_mean_kernel", ntd_mean_kernel, dim3((unsigned)grid_px), dim3(kThreads), 0, c, os,
                         gmean, a.C, HW, (float)(1.0 / (double)a.C))))
            return rc;
        if ((rc = launch(fn, "ntd_weights_kernel", ntd_weights_kernel, dim3((unsigned)grid_px), dim3(kThreads), 0, c, g,
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
                return launch(fn, "ntd_iter_kernel", ntd_iter_kernel<decltype(sc)::value>, dim3((unsigned)grid_it),
                              dim3(kThreads), 0, c, os, vin, wt, out, t == T, cgroup, a);
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
