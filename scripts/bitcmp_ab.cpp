// Bit-for-bit comparison of TD-LReLU and NTD-LReLU between two builds of libspatialact.so in
// one process (each loaded with dlmopen): several shapes (one large enough for NTD tiles and
// TD row tiles), every ISA both support, hard and soft forms, knn, other S / P, alpha 0, T up
// to 10 (the TD delta scheme's default range). Exit status 1 when anything differs.
//   g++ -O2 -std=c++17 -Isrc/main/cpp/include scripts/bitcmp_ab.cpp -ldl -o /tmp/bitcmp_ab
//   /tmp/bitcmp_ab OLD/libspatialact.so NEW/libspatialact.so
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <vector>

#include "spatialact/spatialact.h"

struct Lib {
    void* h = nullptr;
    void (*init)(sa_params*) = nullptr;
    int (*ntd)(const float*, const float*, float*, sa_shape, const sa_params*) = nullptr;
    int (*td)(const float*, float*, sa_shape, const sa_params*) = nullptr;
    int (*set_isa)(int) = nullptr;
    int (*supported)(int) = nullptr;
    bool load(const char* path) {
        h = dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL);
        if (!h) return false;
        init = (decltype(init))dlsym(h, "sa_params_init");
        ntd = (decltype(ntd))dlsym(h, "sa_cpu_ntd_lrelu_forward");
        td = (decltype(td))dlsym(h, "sa_cpu_td_lrelu_forward");
        set_isa = (decltype(set_isa))dlsym(h, "sa_cpu_set_isa");
        supported = (decltype(supported))dlsym(h, "sa_cpu_isa_supported");
        return init && ntd && td && set_isa && supported;
    }
};

int main(int argc, char** argv) {
    Lib a, b;
    if (argc < 3 || !a.load(argv[1]) || !b.load(argv[2])) {
        fprintf(stderr, "usage: bitcmp_ab OLD.so NEW.so (%s)\n", dlerror());
        return 2;
    }
    const sa_shape shapes[] = {{1, 64, 256, 256}, {2, 3, 70, 90}, {1, 1, 700, 650}, {1, 9, 40, 37}, {1, 8, 32, 32}};
    long runs = 0, bad = 0;
    for (sa_shape s : shapes) {
        const size_t n = (size_t)(s.n * s.c * s.h * s.w);
        std::vector<float> o(n), ya(n), yb(n);
        uint64_t st = 7;
        for (size_t i = 0; i < n; i++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            o[i] = (float)((double)(st >> 40) / (double)(1 << 24) - 0.5) +
                   0.3f * sinf(0.05f * (float)(i % s.w)) * cosf(0.07f * (float)((i / s.w) % s.h));
        }
        for (int isa = SA_ISA_BASELINE; isa <= SA_ISA_AVX512; isa++) {
            if (!a.supported(isa) || !b.supported(isa)) continue;
            a.set_isa(isa);
            b.set_isa(isa);
            for (int ntd = 0; ntd < 2; ntd++) {
                for (int v = 0; v < 5; v++) {
                    sa_params p;
                    a.init(&p);
                    p.lambda = 0.4f;
                    if (v == 1) p.eps = 0.1f;
                    if (v == 2) p.knn = 16;  // NTD only; TD: T = 10
                    if (v == 2 && !ntd) p.iterations = 10;
                    if (v == 3) { p.search = 2; p.patch = 2; p.iterations = 3; p.radius = 2; p.sigma = 0.7f; }
                    if (v == 4) { p.alpha = 0.0f; p.search = 5; p.patch = 0; p.radius = 0; p.sigma = 2.0f; p.iterations = 9; }
                    if (ntd && (s.h > 300 || s.c > 20) && v >= 3) continue;  // slow
                    const int ra = ntd ? a.ntd(o.data(), nullptr, ya.data(), s, &p) : a.td(o.data(), ya.data(), s, &p);
                    const int rb = ntd ? b.ntd(o.data(), nullptr, yb.data(), s, &p) : b.td(o.data(), yb.data(), s, &p);
                    long d = 0;
                    for (size_t i = 0; i < n; i++) d += memcmp(&ya[i], &yb[i], 4) != 0;
                    runs++;
                    if (d || ra || rb) {
                        bad++;
                        printf("%s %lldx%lldx%lldx%lld isa %d case %d: rc %d / %d, %ld elements differ\n", ntd ? "NTD" : "TD",
                               (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.w, isa, v, ra, rb, d);
                    }
                }
            }
        }
    }
    printf("TD and NTD, old vs new: %ld runs, %ld differing\n", runs, bad);
    return bad ? 1 : 0;
}
