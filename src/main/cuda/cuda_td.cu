// CUDA TD-LReLU and NTD-LReLU forward (docs/TD-LReLU.md has the formulation and the design).
//
// TD-LReLU, on chip. One block owns one output tile of one plane plus a halo of Tc*r pixels
// (Tc = the iterations of this launch) and runs all Tc iterations in shared memory:
//   sO  o over the extended tile (read once from global memory),
//   sV  v = 1 - 2u over the extended tile with a ring of r zeros (zero padding at the image
//       border; at a halo border the ring only feeds pixels that are recomputed by the
//       neighbouring tile, exactly as on the CPU),
//   sT  the vertical Gaussian pass.
// Iteration t computes f over the tile grown by (Tc - t)*r (clipped to the image), which is
// what iteration t + 1 reads: a vertical pass (each thread one column, 8 rows, a register
// window: every sV element is loaded once per 8 outputs), a horizontal pass (each thread one
// row, 8 columns, likewise) that also forms f and the gate, written back into sV in place
// (the vertical pass that read sV has finished at the barrier). The last iteration stages y
// in sO, and the tile is written with coalesced stores: o is read once and y written once.
// When T*r makes the halo too large for shared memory, the iterations run in rounds of Tc:
// a round stores f (not y) of its output tile, and the next round starts from u = gate(f)
// with a fresh halo. When even one iteration does not fit well (a large radius), a global-
// memory path runs two kernels per iteration (vertical, then horizontal + gate), keeping v.
//
// NTD-LReLU, stored weights. Per sample: the guide (channel mean or the caller's), then one
// kernel builds the normalised, k-nearest-truncated weights of every pixel (offset-major
// planes: coalesced), then T kernels iterate every channel with them, keeping v = 1 - 2u
// between iterations in two ping-pong buffers. Recomputing
// the weights on chip instead of storing them is the alternative docs/TD-LReLU.md discusses;
// comparing the two needs a GPU.
//
// All tensor offsets are int64_t; grids are 1-D and every kernel loops grid-stride. Every
// runtime call and launch goes through SA_CUDA_TRY / SA_CUDA_LAUNCHED; nothing aborts.
// Kernels run on the current device and the caller's stream, asynchronously; the workspace
// is stream-ordered (cudaMallocAsync / cudaFreeAsync).
#include <stdint.h>

#include <algorithm>
#include <type_traits>

#include "../cpp/common/sa_math.h"
#include "cuda_check.cuh"
#include "spatialact/spatialact.h"

using sa::fail;

namespace {

constexpr int kBlockX = 32, kBlockY = 8;  // 256 threads
constexpr int kThreads = kBlockX * kBlockY;
constexpr int kRB = 8;                    // outputs per thread in the register-blocked passes
constexpr int kMaxTaps = 2 * SA_TD_MAX_RADIUS + 1;

// ---- host plumbing ------------------------------------------------------------------------

struct Ctx {
    cudaStream_t stream;
    int device, sms, smem_optin;
};

int get_ctx(const char* fn, void* stream, Ctx* c) {
    cudaError_t e = cudaGetDevice(&c->device);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return sa::cuda_fail(e, fn, "cudaGetDevice", __FILE__, __LINE__);
    }
    SA_CUDA_TRY(fn, cudaDeviceGetAttribute(&c->sms, cudaDevAttrMultiProcessorCount, c->device));
    SA_CUDA_TRY(fn, cudaDeviceGetAttribute(&c->smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, c->device));
    if (c->sms < 1) c->sms = 1;
    cudaGetLastError();  // report only this call's launches in SA_CUDA_LAUNCHED
    c->stream = (cudaStream_t)stream;
    return SA_OK;
}

int check_align4(const char* fn, const void* p, const char* name) {
    if (p && ((uintptr_t)p & 3u) != 0)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: %s = %p is not 4-byte aligned", fn, name, p);
    return SA_OK;
}

