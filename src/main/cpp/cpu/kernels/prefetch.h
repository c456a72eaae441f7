// Write prefetch of the output ahead of the stores, for the kernels whose speed is the memory's
// (element-wise, FReLU). A store to a line that is in no near cache waits for the line to be
// read first (read for ownership); the hardware prefetchers follow the loads of a stream but
// issued those reads too late on the machines measured (docs/PERFORMANCE.md, 2026-12-02 eighth
// session: a LeakyReLU larger than the last-level cache ran 1.4x faster with the prefetch; on
// data in cache it made no difference). A prefetch never faults, so reaching past the end of
// a buffer is harmless; x86 builds emit PREFETCHT0 (PREFETCHW needs -mprfchw, and measured the
// same), arm64 PRFM PSTL1KEEP.
#ifndef SA_CPU_KERNELS_PREFETCH_H
#define SA_CPU_KERNELS_PREFETCH_H

#include <stdint.h>

#include "isa.h"

namespace sa {
namespace SA_ISA_NS {

constexpr int64_t kLineFloats = 16;    // floats per 64-byte cache line
constexpr int64_t kStoreAhead = 256;   // element-wise: floats ahead of the store (16 lines)

inline __attribute__((always_inline)) void prefetch_store(const float* p) { __builtin_prefetch(p, 1, 3); }

// y[i] = f(i) for i in [0, n), one cache line of y per step with the line kStoreAhead floats
// ahead prefetched for writing; f is vectorised over the line (omp simd: f reads and y is
// written element by element, in place allowed).
template <class F>
inline __attribute__((always_inline)) void store_lines(float* y, int64_t n, F f) {
    int64_t i = 0;
    for (; i + kLineFloats <= n; i += kLineFloats) {
        prefetch_store(y + i + kStoreAhead);
#pragma omp simd
        for (int64_t k = i; k < i + kLineFloats; k++) y[k] = f(k);
    }
    for (; i < n; i++) y[i] = f(i);
}

}  // namespace SA_ISA_NS
}  // namespace sa

#endif
