#include "threadpool.h"

#include <atomic>
#include <condition_variable>
#include <memory>
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
            workers_.back()->stop = true;
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
            pending_ = helpers;
            generation_++;
            for (int i = 0; i < helpers; i++) workers_[i]->job = generation_;
        }
        for (int i = 0; i < helpers; i++) workers_[i]->cv.notify_one();
        drain();
        std::unique_lock<std::mutex> lk(m_);
        done_cv_.wait(lk, [this] { return pending_ == 0; });
    }

   private:
    struct Slot {
        std::condition_variable cv;
        uint64_t job = 0;   // the generation this worker is to help with (under m_)
        bool stop = false;  // set by a shrink (under m_)
    };

    void drain() {
        for (;;) {
            int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
            if (t >= ntasks_) break;
            fn_(ctx_, t);
        }
    }

    void worker(Slot& slot) {
        uint64_t seen = 0;
        std::unique_lock<std::mutex> lk(m_);
        for (;;) {
            slot.cv.wait(lk, [&] { return slot.stop || slot.job != seen; });
            if (slot.stop) return;
            seen = slot.job;
            lk.unlock();
            drain();
            lk.lock();
            if (--pending_ == 0) done_cv_.notify_one();
        }
    }

    std::mutex busy_;  // held by the one caller that owns the workers
    std::mutex m_;
    std::condition_variable done_cv_;
    std::vector<std::shared_ptr<Slot>> workers_;
    std::atomic<int> nthreads_{1};
    uint64_t generation_ = 0;
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