// Stream-ordered scratch, freed (stream-ordered) when the call returns, on every path.
struct Workspace {
    cudaStream_t stream = nullptr;
    float* p = nullptr;
    bool async = true;
    ~Workspace() {
        if (!p) return;
        if (async) {
            cudaFreeAsync(p, stream);
        } else {
            cudaStreamSynchronize(stream);
            cudaFree(p);
        }
        cudaGetLastError();
    }
    int alloc(const char* fn, cudaStream_t s, size_t floats) {
        stream = s;
        if (floats == 0) return SA_OK;
        if (floats > (SIZE_MAX / 4)) return fail(SA_ERR_OUT_OF_MEMORY, "%s: workspace too large", fn);
        cudaError_t e = cudaMallocAsync((void**)&p, floats * 4, s);
        if (e == cudaErrorNotSupported) {  // no stream-ordered allocator on this device/driver
            cudaGetLastError();
            async = false;
            e = cudaMalloc((void**)&p, floats * 4);
        }
        if (e != cudaSuccess) {
            p = nullptr;
            cudaGetLastError();
            return sa::cuda_fail(e, fn, "cudaMallocAsync(workspace)", __FILE__, __LINE__);
        }
        return SA_OK;
    }
};

bool mul_ok(size_t a, size_t b, size_t* out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

// ---- device helpers -----------------------------------------------------------------------

template <bool SOFT>
__device__ __forceinline__ float gate(float f, float alpha, float eps) {
    return SOFT ? sa_td_gate_soft(f, alpha, eps) : sa_td_gate_hard(f, alpha);
}

// ---- pointwise: T == 0 or lambda == 0 ----------------------------------------------------

template <bool SOFT>
__global__ void td_point_kernel(const float* __restrict__ o, float* __restrict__ y, int64_t n, float alpha,
                                float eps) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        const float x = o[i];
        y[i] = sa_td_out(x, gate<SOFT>(x, alpha, eps));  // hard: sa_leaky(x, alpha) bit for bit
    }
}

// ---- TD on chip ---------------------------------------------------------------------------

struct TdArgs {
    const float* o;
    const float* fin;  // f from the previous round; nullptr in the first round (u^0 = gate(o))
    float* fout;       // f of the last iteration (not the final round)
    float* y;          // y (final round)
    int64_t H, W, planes;
    int64_t tiles_x, tiles;  // per plane
    int TH, TW;
    int iters;               // iterations of this launch, >= 1
    int r;
    int pv, po;              // shared pitches (odd: conflict-free column access)
    int eh_max;              // rows of the extended tile buffers
    float alpha, lambda, eps;
    float g[kMaxTaps];
};

// Shared floats of a tile: sV (eh + 2r) x pv, sT eh x pv, sO eh x po, taps.
size_t td_smem_floats(int eh, int ew, int r, int* pv, int* po) {
    *pv = (ew + 2 * r) | 1;
    *po = ew | 1;
    return (size_t)(eh + 2 * r) * *pv + (size_t)eh * *pv + (size_t)eh * *po + kMaxTaps;
}

