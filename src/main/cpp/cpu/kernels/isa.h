// Included first by every kernels/*_isa.cpp: the namespace of the instruction set this
// compilation is for, and the functions each operator's kernel file defines in it, which
// table_isa.cpp assembles into that ISA's KernelTable (../dispatch.h).
//
// sa_add_isa_kernels (cmake/SpatialActOptions.cmake) compiles these files once per ISA with
// SA_ISA_NAME = baseline, avx2 or avx512, SA_ISA_BUILD_<name> defined, the ISA's -m flags and
// -O3 -fno-math-errno -fno-trapping-math -fopenmp-simd. -fno-trapping-math (the JVM runs with
// FP traps off) lets GCC if-convert the selects of the kernels into blends; NaN and Inf keep
// their IEEE behaviour (that would take -ffinite-math-only), only FP exception flags, which
// nothing reads, may differ. No -ffast-math: NaN must propagate. Everything a kernel file
// defines lives in sa::isa_<name> (helpers in an unnamed namespace inside it), so no inline
// function compiled for one ISA can be linked in place of another's.
#ifndef SA_CPU_KERNELS_ISA_H
#define SA_CPU_KERNELS_ISA_H

#ifndef SA_ISA_NAME
#error "SA_ISA_NAME must be defined (baseline, avx2, avx512)"
#endif

#include <stdint.h>

#include "../dispatch.h"

#define SA_CAT2(a, b) a##b
#define SA_CAT(a, b) SA_CAT2(a, b)
#define SA_STR2(a) #a
#define SA_STR(a) SA_STR2(a)
#define SA_ISA_NS SA_CAT(isa_, SA_ISA_NAME)  // this build's namespace in sa

namespace sa {
namespace SA_ISA_NS {

// elementwise_isa.cpp
void leaky(const float* x, float* y, int64_t n, float alpha);
void leaky_backward(const float* x, const float* dy, float* dx, int64_t n, float alpha);
void star(const float* a, const float* b, float* y, int64_t n, int act, float alpha);
// frelu_isa.cpp
void frelu(const FreluTask& t);
// td_lrelu_isa.cpp
TdTileFn td_tile(bool soft, bool wave, int r);
TdTileFn td_sparse(int r);
TdTileFn td_incr(int r);
// ntd_lrelu_isa.cpp
NtdIterFn ntd_iter(bool soft, int S);
NtdIncrFn ntd_incr(int S);
// ntd_stages_isa.cpp (the same bits in every build: see there)
void ntd_guide(const NtdArgs& j, int64_t task);
void ntd_weights(const NtdArgs& j, int64_t i0, int64_t i1, float* E, float* Hs);
void ntd_normalise(const NtdArgs& j, int64_t i, float* scratch);
void ntd_sources(const NtdArgs& j, int64_t row);
void ntd_init(const NtdArgs& j, int64_t cl, int64_t pi);

}  // namespace SA_ISA_NS

// Built by the baseline compilation only (SA_ISA_BUILD_baseline) and used by every table;
// KernelTable says why.
namespace isa_baseline {

void td_soft_point(const float* o, float* y, int64_t n, const GateParams& gp);

}  // namespace isa_baseline
}  // namespace sa

#endif
