// CPU timing of TD-LReLU (T in {1, 5, 10}, r in {2, 3, 5}) and NTD-LReLU against LeakyReLU
// on one tensor (default 1 x 64 x 256 x 256). Median of runs; "vs leaky" is the throughput
// ratio t_leaky / t_op measured in the same run (the bar: TD T=5 r=3 >= 0.2).
// Usage: bench_td [N C H W] [runs]
#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <vector>

#include "common/sa_internal.h"
#include "spatialact/spatialact.h"

namespace {

double median_ms(int runs, const std::function<int()>& f) {
    std::vector<double> t;
    if (f() != SA_OK) {  // warm-up (also pages in the output)
        fprintf(stderr, "error: %s\n", sa_last_error());
        exit(1);
    }
    for (int i = 0; i < runs; i++) {
        auto a = std::chrono::steady_clock::now();
        f();
        auto b = std::chrono::steady_clock::now();
        t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    sa_shape s{1, 64, 256, 256};
    int runs = 15;
    if (argc >= 5) s = sa_shape{atoll(argv[1]), atoll(argv[2]), atoll(argv[3]), atoll(argv[4])};
    if (argc >= 6) runs = atoi(argv[5]);
    const int64_t n = s.n * s.c * s.h * s.w;
    std::vector<float> o((size_t)n), y((size_t)n);
    uint64_t st = 12345;
    for (auto& v : o) {  // smooth field plus noise
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        v = (float)((double)(st >> 40) / (double)(1ull << 24) - 0.5);
    }
    const char* isa_names[] = {"baseline", "avx2", "avx512"};
    printf("shape %lldx%lldx%lldx%lld, %d threads, isa %s, median of %d runs\n", (long long)s.n, (long long)s.c,
           (long long)s.h, (long long)s.w, sa_cpu_threads(), isa_names[sa_cpu_isa()], runs);
    const double gb = 2.0 * (double)n * 4.0 / 1e9;  // one read of o, one write of y

    sa_params p;
    sa_params_init(&p);
    const double leaky = median_ms(runs, [&] { return sa_cpu_leaky_relu_forward(o.data(), y.data(), s, &p); });
    printf("%-34s %9.3f ms  %7.2f GB/s  vs leaky %6.3fx\n", "leaky_relu", leaky, gb / (leaky * 1e-3), 1.0);

    for (float eps : {0.0f, 0.1f}) {
        for (int T : {1, 5, 10}) {
            for (int r : {2, 3, 5}) {
                sa_params q = p;
                q.iterations = T;
                q.radius = r;
                q.sigma = (float)r / 3.0f;
                q.eps = eps;
                q.lambda = 0.3f;
                if (eps > 0.0f && !(T == 5 && r == 3)) continue;  // soft: the default point only
                // Hard form: the direct kernels (every pixel, every iteration), the block delta
                // scheme, the incremental scheme (the hook of sa_internal.h) and the default
                // choice, in one process.
                for (int mode : eps > 0.0f ? std::vector<int>{0} : std::vector<int>{1, 2, 3, 0}) {
                    sa_internal_cpu_td_direct(mode);
                    const double ms =
                        median_ms(runs, [&] { return sa_cpu_td_lrelu_forward(o.data(), y.data(), s, &q); });
                    char name[64];
                    snprintf(name, sizeof name, "td_lrelu %s T=%d r=%d", eps > 0 ? "soft" : mode == 1 ? "hard direct" : mode == 2 ? "hard delta" : mode == 3 ? "hard incr" : "hard",
                             T, r);
                    printf("%-34s %9.3f ms  %7.2f GB/s  vs leaky %6.3fx\n", name, ms, gb / (ms * 1e-3), leaky / ms);
                }
                sa_internal_cpu_td_direct(0);
            }
        }
    }
    for (float eps : {0.0f, 0.1f}) {
        for (int knn : {0, 16}) {
            sa_params q = p;  // S = 3, P = 1, T = 5
            q.eps = eps;
            q.knn = knn;
            q.lambda = 0.3f;
            const double ms =
                median_ms(std::max(3, runs / 3), [&] { return sa_cpu_ntd_lrelu_forward(o.data(), nullptr, y.data(), s, &q); });
            char name[64];
            snprintf(name, sizeof name, "ntd_lrelu %s S=3 P=1 T=5 knn=%d", eps > 0 ? "soft" : "hard", knn);
            printf("%-34s %9.3f ms  %7.2f GB/s  vs leaky %6.3fx\n", name, ms, gb / (ms * 1e-3), leaky / ms);
        }
    }
    return 0;
}