// R > 0: radius known at compile time (register windows); R == 0: runtime radius a.r.
template <int R, bool SOFT>
__global__ void __launch_bounds__(kThreads) td_tile_kernel(const TdArgs a) {
    extern __shared__ float smem[];
    const int r = R > 0 ? R : a.r;
    const int pv = a.pv, po = a.po;
    float* sV = smem;
    float* sT = sV + (size_t)(a.eh_max + 2 * r) * pv;
    float* sO = sT + (size_t)a.eh_max * pv;
    float* sG = sO + (size_t)a.eh_max * po;
    const int tid = threadIdx.y * kBlockX + threadIdx.x;
    if (tid < 2 * r + 1) sG[tid] = a.g[tid];
    const int64_t H = a.H, W = a.W;
    const int halo = a.iters * r;
    const float alpha = a.alpha, lambda = a.lambda, eps = a.eps;
    const int64_t total = a.planes * a.tiles;

    for (int64_t b = blockIdx.x; b < total; b += gridDim.x) {
        const int64_t plane = b / a.tiles, rest = b % a.tiles;
        const int64_t ty = rest / a.tiles_x, tx = rest % a.tiles_x;
        const int64_t R0 = ty * a.TH, R1 = min(H, R0 + a.TH);
        const int64_t C0 = tx * a.TW, C1 = min(W, C0 + a.TW);
        const int64_t er0 = max((int64_t)0, R0 - halo), er1 = min(H, R1 + halo);
        const int64_t ec0 = max((int64_t)0, C0 - halo), ec1 = min(W, C1 + halo);
        const int eh = (int)(er1 - er0), ew = (int)(ec1 - ec0);
        const int64_t base = plane * H * W;

        // Load o and v^0 over the extended tile; zeros in the ring.
        for (int pi = threadIdx.y; pi < eh + 2 * r; pi += kBlockY) {
            const int i = pi - r;
            const bool row_in = i >= 0 && i < eh;
            const int64_t grow = base + (er0 + i) * W + ec0;
            for (int pj = threadIdx.x; pj < ew + 2 * r; pj += kBlockX) {
                const int j = pj - r;
                float v = 0.0f;
                if (row_in && j >= 0 && j < ew) {
                    const float ov = a.o[grow + j];
                    sO[i * po + j] = ov;
                    const float fv = a.fin ? a.fin[grow + j] : ov;
                    v = 1.0f - 2.0f * gate<SOFT>(fv, alpha, eps);
                }
                sV[pi * pv + pj] = v;
            }
        }
        __syncthreads();

        for (int t = 1; t <= a.iters; t++) {
            const int64_t grow_t = (int64_t)(a.iters - t) * r;
            const int lr0 = (int)(max(er0, R0 - grow_t) - er0), lr1 = (int)(min(er1, R1 + grow_t) - er0);
            const int lc0 = (int)(max(ec0, C0 - grow_t) - ec0), lc1 = (int)(min(ec1, C1 + grow_t) - ec0);
            // Vertical pass: sT[i][pc] = sum_k g[k] sV[i + k][pc] for rows [lr0, lr1) and
            // padded columns pc in [lc0, lc1 + 2r) (local columns lc0 - r .. lc1 + r - 1).
            {
                const int ncols = lc1 - lc0 + 2 * r;
                const int nchunks = (lr1 - lr0 + kRB - 1) / kRB;
                for (int w = tid; w < ncols * nchunks; w += kThreads) {
                    const int pc = lc0 + w % ncols;
                    const int i0 = lr0 + (w / ncols) * kRB;
                    if constexpr (R > 0) {
                        float acc[kRB];
#pragma unroll
                        for (int q = 0; q < kRB; q++) acc[q] = 0.0f;
#pragma unroll
                        for (int q = 0; q < kRB + 2 * R; q++) {
                            const int pr = i0 + q;  // padded row
                            const float x = pr < eh + 2 * R ? sV[pr * pv + pc] : 0.0f;
#pragma unroll
                            for (int ii = 0; ii < kRB; ii++) {
                                const int k = q - ii;
                                if (k >= 0 && k <= 2 * R) acc[ii] = fmaf(a.g[k], x, acc[ii]);
                            }
                        }
#pragma unroll
                        for (int ii = 0; ii < kRB; ii++)
                            if (i0 + ii < lr1) sT[(i0 + ii) * pv + pc] = acc[ii];
                    } else {
                        for (int ii = 0; ii < kRB && i0 + ii < lr1; ii++) {
                            float s = 0.0f;
                            for (int k = 0; k <= 2 * r; k++) s = fmaf(sG[k], sV[(i0 + ii + k) * pv + pc], s);
                            sT[(i0 + ii) * pv + pc] = s;
                        }
                    }
                }
            }
            __syncthreads();
            // Horizontal pass, f and the gate, rows [lr0, lr1), columns [lc0, lc1).
            {
                const int nrows = lr1 - lr0;
                const int nchunks = (lc1 - lc0 + kRB - 1) / kRB;
                const bool last = t == a.iters;
                for (int w = tid; w < nrows * nchunks; w += kThreads) {
                    const int i = lr0 + w % nrows;  // consecutive threads: consecutive rows
                    const int j0 = lc0 + (w / nrows) * kRB;
                    float acc[kRB];
                    if constexpr (R > 0) {
#pragma unroll
                        for (int q = 0; q < kRB; q++) acc[q] = 0.0f;
#pragma unroll
                        for (int q = 0; q < kRB + 2 * R; q++) {
                            const int pc = j0 + q;  // sT column: local column pc - r
                            const float x = pc < ew + 2 * R ? sT[i * pv + pc] : 0.0f;
#pragma unroll
                            for (int jj = 0; jj < kRB; jj++) {
                                const int k = q - jj;
                                if (k >= 0 && k <= 2 * R) acc[jj] = fmaf(a.g[k], x, acc[jj]);
                            }
                        }
                    } else {
                        for (int jj = 0; jj < kRB; jj++) {
                            float s = 0.0f;
                            if (j0 + jj < lc1)
                                for (int k = 0; k <= 2 * r; k++) s = fmaf(sG[k], sT[i * pv + j0 + jj + k], s);
                            acc[jj] = s;
                        }
                    }
#pragma unroll
                    for (int jj = 0; jj < kRB; jj++) {
                        const int j = j0 + jj;
                        if (j < lc1) {
                            const float ov = sO[i * po + j];
                            const float f = ov - lambda * acc[jj];
                            if (!last)
                                sV[(i + r) * pv + j + r] = 1.0f - 2.0f * gate<SOFT>(f, alpha, eps);
                            else  // staged in place: only this thread reads sO[i][j]
                                sO[i * po + j] = a.y ? sa_td_out(ov, gate<SOFT>(f, alpha, eps)) : f;
                        }
                    }
                }
            }
            __syncthreads();
        }

        // Write the output tile (y, or f for the next round), coalesced.
        float* dst = a.y ? a.y : a.fout;
        const int oh = (int)(R1 - R0), ow = (int)(C1 - C0);
        const int oi = (int)(R0 - er0), oj = (int)(C0 - ec0);
        for (int i = threadIdx.y; i < oh; i += kBlockY) {
            const int64_t grow = base + (R0 + i) * W + C0;
            for (int j = threadIdx.x; j < ow; j += kBlockX) dst[grow + j] = sO[(oi + i) * po + oj + j];
        }
        __syncthreads();  // the next tile overwrites the shared buffers
    }
}

