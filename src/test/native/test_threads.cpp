// Native test of the CPU thread pool (issue "Hardening II", item 7: the pool shrinks; issue 10:
// idle workers poll for the next job before they block, sa_cpu_set_spin_us):
//  - sa_cpu_set_threads(n) grows the pool to n threads, and a later smaller n stops the
//    surplus workers: the process's thread count comes back (read from /proc/self/status);
//  - results stay exact at every size, before and after growing and shrinking;
//  - the polling budget: its default, bounds and restore; bursts of small parallel calls (two
//    tasks each) exact with polling, without it, and with calls from two threads at once (the
//    second runs on its own thread), so a lost wake-up would hang here (ctest's timeout).
// No timing is asserted (a job of few tasks wakes only the workers it needs; that is measured
// by the benchmarks, not here). Output ends with "N passed, M failed".
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "sa_test_util.h"

using namespace sat;

namespace {


Tally check;  // check(ok, what)

int os_threads() {
    FILE* f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
    fclose(f);
    return n;
}

// Waits up to 3 s for the thread count to reach at most `want` (workers exit asynchronously).
int settle_at_most(int want) {
    int n = os_threads();
    for (int i = 0; i < 300 && n > want; i++) {
        usleep(10000);
        n = os_threads();
    }
    return n;
}

// LeakyReLU on 1M elements (many pool tasks) against the formula, exactly.
void run_exact(const std::string& what) {
    const sa_shape s = {1, 4, 512, 512};
    const size_t n = (size_t)(s.n * s.c * s.h * s.w);
    Rng r(20261201);
    std::vector<float> x(n), y(n, 12345.5f);
    fill_uniform(r, x, -3.0f, 3.0f);
    sa_params p;
    sa_params_init(&p);
    p.alpha = 0.1f;
    check(sa_cpu_leaky_relu_forward(x.data(), y.data(), s, &p) == SA_OK, what + ": runs");
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (y[i] != (x[i] > 0.0f ? x[i] : 0.1f * x[i])) bad++;
    check(bad == 0, what + ": exact (" + std::to_string(bad) + " wrong)");
}

// n back-to-back LeakyReLU calls of two pool tasks each (2 x 32768 elements), each checked.
bool burst(int n, float alpha) {
    const sa_shape s = {1, 2, 128, 256};
    const size_t len = (size_t)(s.n * s.c * s.h * s.w);
    Rng r(7);
    std::vector<float> x(len), y(len);
    fill_uniform(r, x, -3.0f, 3.0f);
    sa_params p;
    sa_params_init(&p);
    p.alpha = alpha;
    for (int i = 0; i < n; i++) {
        if (sa_cpu_leaky_relu_forward(x.data(), y.data(), s, &p) != SA_OK) return false;
        for (size_t j = 0; j < len; j += 997)
            if (y[j] != (x[j] > 0.0f ? x[j] : alpha * x[j])) return false;
        if (y[len - 1] != (x[len - 1] > 0.0f ? x[len - 1] : alpha * x[len - 1])) return false;
    }
    return true;
}

void test_spin() {
    check(sa_cpu_spin_us() == 200, "spin: default 200 us (" + std::to_string(sa_cpu_spin_us()) + ")");
    check(sa_cpu_set_spin_us(1000001) == SA_ERR_INVALID_ARGUMENT && sa_cpu_spin_us() == 200,
          "spin: above one second rejected, budget unchanged");
    check(sa_cpu_set_threads(2) == SA_OK, "spin: 2 threads");
    for (int us : {0, 200, 5, 1000000}) {
        check(sa_cpu_set_spin_us(us) == SA_OK && sa_cpu_spin_us() == us, "spin: set " + std::to_string(us));
        check(burst(300, 0.1f), "spin " + std::to_string(us) + ": 300 back-to-back calls exact");
    }
    // Two callers at once: one owns the pool, the other runs its tasks on its own thread.
    bool a = false, b = false;
    std::thread t([&] { a = burst(300, 0.2f); });
    b = burst(300, 0.3f);
    t.join();
    check(a && b, "spin: two calling threads, 300 calls each, exact");
    // Calls after the workers have blocked (a pause longer than the budget).
    check(sa_cpu_set_spin_us(50) == SA_OK, "spin: set 50");
    bool ok = true;
    for (int i = 0; i < 20 && ok; i++) {
        usleep(i % 2 ? 200 : 20);
        ok = burst(1, 0.1f);
    }
    check(ok, "spin: calls after pauses longer and shorter than the budget exact");
    check(sa_cpu_set_spin_us(-1) == SA_OK && sa_cpu_spin_us() == 200, "spin: -1 restores the default");
}

}  // namespace

int main() {
    test_spin();
    check(sa_cpu_set_threads(2) == SA_OK, "set 2 threads");
    run_exact("2 threads");
    const int base = os_threads();
    check(base > 0, "thread count readable");

    check(sa_cpu_set_threads(64) == SA_OK && sa_cpu_threads() == 64, "set 64 threads");
    run_exact("64 threads");
    const int grown = os_threads();
    check(grown >= base + 62, "the pool grew to 64 threads (" + std::to_string(base) + " -> " + std::to_string(grown) + ")");

    check(sa_cpu_set_threads(2) == SA_OK && sa_cpu_threads() == 2, "back to 2 threads");
    const int shrunk = settle_at_most(base);
    check(shrunk <= base, "the surplus workers stopped (" + std::to_string(grown) + " -> " + std::to_string(shrunk) +
                              ", was " + std::to_string(base) + ")");
    run_exact("2 threads after shrinking");

    for (int t : {1, 3, 7, 2}) {
        check(sa_cpu_set_threads(t) == SA_OK, "set " + std::to_string(t) + " threads");
        run_exact(std::to_string(t) + " threads");
    }
    const int end = settle_at_most(base);
    check(end <= base, "no workers left over after 1, 3, 7, 2 (" + std::to_string(end) + ")");
    check(sa_cpu_set_threads(0) == SA_OK, "all cores again");
    printf("test_threads: %d -> %d -> %d threads\n%d passed, %d failed\n", base, grown, shrunk, check.passed, check.failed);
    return check.failed == 0 ? 0 : 1;
}
