/*
 * Host-side helpers shared by the CPU and CUDA entry points: the per-thread error message
 * and the argument checks. Every entry point validates through these before touching data,
 * so both backends reject exactly the same inputs with the same messages.
 */
#ifndef SA_INTERNAL_H
#define SA_INTERNAL_H

#include "spatialact/spatialact.h"

#include <stddef.h>
#include <stdint.h>

namespace sa {

/* Records a printf-style message for sa_last_error() and returns code. */
int fail(int code, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void clear_error();

/* Elements of a shape; fails unless every dim is >= 1 and the byte size fits in int64. */
int check_shape(const char* fn, sa_shape s, int64_t* numel);
int check_ptr(const char* fn, const void* p, const char* name);
/* Fails if [a, a+bytes) and [b, b+bytes) overlap, except a == b when allow_same. */
int check_overlap(const char* fn, const void* a, const char* aname, const void* b, const char* bname,
                  int64_t bytes, bool allow_same);
int check_params(const char* fn, const sa_params* p);

/* A float as message text, as Java prints it where it can ("NaN", "Infinity", "1.0", "0.25"):
 * fail(..., "alpha = %s", Num(p->alpha).s). */
struct Num {
    char s[32];
    explicit Num(double v);
};

/* The parameter contract of each operator: its scalar fields (sa_check_params runs these). */
int check_leaky_params(const char* fn, const sa_params* p);
int check_frelu_params(const char* fn, const sa_params* p);
int check_star_params(const char* fn, const sa_params* p);
int check_td_params(const char* fn, const sa_params* p);
int check_ntd_params(const char* fn, const sa_params* p);

/* Per-operator validation: shape, pointers, aliasing, parameters. numel is set on success. */
int check_leaky(const char* fn, const float* x, const float* y, sa_shape s, const sa_params* p, int64_t* numel);
int check_frelu(const char* fn, const float* x, const float* y, sa_shape s, const sa_params* p, int64_t* numel);
int check_star(const char* fn, const float* a, const float* b, const float* y, sa_shape s, const sa_params* p,
               int64_t* numel);
int check_td(const char* fn, const float* o, const float* y, sa_shape s, const sa_params* p, int64_t* numel);
int check_ntd(const char* fn, const float* o, const float* guide, const float* y, sa_shape s, const sa_params* p,
              int64_t* numel);

/* Cooperative cancel of CPU calls (cpu/dispatch.cpp): begin sets the calling thread's flag for
 * the call (NULL: none), end clears it and says whether the call was cut short by it. */
void cpu_cancel_begin(const volatile int32_t* flag);
bool cpu_cancel_end();

/* Gaussian radius actually used: p->radius, or ceil(3 sigma) when radius == 0. */
int td_radius(const sa_params* p);

}  // namespace sa

/* Test and benchmark hook, not part of the API: which kernels the CPU TD-LReLU hard form runs.
 * mode 1: the direct kernels (all T iterations over every pixel, td_wave_body/td_tile_body);
 * mode 2: the block delta scheme (td_sparse_body: only blocks near a flipped gate, stop at a
 * fixed point), bit-identical to mode 1 by construction (docs/DESIGN.md, "TD-LReLU on the CPU");
 * mode 3: the incremental scheme (td_incr_body: one dense iteration, then f updated only in the
 * windows of flipped gates, stop at a fixed point), which rounds f differently and agrees with
 * the others as the hard form does (unavailable for lambda > 1e30, or tiles too large for its
 * 32-bit indices: then mode 3 runs mode 2);
 * mode 0 (the default): mode 3 for T >= 2; otherwise (T = 1, or mode 3 unavailable) mode 2 for
 * planes of at most 32 x 32 or T >= 8, else mode 1;
 * mode < 0 only queries. Returns the previous mode. test_td checks 2 against 1 bit for bit and
 * 3 against the float64 reference; bench_td / bench_ops / scripts/bench_ab.cpp time them in one
 * process. Process-wide. */
extern "C" SA_API int sa_internal_cpu_td_direct(int mode);

/* Test hook, not part of the API: on (1), the CUDA FReLU kernel takes its 64-bit-index
 * instantiation (the one for planes of 2^31 elements or more) on every plane, so that the
 * emulated GPU tests it on small ones; 0 = by plane size (the default); < 0 only queries.
 * Returns the previous setting. Process-wide. (CUDA builds and the emulated GPU; the stub
 * without CUDA ignores it.) */
extern "C" SA_API int sa_internal_cuda_frelu_wide(int mode);

/* Test hook, not part of the API: how the CUDA NTD-LReLU gets its weights: 1 stored (built once
 * per sample, read by every iteration), 2 recomputed on chip by every iteration, 0 the planner's
 * choice (the default; ntd_lrelu.cu says which and why); < 0 only queries. Returns the previous
 * setting. Process-wide; the stub without CUDA ignores it. */
extern "C" SA_API int sa_internal_cuda_ntd_weights(int mode);

/* Test hook, not part of the API: the CUDA TD-LReLU wavefront kernels (td_lrelu.cu): 0 where the
 * planner picks them (the default), 1 never (the tile and global-memory paths), 2 the float
 * wavefront (td_wave_kernel) wherever its rings fit, never the bit one, 3 the bit wavefront
 * (td_bit_kernel: hard form, radius 1 to 4) wherever it fits, else as 2; < 0 only queries.
 * Returns the previous setting. Process-wide. */
extern "C" SA_API int sa_internal_cuda_td_wave(int mode);

/* Test hook, not part of the API: forces the CPU NTD-LReLU plan to output tiles of tile x tile
 * pixels and channel groups of group channels (0 = the plan's own choice, the default), so that
 * tests can compare tiled and whole-image runs bit for bit on small images. Process-wide. */
extern "C" SA_API void sa_internal_cpu_ntd_tiles(int64_t tile, int64_t group);

/* Test hook, not part of the API: 1 makes the CPU NTD-LReLU's hard form run all T iterations
 * densely (ntd_iter); 0 (the default) lets it take the incremental scheme for T >= 2 (one dense
 * iteration, then only the windows of flipped gates; ntd_lrelu_isa.cpp), which rounds f
 * differently and agrees with the dense iterations as the hard form does (unavailable for
 * lambda > 1e30); < 0 only queries. Returns the previous mode. test_td checks the two against
 * the float64 reference and each other; bench_ops times both. Process-wide. */
extern "C" SA_API int sa_internal_cpu_ntd_dense(int mode);

/* An entry point of spatialact.h that a backend does not implement yet, in one line: the
 * name, then the parameter types; it fails with SA_ERR_NOT_IMPLEMENTED and a message that
 * names it (every such entry is a gradient so far). Used inside the extern "C" block. */
#define SA_NOT_IMPLEMENTED_ENTRY(name, ...) \
    int name(__VA_ARGS__) { return sa::fail(SA_ERR_NOT_IMPLEMENTED, "%s: gradients are not implemented yet", #name); }

#endif