// ---- TD in global memory (large radius / halo) ---------------------------------------------

// tmp = vertical Gaussian of v, zero padding. FROM_O: v = 1 - 2 gate(o) (first iteration),
// else vin holds v.
template <bool SOFT, bool FROM_O>
__global__ void td_global_vpass(const float* __restrict__ vin, float* __restrict__ tmp, int64_t H, int64_t W,
                                int64_t n, int r, TdArgs a) {
    for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t plane = idx / (H * W), rest = idx % (H * W);
        const int64_t i = rest / W, j = rest % W;
        const float* col = vin + plane * H * W + j;
        float s = 0.0f;
        for (int k = 0; k <= 2 * r; k++) {
            const int64_t q = i - r + k;
            if (q >= 0 && q < H) {
                const float x = col[q * W];
                s = fmaf(a.g[k], FROM_O ? 1.0f - 2.0f * gate<SOFT>(x, a.alpha, a.eps) : x, s);
            }
        }
        tmp[idx] = s;
    }
}

// f = o - lambda * horizontal(tmp); the new v into out, or y on the last iteration.
template <bool SOFT>
__global__ void td_global_hpass(const float* __restrict__ o, const float* __restrict__ tmp, float* __restrict__ out,
                                bool final_it, int64_t W, int64_t n, int r, TdArgs a) {
    for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t j = idx % W;
        const float* row = tmp + (idx - j);
        float s = 0.0f;
        for (int k = 0; k <= 2 * r; k++) {
            const int64_t q = j - r + k;
            if (q >= 0 && q < W) s = fmaf(a.g[k], row[q], s);
        }
        const float ov = o[idx];
        const float f = ov - a.lambda * s;
        const float u = gate<SOFT>(f, a.alpha, a.eps);
        out[idx] = final_it ? sa_td_out(ov, u) : 1.0f - 2.0f * u;
    }
}

// ---- tile planning ------------------------------------------------------------------------

struct TdPlan {
    int TH, TW;
    size_t smem;
    double ratio;  // computed pixels per output pixel in the first iteration
};

