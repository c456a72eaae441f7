#include "threadpool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sa {
namespace {

// How long a worker that finished a job, and a caller waiting for its helpers, poll before they
// block on a condition variable (sa_cpu_set_spin_us). A blocked thread is woken by the kernel
// (a futex, and in a virtual machine an interrupt to a halted vCPU): on the 2-vCPU KVM guests of
// this project a job's wake-up and join cost ~100 us whatever its size (LeakyReLU on 1x64x32x32:
// 107 us on 2 threads against 7.7 us on 1), more than small and mid-size calls take. Polling
// hands the next job of a burst of calls (a network's layers, a benchmark loop) to a worker that
// is already awake. Bounded: a worker that sees no job within the budget blocks, so an idle
// process uses no CPU after ~200 us (OpenMP runtimes spin by default for similar reasons,
// libgomp for a few ms, Intel's for 200 ms).
constexpr int kDefaultSpinUs = 200;
std::atomic<int> g_spin_us{kDefaultSpinUs};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

// Polls ready() for up to the spin budget; true as soon as it holds, false when the budget ran out.
// Not when the pool has more threads than the machine has cores: the pollers would take the cores
// that the threads with work need.
template <class F>
bool spin_until(F ready, bool may_spin) {
    if (ready()) return true;
    const int us = may_spin ? g_spin_us.load(std::memory_order_relaxed) : 0;
    if (us <= 0) return false;
    const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
    for (;;) {
        for (int i = 0; i < 32; i++) {  // ~1-3 us between clock reads (pause: 10-140 cycles)
            cpu_relax();
            if (ready()) return true;
        }
        if (std::chrono::steady_clock::now() >= end) return ready();
    }
}

class Pool {
   public:
    Pool() { resize(default_threads()); }

    static int default_threads() {
        unsigned n = std::thread::hardware_concurrency();
        return n == 0 ? 1 : (int)n;
    }

    int threads() const { return nthreads_.load(std::memory_order_relaxed); }

    // Grows or shrinks the workers to n - 1 (the caller is the n-th thread). Surplus workers are
    // told to stop and exit on their own (they are detached); each owns its slot, so a slot
    // outlives its removal from workers_ until its thread has left.
    void resize(int n) {
        if (n <= 0) n = default_threads();
        std::lock_guard<std::mutex> busy(busy_);
        std::lock_guard<std::mutex> lk(m_);
        while ((int)workers_.size() < n - 1) {
            auto slot = std::make_shared<Slot>();
            workers_.push_back(slot);
            std::thread([this, slot] { worker(*slot); }).detach();
        }
        while ((int)workers_.size() > n - 1) {
            workers_.back()->stop.store(true, std::memory_order_release);
            workers_.back()->cv.notify_one();
            workers_.pop_back();
        }
        nthreads_.store(n, std::memory_order_relaxed);
    }

    void run(int64_t ntasks, task_fn fn, void* ctx) {
        if (ntasks <= 0) return;
        int nt = threads();
        std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
        if (ntasks == 1 || nt <= 1 || !busy.owns_lock()) {
            for (int64_t t = 0; t < ntasks; t++) fn(ctx, t);
            return;
        }
        // Only the workers this job needs are woken (each has its own condition variable): a
        // pool once resized to thousands of threads costs nothing for a job of two tasks.
        int helpers = (int)((ntasks - 1) < (int64_t)(nt - 1) ? (ntasks - 1) : (nt - 1));
        {
            std::lock_guard<std::mutex> lk(m_);
            fn_ = fn;
            ctx_ = ctx;
            ntasks_ = ntasks;
            next_.store(0, std::memory_order_relaxed);
            pending_.store(helpers, std::memory_order_relaxed);
            generation_++;
            // (release: a polling worker that sees its job also sees fn_, ctx_, ntasks_, next_)
            for (int i = 0; i < helpers; i++) workers_[i]->job.store(generation_, std::memory_order_release);
        }
        // (notify_one without a blocked waiter is a check of the waiter count, no system call)
        for (int i = 0; i < helpers; i++) workers_[i]->cv.notify_one();
        drain();
        auto joined = [this] { return pending_.load(std::memory_order_acquire) == 0; };
        if (!spin_until(joined, nt <= hw_)) {
            std::unique_lock<std::mutex> lk(m_);
            done_cv_.wait(lk, joined);
        }
    }

   private:
    struct Slot {
        std::condition_variable cv;
        std::atomic<uint64_t> job{0};  // the generation this worker is to help with (set under m_)
        std::atomic<bool> stop{false};  // set by a shrink (under m_)
    };

    void drain() {
        for (;;) {
            int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
            if (t >= ntasks_) break;
            fn_(ctx_, t);
        }
    }

    // Polls for its next job (spin_until), then blocks on its own condition variable. The job
    // and stop flags are set under m_ and the waiter re-checks them under m_, so a notify that
    // comes while the worker is still polling or about to block is never lost.
    void worker(Slot& slot) {
        uint64_t seen = 0;
        auto called = [&] {
            return slot.stop.load(std::memory_order_acquire) || slot.job.load(std::memory_order_acquire) != seen;
        };
        for (;;) {
            if (!spin_until(called, threads() <= hw_)) {
                std::unique_lock<std::mutex> lk(m_);
                slot.cv.wait(lk, called);
            }
            if (slot.stop.load(std::memory_order_acquire)) return;
            seen = slot.job.load(std::memory_order_acquire);
            drain();
            // The last helper out wakes a blocked caller (under m_: the caller checks pending_
            // under m_ before it blocks, so the wake-up cannot fall between its check and wait).
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard<std::mutex> lk(m_);
                done_cv_.notify_one();
            }
        }
    }

    const int hw_ = default_threads();  // the machine's cores (hardware threads)
    std::mutex busy_;  // held by the one caller that owns the workers
    std::mutex m_;
    std::condition_variable done_cv_;
    std::vector<std::shared_ptr<Slot>> workers_;
    std::atomic<int> nthreads_{1};
    uint64_t generation_ = 0;
    std::atomic<int> pending_{0};  // helpers of the current job still running
    task_fn fn_ = nullptr;
    void* ctx_ = nullptr;
    int64_t ntasks_ = 0;
    std::atomic<int64_t> next_{0};
};

Pool& pool() {
    static Pool* p = new Pool();  // intentionally never deleted, see threadpool.h
    return *p;
}

}  // namespace

void parallel_for(int64_t ntasks, task_fn fn, void* ctx) { pool().run(ntasks, fn, ctx); }
int pool_threads() { return pool().threads(); }
void pool_set_threads(int n) { pool().resize(n); }
int pool_spin_us() { return g_spin_us.load(std::memory_order_relaxed); }
void pool_set_spin_us(int us) { g_spin_us.store(us < 0 ? kDefaultSpinUs : us, std::memory_order_relaxed); }

}  // namespace sa
