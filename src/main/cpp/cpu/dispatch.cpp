// CPU dispatch (dispatch.h): the instruction set in use and its kernel table, the thread count,
// the task runner and scratch memory of the entry points; sa_cpu_isa*, sa_cpu_threads*.
#include "dispatch.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>

#include "../common/sa_internal.h"
#include "spatialact/spatialact.h"
#include "threadpool.h"

namespace sa {
namespace {

int detect_isa() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return SA_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SA_ISA_AVX2;
#endif
    return SA_ISA_BASELINE;
}

const int g_best_isa = detect_isa();
std::atomic<int> g_isa{g_best_isa};

int64_t default_workspace_limit() {
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || size <= 0) return INT64_C(1) << 32;  // unknown: 4 GiB
    return (int64_t)pages * size / 2;
}

std::atomic<int64_t> g_workspace_limit{default_workspace_limit()};

}  // namespace

const KernelTable& kt() {
#if defined(__x86_64__) || defined(__i386__)
    switch (g_isa.load(std::memory_order_relaxed)) {
        case SA_ISA_AVX512: return kernels_avx512;
        case SA_ISA_AVX2: return kernels_avx2;
        default: return kernels_baseline;
    }
#else
    return kernels_baseline;  // arm64: the one table, NEON (CMakeLists.txt builds no x86 sets)
#endif
}

// ---- cooperative cancel (sa_cpu_forward_cancellable) --------------------------------------
// The flag of the call running on this thread, and whether this call has seen it raised. Every
// entry point's work goes through run_tasks, so checking the flag before each task bounds the
// time to stop by one task (a tile, a chunk of rows or elements) without touching any kernel.
// Once raised, every later task of the call is skipped too: a stage never reads the workspace of
// a stage that was cut short.
namespace {
thread_local const volatile int32_t* t_cancel = nullptr;
thread_local bool t_cancelled = false;

inline bool raised(const volatile int32_t* flag) {
    return __atomic_load_n(const_cast<const int32_t*>(flag), __ATOMIC_RELAXED) != 0;
}

struct Guarded {
    task_fn fn;
    void* ctx;
    const volatile int32_t* flag;
    std::atomic<bool> hit{false};
};

void guarded_task(void* c, int64_t t) {
    Guarded* g = static_cast<Guarded*>(c);
    if (g->hit.load(std::memory_order_relaxed)) return;
    if (raised(g->flag)) {
        g->hit.store(true, std::memory_order_relaxed);
        return;
    }
    g->fn(g->ctx, t);
}
}  // namespace

void cpu_cancel_begin(const volatile int32_t* flag) {
    t_cancel = flag;
    t_cancelled = flag != nullptr && raised(flag);
}

bool cpu_cancel_end() {
    const bool c = t_cancelled;
    t_cancel = nullptr;
    t_cancelled = false;
    return c;
}

void run_tasks(int64_t ntasks, task_fn fn, void* ctx, bool parallel) {
    const volatile int32_t* flag = t_cancel;
    if (flag && (t_cancelled || raised(flag))) {
        t_cancelled = true;
        return;
    }
    if (!parallel || ntasks <= 1) {
        for (int64_t t = 0; t < ntasks; t++) {
            if (flag && raised(flag)) {
                t_cancelled = true;
                return;
            }
            fn(ctx, t);
        }
    } else if (!flag) {
        parallel_for(ntasks, fn, ctx);
    } else {
        Guarded g;
        g.fn = fn;
        g.ctx = ctx;
        g.flag = flag;
        parallel_for(ntasks, guarded_task, &g);
        if (g.hit.load()) t_cancelled = true;
    }
}

Buf::~Buf() { free(p); }

bool Buf::reserve(size_t count) {
    if (count <= n) return true;
    free(p);
    p = nullptr;
    n = 0;
    if (count > (SIZE_MAX - 64) / sizeof(float)) return false;
    size_t bytes = (count * sizeof(float) + 63) & ~(size_t)63;
    // The budget, before anything is allocated: on Linux a too-large allocation often succeeds
    // and the process is killed later, when the pages are touched.
    if (bytes > (uint64_t)g_workspace_limit.load(std::memory_order_relaxed)) return false;
    p = static_cast<float*>(aligned_alloc(64, bytes));
    if (!p) return false;
    n = count;
    return true;
}

bool Scratch::get(size_t count) {
    static thread_local Buf cached;
    if (count <= kCacheCap) {
        if (!cached.reserve(count)) return false;
        p = cached.p;
    } else {
        if (!own.reserve(count)) return false;
        p = own.p;
    }
    return true;
}

}  // namespace sa

using namespace sa;

extern "C" {

int sa_cpu_isa(void) { return g_isa.load(); }

int sa_cpu_isa_supported(int isa) { return isa >= SA_ISA_BASELINE && isa <= g_best_isa ? 1 : 0; }

int sa_cpu_set_isa(int isa) {
    if (!sa_cpu_isa_supported(isa))
        return fail(SA_ERR_INVALID_ARGUMENT, "sa_cpu_set_isa: instruction set %d is not supported by this CPU (best %d)",
                    isa, g_best_isa);
    g_isa.store(isa);
    return SA_OK;
}

int sa_cpu_threads(void) { return pool_threads(); }

int sa_cpu_set_threads(int threads) {
    if (threads > 4096) return fail(SA_ERR_INVALID_ARGUMENT, "sa_cpu_set_threads: threads = %d is too many", threads);
    try {
        pool_set_threads(threads);
    } catch (...) {
        return fail(SA_ERR_OUT_OF_MEMORY, "sa_cpu_set_threads: could not start %d threads", threads);
    }
    return SA_OK;
}

int sa_cpu_spin_us(void) { return pool_spin_us(); }

int sa_cpu_set_spin_us(int us) {
    if (us > 1000000)
        return fail(SA_ERR_INVALID_ARGUMENT, "sa_cpu_set_spin_us: us = %d is above 1000000 (one second)", us);
    pool_set_spin_us(us);
    return SA_OK;
}

int64_t sa_cpu_workspace_limit(void) { return sa::g_workspace_limit.load(); }

int sa_cpu_set_workspace_limit(int64_t bytes) {
    sa::g_workspace_limit.store(bytes > 0 ? bytes : sa::default_workspace_limit());
    return SA_OK;
}

}  // extern "C"
