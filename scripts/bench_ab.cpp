// A/B timing of two builds of libspatialact.so in one process (alternating calls, so machine
// noise hits both alike): LeakyReLU, TD-LReLU hard (default, and direct / delta through
// sa_internal_cpu_td_direct where a build has it; without it all three rows run its default),
// TD soft, NTD hard, on the four CPU shapes of the performance
// issue. Each op's throughput ratio to the same library's LeakyReLU on the same shape.
//   g++ -O2 -std=c++17 -Isrc/main/cpp/include scripts/bench_ab.cpp -ldl -o /tmp/bench_ab
//   /tmp/bench_ab OLD/libspatialact.so NEW/libspatialact.so [rounds] [data: gauss|uniform|smooth]
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "spatialact/spatialact.h"

struct Lib {
    void* h = nullptr;
    void (*init)(sa_params*) = nullptr;
    int (*threads)(int) = nullptr;
    int (*leaky)(const float*, float*, sa_shape, const sa_params*) = nullptr;
    int (*td)(const float*, float*, sa_shape, const sa_params*) = nullptr;
    int (*ntd)(const float*, const float*, float*, sa_shape, const sa_params*) = nullptr;
    int (*direct)(int) = nullptr;  // sa_internal_cpu_td_direct, when the build has it
    bool load(const char* path) {
        // A namespace of its own: plain dlopen would hand back the first library for the
        // second path (same soname).
        h = dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "%s\n", dlerror());
            return false;
        }
        init = (decltype(init))dlsym(h, "sa_params_init");
        threads = (decltype(threads))dlsym(h, "sa_cpu_set_threads");
        leaky = (decltype(leaky))dlsym(h, "sa_cpu_leaky_relu_forward");
        td = (decltype(td))dlsym(h, "sa_cpu_td_lrelu_forward");
        ntd = (decltype(ntd))dlsym(h, "sa_cpu_ntd_lrelu_forward");
        direct = (decltype(direct))dlsym(h, "sa_internal_cpu_td_direct");
        return init && threads && leaky && td && ntd;
    }
};

static double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_ab OLD.so NEW.so [rounds] [gauss|uniform|smooth]\n");
        return 2;
    }
    Lib L[2];
    if (!L[0].load(argv[1]) || !L[1].load(argv[2])) return 1;
    const int rounds = argc > 3 ? atoi(argv[3]) : 15;
    const std::string data = argc > 4 ? argv[4] : "gauss";
    const sa_shape shapes[] = {{1, 64, 256, 256}, {1, 8, 32, 32}, {8, 32, 128, 128}, {1, 256, 64, 64}};
    printf("data %s, %d rounds, alternating A = %s, B = %s\n", data.c_str(), rounds, argv[1], argv[2]);
    printf("%-16s %-26s %12s %12s %10s %10s\n", "shape", "op", "A median ms", "B median ms", "A vs leaky", "B vs leaky");
    for (sa_shape s : shapes) {
        const int64_t n = s.n * s.c * s.h * s.w;
        std::vector<float> o((size_t)n), y((size_t)n);
        uint64_t st = 12345;
        auto u01 = [&] {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            return ((double)(st >> 11) + 0.5) / 9007199254740992.0;
        };
        for (int64_t p = 0; p < s.n * s.c; p++) {
            const double fx = 0.05 + 0.3 * u01(), fy = 0.05 + 0.3 * u01(), px = 6.28 * u01(), py = 6.28 * u01();
            for (int64_t i = 0; i < s.h; i++)
                for (int64_t j = 0; j < s.w; j++) {
                    float& v = o[(size_t)((p * s.h + i) * s.w + j)];
                    const double g = sqrt(-2.0 * log(u01())) * cos(6.283185307179586 * u01());
                    if (data == "uniform") v = (float)(u01() - 0.5);
                    else if (data == "smooth") v = (float)(sin(fx * (double)j + px) * cos(fy * (double)i + py) + 0.3 * g);
                    else v = (float)g;
                }
        }
        struct Op {
            const char* name;
            int which;  // 0 leaky, 1 td hard, 2 td hard direct, 5 td hard delta (B's hook), 3 td soft, 4 ntd hard
        };
        const Op ops[] = {{"leaky_relu", 0}, {"td hard T=5 r=3", 1}, {"td hard T=5 r=3 direct", 2},
                          {"td hard T=5 r=3 delta", 5},
                          {"td soft T=5 r=3", 3}, {"ntd hard S=3 P=1 T=5", 4}};
        double leaky_ms[2] = {0, 0};
        for (const Op& op : ops) {
            std::vector<double> t[2];
            const int R = op.which == 4 ? std::max(3, rounds / 3) : rounds;
            for (int r = -1; r < R; r++) {
                for (int l = 0; l < 2; l++) {
                    Lib& b = L[l];
                    sa_params q;
                    b.init(&q);
                    q.lambda = 0.3f;
                    q.iterations = 5;
                    q.radius = 3;
                    q.sigma = 1.0f;
                    if (op.which == 3) q.eps = 0.1f;
                    if (b.direct) b.direct(op.which == 2 ? 1 : op.which == 5 ? 2 : 0);
                    const double t0 = now_ms();
                    int rc = op.which == 0 ? b.leaky(o.data(), y.data(), s, &q)
                             : op.which == 4 ? b.ntd(o.data(), nullptr, y.data(), s, &q)
                                             : b.td(o.data(), y.data(), s, &q);
                    const double dt = now_ms() - t0;
                    if (b.direct) b.direct(0);
                    if (rc) {
                        fprintf(stderr, "rc %d\n", rc);
                        return 1;
                    }
                    if (r >= 0) t[l].push_back(dt);
                }
            }
            const double a = median(t[0]), bm = median(t[1]);
            if (op.which == 0) {
                leaky_ms[0] = a;
                leaky_ms[1] = bm;
            }
            char sh[48];
            snprintf(sh, sizeof sh, "%lldx%lldx%lldx%lld", (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.w);
            printf("%-16s %-26s %12.3f %12.3f %10.4f %10.4f\n", sh, op.name, a, bm, leaky_ms[0] / a, leaky_ms[1] / bm);
            fflush(stdout);
        }
    }
    return 0;
}