// Best tile for iterations `iters` within `limit` bytes of shared memory; false if none.
bool td_best_tile(int64_t H, int64_t W, int r, int iters, size_t limit, TdPlan* best) {
    static const int ths[] = {8, 16, 24, 32, 48, 64, 96, 128};
    static const int tws[] = {32, 64, 96, 128};
    const int64_t halo = (int64_t)iters * r;
    bool found = false;
    for (int th0 : ths) {
        for (int tw0 : tws) {
            const int64_t th = std::min<int64_t>(th0, H), tw = std::min<int64_t>(tw0, W);
            const int64_t eh = std::min<int64_t>(H, th + 2 * halo), ew = std::min<int64_t>(W, tw + 2 * halo);
            if (eh > 4096 || ew > 4096) continue;
            int pv, po;
            const size_t bytes = 4 * td_smem_floats((int)eh, (int)ew, r, &pv, &po);
            if (bytes > limit) continue;
            const int64_t tiles = ((H + th - 1) / th) * ((W + tw - 1) / tw);
            const double ratio = (double)tiles * (double)(eh * ew) / (double)(H * W);
            if (!found || ratio < best->ratio - 1e-9 || (ratio < best->ratio + 1e-9 && th * tw > (int64_t)best->TH * best->TW)) {
                best->TH = (int)th;
                best->TW = (int)tw;
                best->smem = bytes;
                best->ratio = ratio;
                found = true;
            }
        }
    }
    return found;
}

template <class F>
int with_radius(int r, F&& f) {
    switch (r) {
        case 1: return f(std::integral_constant<int, 1>{});
        case 2: return f(std::integral_constant<int, 2>{});
        case 3: return f(std::integral_constant<int, 3>{});
        case 4: return f(std::integral_constant<int, 4>{});
        case 5: return f(std::integral_constant<int, 5>{});
        case 6: return f(std::integral_constant<int, 6>{});
        case 7: return f(std::integral_constant<int, 7>{});
        case 8: return f(std::integral_constant<int, 8>{});
        default: return f(std::integral_constant<int, 0>{});
    }
}

int64_t grid_for(const Ctx& c, int64_t items, int per_sm) {
    int64_t blocks = (items + kThreads - 1) / kThreads;
    return std::max<int64_t>(1, std::min<int64_t>(blocks, (int64_t)c.sms * per_sm));
}

int td_launch_tiles(const char* fn, const Ctx& c, TdArgs a, const TdPlan& plan, bool soft) {
    a.TH = plan.TH;
    a.TW = plan.TW;
    a.tiles_x = (a.W + plan.TW - 1) / plan.TW;
    a.tiles = a.tiles_x * ((a.H + plan.TH - 1) / plan.TH);
    const int64_t halo = (int64_t)a.iters * a.r;
    a.eh_max = (int)std::min<int64_t>(a.H, plan.TH + 2 * halo);
    const int ew_max = (int)std::min<int64_t>(a.W, plan.TW + 2 * halo);
    td_smem_floats(a.eh_max, ew_max, a.r, &a.pv, &a.po);
    auto go = [&](auto rc, auto sc) -> int {
        constexpr int R = decltype(rc)::value;
        constexpr bool SOFT = decltype(sc)::value;
        auto kernel = td_tile_kernel<R, SOFT>;
        SA_CUDA_TRY(fn, cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)plan.smem));
        int per_sm = 0;
        SA_CUDA_TRY(fn, cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, plan.smem));
        if (per_sm < 1) return fail(SA_ERR_INTERNAL, "%s: a %zu-byte tile does not fit on this GPU", fn, plan.smem);
        const int64_t total = a.planes * a.tiles;
        const int64_t grid = std::max<int64_t>(1, std::min<int64_t>(total, (int64_t)c.sms * per_sm));
        kernel<<<dim3((unsigned)grid), dim3(kBlockX, kBlockY), plan.smem, c.stream>>>(a);
        SA_CUDA_LAUNCHED(fn, "td_tile_kernel");
        return SA_OK;
    };
    return with_radius(a.r, [&](auto rc) {
        return soft ? go(rc, std::true_type{}) : go(rc, std::false_type{});
    });
}

