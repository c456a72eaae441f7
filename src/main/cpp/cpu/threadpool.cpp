#include "threadpool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace sa {
namespace {

class Pool {
   public:
    Pool() { resize(default_threads()); }

    static int default_threads() {
        unsigned n = std::thread::hardware_concurrency();
        return n == 0 ? 1 : (int)n;
    }

    int threads() const { return nthreads_.load(std::memory_order_relaxed); }

    void resize(int n) {
        if (n <= 0) n = default_threads();
        std::lock_guard<std::mutex> busy(busy_);
        std::lock_guard<std::mutex> lk(m_);
        // Workers are only ever added; extra ones stay parked when the count shrinks.
        while ((int)workers_.size() < n - 1) {
            int id = (int)workers_.size();
            workers_.emplace_back([this, id] { worker(id); });
            workers_.back().detach();
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
        int helpers = (int)((ntasks - 1) < (int64_t)(nt - 1) ? (ntasks - 1) : (nt - 1));
        {
            std::lock_guard<std::mutex> lk(m_);
            fn_ = fn;
            ctx_ = ctx;
            ntasks_ = ntasks;
            next_.store(0, std::memory_order_relaxed);
            active_helpers_ = helpers;
            pending_ = helpers;
            generation_++;
        }
        cv_.notify_all();
        drain();
        std::unique_lock<std::mutex> lk(m_);
        done_cv_.wait(lk, [this] { return pending_ == 0; });
    }

   private:
    void drain() {
        for (;;) {
            int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
            if (t >= ntasks_) break;
            fn_(ctx_, t);
        }
    }

    void worker(int id) {
        uint64_t seen = 0;
        std::unique_lock<std::mutex> lk(m_);
        for (;;) {
            cv_.wait(lk, [&] { return generation_ != seen; });
            seen = generation_;
            if (id >= active_helpers_) continue;  // not needed for this job
            lk.unlock();
            drain();
            lk.lock();
            if (--pending_ == 0) done_cv_.notify_one();
        }
    }

    std::mutex busy_;  // held by the one caller that owns the workers
    std::mutex m_;
    std::condition_variable cv_, done_cv_;
    std::vector<std::thread> workers_;
    std::atomic<int> nthreads_{1};
    uint64_t generation_ = 0;
    int active_helpers_ = 0;
    int pending_ = 0;
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

}  // namespace sa
