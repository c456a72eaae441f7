// The CPU kernel table. kernels_isa.cpp is compiled once per instruction set (baseline SSE2,
// AVX2+FMA, AVX-512) into sa::kernels_<isa>; cpu_ops.cpp picks one at run time, so one
// binary runs on any x86-64 and uses the widest vectors the CPU has.
#ifndef SA_CPU_KERNELS_H
#define SA_CPU_KERNELS_H

#include <stdint.h>

namespace sa {

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

struct KernelTable {
    const char* name;
    void (*leaky)(const float* x, float* y, int64_t n, float alpha);
    void (*leaky_backward)(const float* x, const float* dy, float* dx, int64_t n, float alpha);
    void (*star)(const float* a, const float* b, float* y, int64_t n, int act, float alpha);
    void (*frelu)(const FreluTask& t);
};

extern const KernelTable kernels_baseline;
extern const KernelTable kernels_avx2;
extern const KernelTable kernels_avx512;

}  // namespace sa

#endif