int td_run(const char* fn, const Ctx& c, const float* o, float* y, sa_shape s, int64_t n, const sa_params* p,
           int r, bool soft) {
    TdArgs a = {};
    a.o = o;
    a.H = s.h;
    a.W = s.w;
    a.planes = s.n * s.c;
    a.r = r;
    a.alpha = p->alpha;
    a.lambda = p->lambda;
    a.eps = p->eps;
    sa_td_gaussian(p->sigma, r, a.g);
    const int T = p->iterations;

    // Iterations per launch: as many as keep the first iteration's recomputation <= 3x with
    // a tile that leaves room for two blocks per SM; else one per launch if any tile does it
    // in <= 6x; else the global-memory path.
    const size_t pref = std::min<size_t>((size_t)c.smem_optin, 110 * 1024);
    TdPlan plan = {};
    int Tc = 0;
    for (int tc = std::min(T, 64); tc >= 1; tc--) {
        TdPlan q;
        if (td_best_tile(a.H, a.W, r, tc, pref, &q) && q.ratio <= 3.0) {
            plan = q;
            Tc = tc;
            break;
        }
    }
    if (Tc == 0) {
        TdPlan q;
        if (td_best_tile(a.H, a.W, r, 1, (size_t)c.smem_optin, &q) && q.ratio <= 6.0) {
            plan = q;
            Tc = 1;
        }
    }

    if (Tc > 1) {  // balance the rounds (10 = 5 + 5, not 9 + 1): a smaller halo, a better tile
        const int rounds = (T + Tc - 1) / Tc, tb = (T + rounds - 1) / rounds;
        TdPlan q;
        if (tb < Tc && td_best_tile(a.H, a.W, r, tb, pref, &q)) {
            plan = q;
            Tc = tb;
        }
    }

    if (Tc > 0) {
        const int rounds = (T + Tc - 1) / Tc;
        size_t nbuf = rounds == 1 ? 0 : (rounds == 2 ? 1 : 2), floats;
        if (!mul_ok(nbuf, (size_t)n, &floats)) return fail(SA_ERR_OUT_OF_MEMORY, "%s: workspace too large", fn);
        Workspace ws;
        int rc = ws.alloc(fn, c.stream, floats);
        if (rc) return rc;
        float* bufs[2] = {ws.p, nbuf == 2 ? ws.p + n : nullptr};
        const float* fin = nullptr;
        int done = 0;
        for (int k = 0; k < rounds; k++) {
            TdArgs ak = a;
            ak.iters = std::min(Tc, T - done);
            ak.fin = fin;
            const bool final_round = k == rounds - 1;
            ak.y = final_round ? y : nullptr;
            ak.fout = final_round ? nullptr : bufs[k % 2];
            // (a last round with fewer iterations has a smaller halo: the plan's tile still fits)
            if ((rc = td_launch_tiles(fn, c, ak, plan, soft))) return rc;
            fin = ak.fout;
            done += ak.iters;
        }
        return SA_OK;
    }

    // Global-memory path: tmp and v buffers.
    size_t floats;
    if (!mul_ok(2, (size_t)n, &floats)) return fail(SA_ERR_OUT_OF_MEMORY, "%s: workspace too large", fn);
    Workspace ws;
    int rc = ws.alloc(fn, c.stream, floats);
    if (rc) return rc;
    float* tmp = ws.p;
    float* v = ws.p + n;
    const int64_t grid = grid_for(c, n, 8);
    for (int t = 1; t <= T; t++) {
        float* out = t == T ? y : v;  // v in place: the vertical pass that read it has finished
        if (t == 1) {
            if (soft)
                td_global_vpass<true, true><<<(unsigned)grid, kThreads, 0, c.stream>>>(o, tmp, a.H, a.W, n, r, a);
            else
                td_global_vpass<false, true><<<(unsigned)grid, kThreads, 0, c.stream>>>(o, tmp, a.H, a.W, n, r, a);
        } else {
            td_global_vpass<false, false><<<(unsigned)grid, kThreads, 0, c.stream>>>(v, tmp, a.H, a.W, n, r, a);
        }
        SA_CUDA_LAUNCHED(fn, "td_global_vpass");
        if (soft)
            td_global_hpass<true><<<(unsigned)grid, kThreads, 0, c.stream>>>(o, tmp, out, t == T, a.W, n, r, a);
        else
            td_global_hpass<false><<<(unsigned)grid, kThreads, 0, c.stream>>>(o, tmp, out, t == T, a.W, n, r, a);
        SA_CUDA_LAUNCHED(fn, "td_global_hpass");
    }
    return SA_OK;
}

int td_pointwise(const char* fn, const Ctx& c, const float* o, float* y, int64_t n, const sa_params* p) {
    const int64_t grid = grid_for(c, n, 8);
    if (p->eps > 0.0f)
        td_point_kernel<true><<<(unsigned)grid, kThreads, 0, c.stream>>>(o, y, n, p->alpha, p->eps);
    else
        td_point_kernel<false><<<(unsigned)grid, kThreads, 0, c.stream>>>(o, y, n, p->alpha, p->eps);
    SA_CUDA_LAUNCHED(fn, "td_point_kernel");
    return SA_OK;
}

// ---- NTD ----------------------------------------------------------------------------------

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

}  // namespace

extern "C" {

int sa_cuda_td_lrelu_forward(const float* o, float* y, sa_shape shape, const sa_params* p, void* stream) {
    const char* fn = "sa_cuda_td_lrelu_forward";
    int64_t n;
    int rc = sa::check_td(fn, o, y, shape, p, &n);
    if (rc) return rc;
    if ((rc = check_align4(fn, o, "o")) || (rc = check_align4(fn, y, "y"))) return rc;
    Ctx c;
    if ((rc = get_ctx(fn, stream, &c))) return rc;
    if (p->iterations == 0 || p->lambda == 0.0f) return td_pointwise(fn, c, o, y, n, p);
    return td_run(fn, c, o, y, shape, n, p, sa::td_radius(p), p->eps > 0.0f);
}

int sa_cuda_td_lrelu_backward(const float*, const float*, float*, sa_shape, const sa_params*, void*) {
    return fail(SA_ERR_NOT_IMPLEMENTED, "sa_cuda_td_lrelu_backward: gradients are not implemented yet");
}

int sa_cuda_ntd_lrelu_forward(const float* o, const float* guide, float* y, sa_shape shape, const sa_params* p,
                              void* stream) {
    const char* fn = "sa_cuda_ntd_lrelu_forward";
    int64_t n;
    int rc = sa::check_ntd(fn, o, guide, y, shape, p, &n);
    if (rc) return rc;
    if ((rc = check_align4(fn, o, "o")) || (rc = check_align4(fn, y, "y")) || (rc = check_align4(fn, guide, "guide")))
        return rc;
    Ctx c;
    if ((rc = get_ctx(fn, stream, &c))) return rc;
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
    if ((rc = ws.alloc(fn, c.stream, tot))) return rc;
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
        if (p->guide_channels == 0) {
            ntd_mean_kernel<<<(unsigned)grid_px, kThreads, 0, c.stream>>>(os, gmean, a.C, HW,
                                                                          (float)(1.0 / (double)a.C));
            SA_CUDA_LAUNCHED(fn, "ntd_mean_kernel");
        }
        ntd_weights_kernel<<<(unsigned)grid_px, kThreads, 0, c.stream>>>(g, wt, a);
        SA_CUDA_LAUNCHED(fn, "ntd_weights_kernel");
        const int64_t grid_v = grid_for(c, CHW, 8);
        if (soft)
            ntd_v0_kernel<true><<<(unsigned)grid_v, kThreads, 0, c.stream>>>(os, fbuf[0], CHW, a.alpha, a.eps);
        else
            ntd_v0_kernel<false><<<(unsigned)grid_v, kThreads, 0, c.stream>>>(os, fbuf[0], CHW, a.alpha, a.eps);
        SA_CUDA_LAUNCHED(fn, "ntd_v0_kernel");
        const float* vin = fbuf[0];
        for (int t = 1; t <= T; t++) {
            float* out = t == T ? ys : fbuf[t % 2];
            if (soft)
                ntd_iter_kernel<true><<<(unsigned)grid_it, kThreads, 0, c.stream>>>(os, vin, wt, out, t == T, cgroup, a);
            else
                ntd_iter_kernel<false><<<(unsigned)grid_it, kThreads, 0, c.stream>>>(os, vin, wt, out, t == T, cgroup, a);
            SA_CUDA_LAUNCHED(fn, "ntd_iter_kernel");
            vin = out;
        }
    }
    return SA_OK;
}

int sa_cuda_ntd_lrelu_backward(const float*, const float*, const float*, float*, sa_shape, const sa_params*, void*) {
    return fail(SA_ERR_NOT_IMPLEMENTED, "sa_cuda_ntd_lrelu_backward: gradients are not implemented yet");
}

}  // extern "C"
