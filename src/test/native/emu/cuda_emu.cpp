// The emulated GPU's runtime (cuda_emu.h has the model; docs/EMULATOR.md the use): device
// models, device memory and streams on the host, and the launch engine that runs every CUDA
// thread of a block as a fiber, interleaving them only at __syncthreads, in three replay orders.
//
// One launch runs at a time (a global lock: the kernels run on the calling thread, so every
// fiber of a launch runs on the OS thread that holds the lock); the fibers switch with a small
// x86-64 context switch (or ucontext elsewhere), annotated for AddressSanitizer.
#include "cuda_emu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "sa_emu.h"

#if defined(__SANITIZE_ADDRESS__)
#define SA_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SA_EMU_ASAN 1
#endif
#endif
#ifndef SA_EMU_ASAN
#define SA_EMU_ASAN 0
#endif
#if SA_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace sa_emu {

const ThreadView* g_view = nullptr;

namespace {

// ---- device models ---------------------------------------------------------------------------

struct Model {
    const char* name;
    const char* desc;
    int major, minor, sms;
    int optin;        // max shared memory per block with the opt-in (cudaFuncSetAttribute)
    int per_sm;       // shared memory per SM
    int threads_sm;   // resident threads per SM
    int blocks_sm;    // resident blocks per SM
    int reserved;     // shared memory the system reserves per block (1 KiB on sm_80+)
    long long mem;
    bool pools;       // stream-ordered allocator (cudaMallocAsync)
};

const Model kModels[] = {
    {"h100", "H100 SXM, sm_90, 227 KiB opt-in", 9, 0, 132, 232448, 233472, 2048, 32, 1024, 80LL << 30, true},
    {"a100", "A100, sm_80, 163 KiB opt-in", 8, 0, 108, 166912, 167936, 2048, 32, 1024, 40LL << 30, true},
    {"sm86", "RTX 3090 class, sm_86, 99 KiB opt-in", 8, 6, 82, 101376, 102400, 1536, 16, 1024, 24LL << 30, true},
    {"sm61", "GTX 1080 class, sm_61, 48 KiB (no opt-in)", 6, 1, 20, 49152, 98304, 2048, 32, 0, 8LL << 30, true},
    {"tiny", "synthetic: 2 SMs, 20 KiB per block, no stream-ordered allocator", 8, 0, 2, 20480, 40960, 1024, 8, 1024,
     1LL << 30, false},
    {"a100-nopool", "A100 without the stream-ordered allocator", 8, 0, 108, 166912, 167936, 2048, 32, 1024,
     40LL << 30, false},
};
constexpr int kNumModels = (int)(sizeof(kModels) / sizeof(kModels[0]));

constexpr int kDefaultSmem = 48 * 1024;  // dynamic shared memory allowed without the attribute
constexpr uint32_t kGlobalPoison = 0x7FE5A5A5u;  // quiet NaN: fresh cudaMalloc memory
// Shared-memory poison of each replay: a NaN, then two finite values, so that a result that
// depends on an unwritten shared word differs between replays even where NaN is masked.
constexpr uint32_t kSharedPoison[3] = {0x7FD00BADu, 0x4B800001u, 0xC2F6E979u};

struct Device {
    std::map<const void*, int> max_dyn;  // cudaFuncAttributeMaxDynamicSharedMemorySize per kernel
    cudaError_t pending = cudaSuccess;   // an execution fault not yet reported by a sync
};

struct Alloc {
    size_t size;
    int device;
};

struct KStats {
    int64_t launches = 0, threads = 0, barriers = 0;
    int64_t gl = 0, gs = 0, sl = 0, ss = 0, local = 0;
};

std::mutex g_mu;
const Model* g_model = &kModels[0];
int g_count = 1;
int g_smem_cap = 0;
int g_orders = 3;
bool g_quiet = false;
bool g_late_faults = false;
std::vector<Device> g_dev(1);
std::map<uintptr_t, Alloc> g_allocs;
std::set<CUstream_st*> g_streams;
struct StreamInfo {
    int device;
};
std::map<CUstream_st*, StreamInfo> g_stream_info;
sa_emu_stats g_stats = {};
std::string g_last_fault;
std::map<std::string, KStats> g_kstats;

thread_local int t_dev = 0;
thread_local cudaError_t t_last = cudaSuccess;
thread_local char t_errbuf[1024];

int optin_of(const Model* m) { return g_smem_cap > 0 ? std::min(m->optin, g_smem_cap) : m->optin; }
int default_smem(const Model* m) { return std::min(kDefaultSmem, optin_of(m)); }

void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void say(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

std::string strf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string strf(const char* fmt, ...) {
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    return b;
}

void load_env() {
    static bool done = false;
    if (done) return;
    done = true;
    if (const char* e = getenv("SA_EMU_DEVICE")) {
        bool found = false;
        if (!strcmp(e, "none")) {
            g_count = 0;
            found = true;
        }
        for (int i = 0; i < kNumModels && !found; i++)
            if (!strcmp(e, kModels[i].name)) g_model = &kModels[i], found = true;
        if (!found) say("emulated GPU: unknown SA_EMU_DEVICE '%s', using %s\n", e, g_model->name);
    }
    if (const char* e = getenv("SA_EMU_DEVICES")) g_count = std::max(0, atoi(e));
    if (const char* e = getenv("SA_EMU_ORDERS")) g_orders = std::min(3, std::max(1, atoi(e)));
    if (const char* e = getenv("SA_EMU_SMEM_CAP")) g_smem_cap = std::max(0, atoi(e));
    g_dev.assign((size_t)std::max(1, g_count), Device());
}

struct Lock {
    std::lock_guard<std::mutex> g;
    Lock() : g(g_mu) { load_env(); }
};

cudaError_t set_err(cudaError_t e) {
    if (e != cudaSuccess) t_last = e;
    return e;
}

// The allocation holding [p, p + n) (n may be 0: p may then be one past the end).
const Alloc* find_alloc(const void* p, size_t n, uintptr_t* base = nullptr) {
    if (g_allocs.empty()) return nullptr;
    const uintptr_t a = (uintptr_t)p;
    auto it = g_allocs.upper_bound(a);
    if (it == g_allocs.begin()) return nullptr;
    --it;
    if (a < it->first || a - it->first > it->second.size || n > it->second.size - (a - it->first)) return nullptr;
    if (base) *base = it->first;
    return &it->second;
}

bool device_ok(int d) { return d >= 0 && d < g_count; }

cudaError_t check_stream(cudaStream_t s, int dev) {
    if (!s) return cudaSuccess;
    auto it = g_stream_info.find(s);
    if (it == g_stream_info.end()) return cudaErrorInvalidResourceHandle;
    if (it->second.device != dev) return cudaErrorInvalidResourceHandle;
    return cudaSuccess;
}

void poison_fill(void* p, size_t bytes, uint32_t word) {
    uint32_t* w = (uint32_t*)p;
    const size_t n = bytes / 4;
    for (size_t i = 0; i < n; i++) w[i] = word;
    memset((char*)p + n * 4, 0xA5, bytes - n * 4);
}

// Kernel name from __PRETTY_FUNCTION__: "void {anonymous}::td_tile_kernel(TdArgs) [with int
// R = 3; bool SOFT = false]" -> "td_tile_kernel<3,false>" (typedef notes such as
// "int64_t = long int" dropped).
std::string kernel_name(const char* pretty) {
    if (!pretty) return "(kernel without index reads)";
    std::string s = pretty;
    const size_t paren = s.find('(');
    std::string head = s.substr(0, paren);
    const size_t cut = head.find_last_of(": ");
    std::string base = cut == std::string::npos ? head : head.substr(cut + 1);
    const size_t w = s.find("[with ");
    if (w == std::string::npos) return base;
    std::string args = s.substr(w + 6);
    if (!args.empty() && args.back() == ']') args.pop_back();
    std::string out;
    size_t pos = 0;
    while (pos < args.size()) {
        size_t end = args.find("; ", pos);
        if (end == std::string::npos) end = args.size();
        const std::string item = args.substr(pos, end - pos);
        const size_t eq = item.find(" = ");
        if (eq != std::string::npos) {
            std::string name = item.substr(0, eq), val = item.substr(eq + 3);
            const size_t sp = name.find_last_of(' ');
            if (sp != std::string::npos) name = name.substr(sp + 1);
            if (!(name.size() > 2 && name.compare(name.size() - 2, 2, "_t") == 0)) {
                size_t an;
                while ((an = val.find("{anonymous}::")) != std::string::npos) val.erase(an, 13);
                out += (out.empty() ? "" : ",") + val;
            }
        }
        pos = end + 2;
    }
    return out.empty() ? base : base + "<" + out + ">";
}

// ---- fibers ------------------------------------------------------------------------------------

#if defined(__x86_64__)
extern "C" void sa_emu_switch(void** save_sp, void* load_sp);
extern "C" void sa_emu_trampoline();
// Saves the callee-saved registers, MXCSR and the x87 control word on the current stack,
// stores the stack pointer in *save_sp, loads load_sp and restores the same from there.
asm(R"(
    .text
    .p2align 4
    .globl sa_emu_switch
    .hidden sa_emu_switch
    .type sa_emu_switch,@function
sa_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $16, %rsp
    stmxcsr 8(%rsp)
    fnstcw (%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr 8(%rsp)
    fldcw (%rsp)
    addq $16, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size sa_emu_switch, .-sa_emu_switch
    .p2align 4
    .globl sa_emu_trampoline
    .hidden sa_emu_trampoline
    .type sa_emu_trampoline,@function
sa_emu_trampoline:
    movq %r12, %rdi
    callq *%r13
    ud2
    .size sa_emu_trampoline, .-sa_emu_trampoline
)");
#endif

enum FState { kNew, kReady, kAtBarrier, kAtWarp, kExited };

struct Fiber {
    int idx = 0;
    FState state = kNew;
    char* stack = nullptr;
    void* sp = nullptr;
#if !defined(__x86_64__)
    ucontext_t uc;
#endif
    void* fake = nullptr;
    const char* bar_file = nullptr;
    int bar_line = 0;
    int64_t barriers = 0;
    int static_idx = 0;
    // at a warp collective (__ballot_sync): its site, mask and vote; the result on return
    const char* warp_file = nullptr;
    int warp_line = 0;
    unsigned warp_mask = 0, warp_result = 0;
    bool warp_pred = false;
};

size_t stack_bytes() {
    static size_t s = 0;
    if (!s) {
        s = (SA_EMU_ASAN ? 512 : 64) * 1024;
        if (const char* e = getenv("SA_EMU_STACK_KB")) s = std::max<size_t>(16, strtoull(e, nullptr, 10)) * 1024;
    }
    return s;
}

// Stacks with a guard page below; reused across blocks and launches.
struct StackPool {
    std::vector<char*> free_;
    char* get() {
        if (!free_.empty()) {
            char* s = free_.back();
            free_.pop_back();
            return s;
        }
        const size_t page = 4096, n = stack_bytes();
        void* m = mmap(nullptr, n + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) {
            say("emulated GPU: cannot map a fiber stack\n");
            abort();
        }
        mprotect(m, page, PROT_NONE);
        return (char*)m + page;
    }
    void put(char* s, bool dirty) {
#if SA_EMU_ASAN
        // A fiber abandoned mid-kernel leaves its frames' redzones poisoned.
        if (dirty) ASAN_UNPOISON_MEMORY_REGION(s, stack_bytes());
#else
        (void)dirty;
#endif
        free_.push_back(s);
    }
};

struct Block;
struct LaunchState {
    const LaunchConfig* cfg;
    void (*body)(void*);
    void* ctx;
    const char* kname = nullptr;  // filled by the first index read (ThreadView::kernel_name)
    int device;
    KStats acc;  // this launch's counts (the ascending run only), merged at its end
};

struct Block {
    std::vector<Fiber> fibers;
    std::vector<ThreadView> views;
    void* dyn = nullptr;
    size_t dyn_bytes = 0;
    std::vector<std::pair<void*, size_t>> statics;
    size_t static_total = 0;
    std::string fault;  // the first fault of this block
    uint32_t poison = 0;
};

StackPool g_stacks;
LaunchState* g_launch = nullptr;
Block* g_block = nullptr;
Fiber* g_cur = nullptr;
void* g_sched_sp = nullptr;
#if !defined(__x86_64__)
ucontext_t g_sched_uc;
#endif
const void* g_sched_lo = nullptr;
size_t g_sched_size = 0;
bool g_count_on = false;  // counting build: count this replay's accesses

void block_fault(const std::string& what) {
    if (g_block && g_block->fault.empty()) g_block->fault = what;
}

void fiber_main(Fiber* f) {
#if SA_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &g_sched_lo, &g_sched_size);
#endif
    g_launch->body(g_launch->ctx);
    f->state = kExited;
#if SA_EMU_ASAN
    __sanitizer_start_switch_fiber(nullptr, g_sched_lo, g_sched_size);
#endif
#if defined(__x86_64__)
    sa_emu_switch(&f->sp, g_sched_sp);
#else
    setcontext(&g_sched_uc);
#endif
    __builtin_unreachable();
}

#if !defined(__x86_64__)
void fiber_entry_uc(unsigned lo, unsigned hi) { fiber_main((Fiber*)(((uintptr_t)hi << 32) | lo)); }
#endif

void resume(Fiber* f) {
    g_cur = f;
    g_view = &g_block->views[(size_t)f->idx];
    if (f->state == kNew) {
        f->stack = g_stacks.get();
        char* top = f->stack + stack_bytes();
#if defined(__x86_64__)
        uint64_t* sp = (uint64_t*)(top - 88);  // see sa_emu_switch: sp + 72 is 16-byte aligned
        uint32_t mxcsr;
        uint16_t fcw;
        asm volatile("stmxcsr %0" : "=m"(mxcsr));
        asm volatile("fnstcw %0" : "=m"(fcw));
        memset(sp, 0, 88);
        memcpy(&sp[0], &fcw, 2);
        memcpy(&sp[1], &mxcsr, 4);
        sp[4] = (uint64_t)(uintptr_t)&fiber_main;  // r13
        sp[5] = (uint64_t)(uintptr_t)f;            // r12
        sp[8] = (uint64_t)(uintptr_t)&sa_emu_trampoline;
        f->sp = sp;
#else
        getcontext(&f->uc);
        f->uc.uc_stack.ss_sp = f->stack;
        f->uc.uc_stack.ss_size = stack_bytes();
        f->uc.uc_link = nullptr;
        makecontext(&f->uc, (void (*)())fiber_entry_uc, 2, (unsigned)(uintptr_t)f, (unsigned)((uintptr_t)f >> 32));
#endif
    }
    f->state = kReady;
#if SA_EMU_ASAN
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, f->stack, stack_bytes());
#endif
#if defined(__x86_64__)
    sa_emu_switch(&g_sched_sp, f->sp);
#else
    swapcontext(&g_sched_uc, &f->uc);
#endif
#if SA_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    g_cur = nullptr;
    g_view = nullptr;
    if (f->state == kExited) {
        g_stacks.put(f->stack, false);
        f->stack = nullptr;
    }
}

// ---- the launch engine ----------------------------------------------------------------------

struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
};

const char* kOrderName[3] = {"ascending", "descending", "shuffled"};

// The warps with lanes waiting at a warp collective. As in CUDA, every lane of a vote's mask
// that has not exited must wait at the same call with the same mask (lanes that have exited are
// left out of the vote); a lane of the mask at a barrier or at another collective is a fault (on
// a GPU the vote would hang or be undefined). Several votes with disjoint masks may be pending
// in one warp. Fills `ready` with the lanes released (ascending) and returns whether there were
// any.
bool resolve_warps(Block& b, int n, std::vector<int>& ready) {
    ready.clear();
    for (int w0 = 0; w0 < n; w0 += 32) {
        const int w1 = std::min(n, w0 + 32);
        for (int i = w0; i < w1; i++) {
            const Fiber& first = b.fibers[(size_t)i];
            if (first.state != kAtWarp) continue;  // (released lanes are kReady by now)
            unsigned vote = 0;
            for (int l = w0; l < w1; l++) {
                const Fiber& f = b.fibers[(size_t)l];
                if (!(first.warp_mask >> (l - w0) & 1u) || f.state == kExited) continue;
                const bool same = f.state == kAtWarp && f.warp_line == first.warp_line &&
                                  !strcmp(f.warp_file, first.warp_file) && f.warp_mask == first.warp_mask;
                if (!same) {
                    block_fault(strf("__ballot_sync at %s:%d (mask 0x%08x) not reached by lane %d of warp %d (it %s)",
                                     first.warp_file, first.warp_line, first.warp_mask, l - w0, w0 / 32,
                                     f.state == kAtBarrier ? "waits at a __syncthreads"
                                     : f.state == kAtWarp  ? "waits at another warp collective or with another mask"
                                                           : "is not at a collective"));
                    return false;
                }
                if (f.warp_pred) vote |= 1u << (l - w0);
            }
            if (!(first.warp_mask >> (i - w0) & 1u)) {
                block_fault(strf("__ballot_sync at %s:%d: lane %d of warp %d is not in its own mask 0x%08x",
                                 first.warp_file, first.warp_line, i - w0, w0 / 32, first.warp_mask));
                return false;
            }
            const unsigned mask = first.warp_mask;
            for (int l = w0; l < w1; l++) {
                Fiber& f = b.fibers[(size_t)l];
                if ((mask >> (l - w0) & 1u) && f.state == kAtWarp) {
                    f.warp_result = vote;
                    f.state = kReady;
                    ready.push_back(l);
                }
            }
        }
    }
    std::sort(ready.begin(), ready.end());
    return !ready.empty();
}

// Runs one block to completion (or to its first fault) with threads in order `policy` between
// barriers. Returns false on a fault (in b.fault).
bool run_block(LaunchState& L, Block& b, uint3 bid, int policy, uint64_t seed, KStats* ks) {
    // ks: where to count threads and barriers (null in replays)
    const LaunchConfig& c = *L.cfg;
    const int n = (int)(c.block.x * c.block.y * c.block.z);
    b.fibers.assign((size_t)n, Fiber());
    b.views.resize((size_t)n);
    for (int i = 0; i < n; i++) {
        b.fibers[(size_t)i].idx = i;
        ThreadView& v = b.views[(size_t)i];
        v.tid = uint3{(unsigned)i % c.block.x, ((unsigned)i / c.block.x) % c.block.y,
                      (unsigned)i / (c.block.x * c.block.y)};
        v.bid = bid;
        v.bdim = c.block;
        v.gdim = c.grid;
        v.kernel_name = &L.kname;
    }
    b.fault.clear();
    b.static_total = 0;
    b.statics.clear();
    b.dyn_bytes = c.smem;
    b.dyn = malloc(c.smem ? c.smem : 1);  // exactly the launched size (ASan checks the bounds)
    if (!b.dyn) {
        say("emulated GPU: out of host memory\n");
        abort();
    }
    poison_fill(b.dyn, c.smem, b.poison);
    g_block = &b;

    std::vector<int> order;
    order.reserve((size_t)n);
    Rng rng{seed};
    bool exited_any = false;
    for (int phase = 0;; phase++) {
        order.clear();
        for (int i = 0; i < n; i++)
            if (b.fibers[(size_t)i].state != kExited) order.push_back(i);
        if (policy == 1) std::reverse(order.begin(), order.end());
        if (policy == 2)
            for (size_t i = order.size(); i > 1; i--) std::swap(order[i - 1], order[(size_t)(rng.next() % i)]);
        for (int i : order) resume(&b.fibers[(size_t)i]);
        // Warp collectives: a warp whose lanes all wait at the same __ballot_sync gets its vote,
        // and those lanes run on (in this replay's order) to their next barrier or collective.
        while (b.fault.empty() && resolve_warps(b, n, order)) {
            if (policy == 1) std::reverse(order.begin(), order.end());
            if (policy == 2)
                for (size_t i = order.size(); i > 1; i--) std::swap(order[i - 1], order[(size_t)(rng.next() % i)]);
            for (int i : order) resume(&b.fibers[(size_t)i]);
        }
        if (!b.fault.empty()) break;
        int at = 0, gone = 0;
        const Fiber* first = nullptr;
        for (const Fiber& f : b.fibers) {
            if (f.state == kAtBarrier) {
                at++;
                if (!first) first = &f;
            } else if (f.state == kExited) {
                gone++;
            }
        }
        if (at == 0) break;
        if (gone > 0 || exited_any) {
            block_fault(strf("__syncthreads() at %s:%d reached by %d of the block's %d threads (the others have "
                             "exited): a barrier not reached by the whole block",
                             first->bar_file, first->bar_line, at, n));
        }
        for (const Fiber& f : b.fibers)
            if (f.state == kAtBarrier && (f.bar_line != first->bar_line || strcmp(f.bar_file, first->bar_file))) {
                block_fault(strf("threads of one block wait at different barriers: %s:%d (thread %d) and %s:%d "
                                 "(thread %d)",
                                 first->bar_file, first->bar_line, first->idx, f.bar_file, f.bar_line, f.idx));
                break;
            }
        if (!b.fault.empty()) break;
        exited_any = gone > 0;
        for (Fiber& f : b.fibers)
            if (f.state == kAtBarrier) f.state = kReady;
    }
    int64_t bars = 0;
    for (Fiber& f : b.fibers) {
        bars += f.barriers;
        if (f.stack) {  // abandoned at a barrier (fault)
            g_stacks.put(f.stack, true);
            f.stack = nullptr;
        }
    }
    if (ks) {
        ks->threads += n;
        ks->barriers += bars;
    }
    g_stats.barriers += bars;
    free(b.dyn);
    b.dyn = nullptr;
    for (auto& s : b.statics) free(s.first);
    b.statics.clear();
    g_block = nullptr;
    return b.fault.empty();
}

struct Snapshot {
    std::vector<std::pair<uintptr_t, std::vector<char>>> bufs;
    void take() {
        bufs.clear();
        for (auto& a : g_allocs) bufs.emplace_back(a.first, std::vector<char>((char*)a.first, (char*)a.first + a.second.size));
    }
    void restore() const {
        for (auto& b : bufs) memcpy((void*)b.first, b.second.data(), b.second.size());
    }
    // The first difference between this image and device memory now, or "".
    std::string diff() const {
        for (auto& b : bufs) {
            const char* now = (const char*)b.first;
            if (memcmp(now, b.second.data(), b.second.size()) == 0) continue;
            size_t first = 0, words = 0;
            bool found = false;
            for (size_t i = 0; i + 4 <= b.second.size(); i += 4)
                if (memcmp(now + i, b.second.data() + i, 4)) {
                    if (!found) first = i, found = true;
                    words++;
                }
            uint32_t x = 0, y = 0;
            memcpy(&x, b.second.data() + first, 4);
            memcpy(&y, now + first, 4);
            return strf("%zu words of the %zu-byte allocation %p differ, the first at byte %zu: 0x%08x vs 0x%08x", words,
                        b.second.size(), (void*)b.first, first, x, y);
        }
        return "";
    }
};

void record_fault(int dev, const std::string& what) {
    g_stats.faults++;
    g_last_fault = what;
    if (dev >= 0 && dev < (int)g_dev.size()) g_dev[(size_t)dev].pending = cudaErrorLaunchFailure;
    if (!g_late_faults) t_last = cudaErrorLaunchFailure;
    if (!g_quiet) say("emulated GPU fault: %s\n", what.c_str());
}

}  // namespace

// ---- device-side calls ------------------------------------------------------------------------

namespace {
// Back to the block's scheduler (f->state says why); returns when the fiber is resumed.
void yield_fiber(Fiber* f) {
#if SA_EMU_ASAN
    __sanitizer_start_switch_fiber(&f->fake, g_sched_lo, g_sched_size);
#endif
#if defined(__x86_64__)
    sa_emu_switch(&f->sp, g_sched_sp);
#else
    swapcontext(&f->uc, &g_sched_uc);
#endif
#if SA_EMU_ASAN
    __sanitizer_finish_switch_fiber(f->fake, nullptr, nullptr);
#endif
}
}  // namespace

unsigned ballot_sync(unsigned mask, bool pred, const char* file, int line) {
    Fiber* f = g_cur;
    if (!f) {
        say("emulated GPU: __ballot_sync outside a kernel (%s:%d)\n", file, line);
        abort();
    }
    f->warp_file = file;
    f->warp_line = line;
    f->warp_mask = mask;
    f->warp_pred = pred;
    f->state = kAtWarp;
    yield_fiber(f);
    return f->warp_result;
}

void syncthreads(const char* file, int line) {
    Fiber* f = g_cur;
    if (!f) {
        say("emulated GPU: __syncthreads() outside a kernel (%s:%d)\n", file, line);
        abort();
    }
    f->barriers++;
    f->bar_file = file;
    f->bar_line = line;
    f->state = kAtBarrier;
    yield_fiber(f);
}

void* dynamic_shared_raw() {
    if (!g_block) abort();
    return g_block->dyn;
}

void* static_shared_raw(size_t bytes, size_t align) {
    if (!g_block || !g_cur) abort();
    Block& b = *g_block;
    const size_t k = (size_t)g_cur->static_idx++;
    if (k < b.statics.size()) {
        if (b.statics[k].second != bytes)
            block_fault(strf("thread %d declares __shared__ object %zu with %zu bytes, another thread with %zu",
                             g_cur->idx, k, bytes, b.statics[k].second));
        return b.statics[k].first;
    }
    void* p = nullptr;
    if (posix_memalign(&p, std::max<size_t>(align, sizeof(void*)), bytes ? bytes : 1)) abort();
    poison_fill(p, bytes, b.poison);
    b.statics.emplace_back(p, bytes);
    b.static_total += bytes;
    const int limit = optin_of(g_model);
    if (b.static_total > (size_t)kDefaultSmem)
        block_fault(strf("%zu bytes of static __shared__ memory (more than 48 KiB does not compile)", b.static_total));
    else if (b.static_total + b.dyn_bytes > (size_t)limit)
        block_fault(strf("%zu bytes of static + %zu of dynamic shared memory exceed the device's %d per block",
                         b.static_total, b.dyn_bytes, limit));
    return p;
}

cudaError_t func_set_attribute(const void* func, cudaFuncAttribute attr, int value) {
    Lock l;
    if (!device_ok(t_dev)) return set_err(cudaErrorNoDevice);
    if (!func) return set_err(cudaErrorInvalidDeviceFunction);
    g_stats.func_attribute_sets++;
    if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
        if (value < 0 || value > optin_of(g_model)) return set_err(cudaErrorInvalidValue);
        g_dev[(size_t)t_dev].max_dyn[func] = value;
        return cudaSuccess;
    }
    if (attr == cudaFuncAttributePreferredSharedMemoryCarveout) return cudaSuccess;
    return set_err(cudaErrorInvalidValue);
}

namespace {
int max_dyn_of(int dev, const void* func) {
    auto& m = g_dev[(size_t)dev].max_dyn;
    auto it = m.find(func);
    return it == m.end() ? default_smem(g_model) : it->second;
}
}  // namespace

cudaError_t occupancy(int* blocks, const void* func, int threads, size_t smem) {
    Lock l;
    if (!blocks) return set_err(cudaErrorInvalidValue);
    *blocks = 0;
    if (!device_ok(t_dev)) return set_err(cudaErrorNoDevice);
    const Model* m = g_model;
    if (threads <= 0 || threads > 1024) return set_err(cudaErrorInvalidValue);
    if (smem > (size_t)max_dyn_of(t_dev, func)) return cudaSuccess;  // does not fit: 0 blocks
    const int warps = (threads + 31) / 32;
    int n = std::min(m->blocks_sm, m->threads_sm / (warps * 32));
    const size_t per_block = smem + (size_t)m->reserved;
    if (per_block > 0) n = std::min<int64_t>(n, (int64_t)((size_t)m->per_sm / per_block));
    *blocks = std::max(0, n);
    return cudaSuccess;
}

void run_launch(const LaunchConfig& cfg, void (*body)(void*), void* ctx, const void* const* ptrs, int nptrs) {
    Lock l;
    g_stats.launches++;
    const int dev = t_dev;
    auto refuse = [&](cudaError_t e) {
        g_stats.launch_errors++;
        set_err(e);
    };
    if (!device_ok(dev)) return refuse(cudaErrorNoDevice);
    if (check_stream(cfg.stream, dev) != cudaSuccess) return refuse(cudaErrorInvalidResourceHandle);
    const dim3 B = cfg.block, G = cfg.grid;
    const uint64_t nthreads = (uint64_t)B.x * B.y * B.z;
    if (B.x == 0 || B.y == 0 || B.z == 0 || B.x > 1024 || B.y > 1024 || B.z > 64 || nthreads > 1024)
        return refuse(cudaErrorInvalidConfiguration);
    if (G.x == 0 || G.y == 0 || G.z == 0 || G.x > 2147483647u || G.y > 65535 || G.z > 65535)
        return refuse(cudaErrorInvalidConfiguration);
    if (cfg.smem > (size_t)optin_of(g_model) || cfg.smem > (size_t)max_dyn_of(dev, cfg.func))
        return refuse(cudaErrorInvalidValue);
    for (int i = 0; i < nptrs; i++) {
        if (!ptrs[i]) continue;
        const Alloc* a = find_alloc(ptrs[i], 0);
        if (!a || a->device != dev) {
            record_fault(dev, a ? strf("kernel argument pointer %p is memory of device %d; the kernel runs on device %d",
                                       ptrs[i], a->device, dev)
                                : strf("kernel argument pointer %p is not device memory (an illegal address on a GPU)",
                                       ptrs[i]));
            return;
        }
    }

    LaunchState L;
    L.cfg = &cfg;
    L.body = body;
    L.ctx = ctx;
    L.device = dev;
    g_launch = &L;
    const uint64_t nblocks = (uint64_t)G.x * G.y * G.z;
    Snapshot before, after0;
    const int orders = g_orders;
    if (orders > 1) before.take();
    Block b;
    std::string fault;
    static uint64_t launch_seq = 0;
    const uint64_t seed = 0x5EED0000ull + launch_seq++;
    for (int r = 0; r < orders && fault.empty(); r++) {
        if (r > 0) before.restore();
        b.poison = kSharedPoison[r];
        g_count_on = r == 0;
        // Block order: ascending, descending, or an affine permutation (k * a + c) mod n.
        uint64_t a = 1, c0 = 0;
        if (r == 2 && nblocks > 1) {
            Rng rng{seed};
            a = rng.next() % nblocks | 1;
            while (std::gcd(a, nblocks) != 1) a += 2;
            c0 = rng.next() % nblocks;
        }
        for (uint64_t k = 0; k < nblocks; k++) {
            const uint64_t lin = r == 0 ? k : r == 1 ? nblocks - 1 - k : (uint64_t)(((__uint128_t)k * a + c0) % nblocks);
            const uint3 bid{(unsigned)(lin % G.x), (unsigned)((lin / G.x) % G.y), (unsigned)(lin / ((uint64_t)G.x * G.y))};
            if (!run_block(L, b, bid, r, seed ^ (lin * 0x9E3779B97F4A7C15ull), r == 0 ? &L.acc : nullptr)) {
                fault = strf("%s, block (%u,%u,%u) of (%u,%u,%u), threads in %s order: %s", kernel_name(L.kname).c_str(),
                             bid.x, bid.y, bid.z, G.x, G.y, G.z, kOrderName[r], b.fault.c_str());
                break;
            }
            if (r == 0) {
                g_stats.blocks++;
                g_stats.threads += (int64_t)nthreads;
            } else {
                g_stats.replays++;
            }
        }
        if (!fault.empty()) break;
        if (r == 0 && orders > 1) after0.take();
        if (r > 0) {
            const std::string d = after0.diff();
            if (!d.empty())
                fault = strf("%s: device memory after the %s replay differs from the ascending run (a race or an "
                             "uninitialised shared read): %s",
                             kernel_name(L.kname).c_str(), kOrderName[r], d.c_str());
        }
    }
    g_count_on = false;
    KStats& ks = g_kstats[kernel_name(L.kname)];
    ks.launches++;
    ks.threads += L.acc.threads, ks.barriers += L.acc.barriers;
    ks.gl += L.acc.gl, ks.gs += L.acc.gs, ks.sl += L.acc.sl, ks.ss += L.acc.ss, ks.local += L.acc.local;
    g_launch = nullptr;
    if (!fault.empty()) record_fault(dev, fault);
}

// ---- counting build: memory accesses through the ThreadSanitizer instrumentation hooks -----
#ifdef SA_EMU_COUNT_ACCESSES
namespace {
uintptr_t g_hit_lo = 0, g_hit_hi = 0;  // the device allocation of the last global hit
void count(const void* p, size_t n, bool write) {
    if (!g_count_on || !g_cur || !g_block || !g_launch) return;
    const uintptr_t a = (uintptr_t)p;
    KStats& k = g_launch->acc;
    const int64_t words = (int64_t)((n + 3) / 4);
    const uintptr_t st = (uintptr_t)g_cur->stack;
    if (a >= st && a < st + stack_bytes()) {
        k.local += words;
        return;
    }
    Block& b = *g_block;
    if (a >= (uintptr_t)b.dyn && a < (uintptr_t)b.dyn + b.dyn_bytes) {
        (write ? k.ss : k.sl) += words;
        return;
    }
    for (auto& s : b.statics)
        if (a >= (uintptr_t)s.first && a < (uintptr_t)s.first + s.second) {
            (write ? k.ss : k.sl) += words;
            return;
        }
    if (!(a >= g_hit_lo && a < g_hit_hi)) {
        uintptr_t base;
        const Alloc* al = find_alloc(p, 1, &base);
        if (!al) return;  // the kernel's parameters, the emulator's own state
        g_hit_lo = base;
        g_hit_hi = base + al->size;
    }
    (write ? k.gs : k.gl) += words;
}
}  // namespace
#endif

}  // namespace sa_emu

#ifdef SA_EMU_COUNT_ACCESSES
// The kernels of the counting build are compiled with -fsanitize=thread and linked without
// its runtime: every load and store calls one of these.
extern "C" {
#define SA_EMU_RW(n)                                                                         \
    SA_EMU_API void __tsan_read##n(void* p) { sa_emu::count(p, n, false); }                  \
    SA_EMU_API void __tsan_write##n(void* p) { sa_emu::count(p, n, true); }                  \
    SA_EMU_API void __tsan_unaligned_read##n(void* p) { sa_emu::count(p, n, false); }        \
    SA_EMU_API void __tsan_unaligned_write##n(void* p) { sa_emu::count(p, n, true); }
SA_EMU_RW(1)
SA_EMU_RW(2)
SA_EMU_RW(4)
SA_EMU_RW(8)
SA_EMU_RW(16)
SA_EMU_API void __tsan_read_range(void* p, unsigned long n) { sa_emu::count(p, n, false); }
SA_EMU_API void __tsan_write_range(void* p, unsigned long n) { sa_emu::count(p, n, true); }
SA_EMU_API void __tsan_func_entry(void*) {}
SA_EMU_API void __tsan_func_exit() {}
SA_EMU_API void __tsan_init() {}
SA_EMU_API void __tsan_vptr_update(void**, void*) {}
SA_EMU_API void __tsan_vptr_read(void**) {}
SA_EMU_API char __tsan_atomic8_load(const volatile char* a, int) { return __atomic_load_n(a, __ATOMIC_SEQ_CST); }
SA_EMU_API void __tsan_atomic8_store(volatile char* a, char v, int) { __atomic_store_n(a, v, __ATOMIC_SEQ_CST); }
SA_EMU_API int __tsan_atomic32_load(const volatile int* a, int) { return __atomic_load_n(a, __ATOMIC_SEQ_CST); }
SA_EMU_API void __tsan_atomic32_store(volatile int* a, int v, int) { __atomic_store_n(a, v, __ATOMIC_SEQ_CST); }
SA_EMU_API long __tsan_atomic64_load(const volatile long* a, int) { return __atomic_load_n(a, __ATOMIC_SEQ_CST); }
SA_EMU_API void __tsan_atomic64_store(volatile long* a, long v, int) { __atomic_store_n(a, v, __ATOMIC_SEQ_CST); }
SA_EMU_API int __tsan_atomic32_compare_exchange_strong(volatile int* a, int* c, int v, int, int) {
    return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
SA_EMU_API int __tsan_atomic32_compare_exchange_weak(volatile int* a, int* c, int v, int, int) {
    return __atomic_compare_exchange_n(a, c, v, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
SA_EMU_API int __tsan_atomic32_fetch_or(volatile int* a, int v, int) { return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST); }
SA_EMU_API void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
SA_EMU_API void __tsan_atomic_signal_fence(int) {}
}
#endif

// ---- the runtime API ---------------------------------------------------------------------------

using namespace sa_emu;

const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInitializationError: return "cudaErrorInitializationError";
        case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
        case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
        case cudaErrorInvalidDeviceFunction: return "cudaErrorInvalidDeviceFunction";
        case cudaErrorNoDevice: return "cudaErrorNoDevice";
        case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
        case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
        case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
        case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
        case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
        case cudaErrorNotSupported: return "cudaErrorNotSupported";
    }
    return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "no error";
        case cudaErrorInvalidValue: return "invalid argument";
        case cudaErrorMemoryAllocation: return "out of memory";
        case cudaErrorInitializationError: return "initialization error";
        case cudaErrorInvalidConfiguration: return "invalid configuration argument";
        case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
        case cudaErrorInvalidDeviceFunction: return "invalid device function";
        case cudaErrorNoDevice: return "no CUDA-capable device is detected (emulated GPU: SA_EMU_DEVICE=none)";
        case cudaErrorInvalidDevice: return "invalid device ordinal";
        case cudaErrorInvalidResourceHandle: return "invalid resource handle";
        case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
        case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
        case cudaErrorLaunchFailure: {
            std::lock_guard<std::mutex> g(g_mu);
            snprintf(t_errbuf, sizeof t_errbuf, "unspecified launch failure (emulated GPU: %s)", g_last_fault.c_str());
            return t_errbuf;
        }
        case cudaErrorNotSupported: return "operation not supported";
    }
    return "unknown error";
}

cudaError_t cudaGetLastError(void) {
    Lock l;
    const cudaError_t e = t_last;
    t_last = cudaSuccess;
    if (e == cudaErrorLaunchFailure && device_ok(t_dev)) g_dev[(size_t)t_dev].pending = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) { return t_last; }

cudaError_t cudaGetDeviceCount(int* count) {
    Lock l;
    if (!count) return set_err(cudaErrorInvalidValue);
    *count = g_count;
    return g_count == 0 ? set_err(cudaErrorNoDevice) : cudaSuccess;
}

cudaError_t cudaGetDevice(int* dev) {
    Lock l;
    if (!dev) return set_err(cudaErrorInvalidValue);
    if (g_count == 0) return set_err(cudaErrorNoDevice);
    *dev = t_dev;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int dev) {
    Lock l;
    if (g_count == 0) return set_err(cudaErrorNoDevice);
    if (!device_ok(dev)) return set_err(cudaErrorInvalidDevice);
    t_dev = dev;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int dev) {
    Lock l;
    if (!p) return set_err(cudaErrorInvalidValue);
    if (g_count == 0) return set_err(cudaErrorNoDevice);
    if (!device_ok(dev)) return set_err(cudaErrorInvalidDevice);
    const Model* m = g_model;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "emulated %s (%s)", m->name, m->desc);
    p->totalGlobalMem = (size_t)m->mem;
    p->sharedMemPerBlock = (size_t)default_smem(m);
    p->sharedMemPerBlockOptin = (size_t)optin_of(m);
    p->sharedMemPerMultiprocessor = (size_t)m->per_sm;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsDim[0] = 1024, p->maxThreadsDim[1] = 1024, p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 2147483647, p->maxGridSize[1] = 65535, p->maxGridSize[2] = 65535;
    p->major = m->major;
    p->minor = m->minor;
    p->multiProcessorCount = m->sms;
    p->maxThreadsPerMultiProcessor = m->threads_sm;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr attr, int dev) {
    Lock l;
    if (!v) return set_err(cudaErrorInvalidValue);
    if (g_count == 0) return set_err(cudaErrorNoDevice);
    if (!device_ok(dev)) return set_err(cudaErrorInvalidDevice);
    const Model* m = g_model;
    switch (attr) {
        case cudaDevAttrMaxThreadsPerBlock: *v = 1024; break;
        case cudaDevAttrMaxBlockDimX: *v = 1024; break;
        case cudaDevAttrMaxBlockDimY: *v = 1024; break;
        case cudaDevAttrMaxBlockDimZ: *v = 64; break;
        case cudaDevAttrMaxGridDimX: *v = 2147483647; break;
        case cudaDevAttrMaxGridDimY: *v = 65535; break;
        case cudaDevAttrMaxGridDimZ: *v = 65535; break;
        case cudaDevAttrMaxSharedMemoryPerBlock: *v = default_smem(m); break;
        case cudaDevAttrWarpSize: *v = 32; break;
        case cudaDevAttrMultiProcessorCount: *v = m->sms; break;
        case cudaDevAttrComputeCapabilityMajor: *v = m->major; break;
        case cudaDevAttrComputeCapabilityMinor: *v = m->minor; break;
        case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *v = m->per_sm; break;
        case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = optin_of(m); break;
        case cudaDevAttrMemoryPoolsSupported: *v = m->pools ? 1 : 0; break;
        case cudaDevAttrReservedSharedMemoryPerBlock: *v = m->reserved; break;
        default: return set_err(cudaErrorInvalidValue);
    }
    return cudaSuccess;
}

namespace {
cudaError_t sync_dev(int dev) {
    if (!device_ok(dev)) return set_err(cudaErrorNoDevice);
    const cudaError_t e = g_dev[(size_t)dev].pending;
    g_dev[(size_t)dev].pending = cudaSuccess;
    if (e != cudaSuccess && t_last == e) t_last = cudaSuccess;
    return e;
}

cudaError_t do_malloc(void** p, size_t bytes) {
    if (!p) return set_err(cudaErrorInvalidValue);
    *p = nullptr;
    if (!device_ok(t_dev)) return set_err(cudaErrorNoDevice);
    if (bytes == 0) return cudaSuccess;
    int64_t used = 0;
    for (auto& a : g_allocs)
        if (a.second.device == t_dev) used += (int64_t)a.second.size;
    if ((long long)bytes > g_model->mem - used) return set_err(cudaErrorMemoryAllocation);
    void* m = nullptr;
    if (posix_memalign(&m, 256, bytes)) return set_err(cudaErrorMemoryAllocation);
    poison_fill(m, bytes, kGlobalPoison);
    g_allocs[(uintptr_t)m] = Alloc{bytes, t_dev};
    g_stats.live_allocations++;
    g_stats.live_bytes += (int64_t)bytes;
    *p = m;
    return cudaSuccess;
}

cudaError_t do_free(void* p) {
    if (!p) return cudaSuccess;
    auto it = g_allocs.find((uintptr_t)p);
    if (it == g_allocs.end()) return set_err(cudaErrorInvalidValue);
    g_stats.live_allocations--;
    g_stats.live_bytes -= (int64_t)it->second.size;
    g_allocs.erase(it);
    free(p);
    return cudaSuccess;
}

cudaError_t do_copy(void* dst, const void* src, size_t n, cudaMemcpyKind kind) {
    if (n == 0) return cudaSuccess;
    if (!dst || !src) return set_err(cudaErrorInvalidValue);
    const Alloc* ad = find_alloc(dst, n);
    const Alloc* as = find_alloc(src, n);
    const bool dd = find_alloc(dst, 0) != nullptr, sd = find_alloc(src, 0) != nullptr;
    bool ok;
    switch (kind) {
        case cudaMemcpyHostToDevice: ok = ad && !sd; break;
        case cudaMemcpyDeviceToHost: ok = as && !dd; break;
        case cudaMemcpyDeviceToDevice: ok = ad && as; break;
        case cudaMemcpyHostToHost: ok = !dd && !sd; break;
        case cudaMemcpyDefault: ok = (!dd || ad) && (!sd || as); break;
        default: ok = false;
    }
    if (!ok) return set_err(cudaErrorInvalidValue);
    memmove(dst, src, n);
    return cudaSuccess;
}
}  // namespace

cudaError_t cudaDeviceSynchronize(void) {
    Lock l;
    return sync_dev(t_dev);
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
    Lock l;
    return do_malloc(p, bytes);
}

cudaError_t cudaFree(void* p) {
    Lock l;
    return do_free(p);
}

cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t s) {
    Lock l;
    if (p) *p = nullptr;
    if (!device_ok(t_dev)) return set_err(cudaErrorNoDevice);
    if (check_stream(s, t_dev) != cudaSuccess) return set_err(cudaErrorInvalidResourceHandle);
    if (!g_model->pools) return set_err(cudaErrorNotSupported);
    return do_malloc(p, bytes);
}

cudaError_t cudaFreeAsync(void* p, cudaStream_t s) {
    Lock l;
    if (!device_ok(t_dev)) return set_err(cudaErrorNoDevice);
    if (check_stream(s, t_dev) != cudaSuccess) return set_err(cudaErrorInvalidResourceHandle);
    if (!g_model->pools) return set_err(cudaErrorNotSupported);
    return do_free(p);
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind kind) {
    Lock l;
    if (!device_ok(t_dev)) return set_err(cudaErrorNoDevice);
    const cudaError_t e = sync_dev(t_dev);
    if (e != cudaSuccess) return e;
    return do_copy(dst, src, n, kind);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind, cudaStream_t s) {
    Lock l;
    if (!device_ok(t_dev)) return set_err(cudaErrorNoDevice);
    if (check_stream(s, t_dev) != cudaSuccess) return set_err(cudaErrorInvalidResourceHandle);
    return do_copy(dst, src, n, kind);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags) {
    Lock l;
    if (!s) return set_err(cudaErrorInvalidValue);
    if (!device_ok(t_dev)) return set_err(cudaErrorNoDevice);
    if (flags > 1) return set_err(cudaErrorInvalidValue);
    CUstream_st* h = (CUstream_st*)malloc(1);
    g_stream_info[h] = StreamInfo{t_dev};
    *s = h;
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, 0); }

cudaError_t cudaStreamDestroy(cudaStream_t s) {
    Lock l;
    auto it = g_stream_info.find(s);
    if (!s || it == g_stream_info.end()) return set_err(cudaErrorInvalidResourceHandle);
    g_stream_info.erase(it);
    free(s);
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    Lock l;
    int dev = t_dev;
    if (s) {
        auto it = g_stream_info.find(s);
        if (it == g_stream_info.end()) return set_err(cudaErrorInvalidResourceHandle);
        dev = it->second.device;
    }
    return sync_dev(dev);
}

cudaError_t cudaStreamGetDevice(cudaStream_t s, int* device) {
    Lock l;
    if (!device) return set_err(cudaErrorInvalidValue);
    if (!s) {  // the legacy default stream: the current device's
        if (!device_ok(t_dev)) return set_err(cudaErrorNoDevice);
        *device = t_dev;
        return cudaSuccess;
    }
    auto it = g_stream_info.find(s);
    if (it == g_stream_info.end()) return set_err(cudaErrorInvalidResourceHandle);
    *device = it->second.device;
    return cudaSuccess;
}

// As CUDA 11+: memory the runtime does not know is cudaMemoryTypeUnregistered (not an error).
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* p) {
    Lock l;
    if (!a) return set_err(cudaErrorInvalidValue);
    if (g_count == 0) return set_err(cudaErrorNoDevice);  // as the runtime without a GPU
    const Alloc* al = p ? find_alloc(p, 0) : nullptr;
    a->type = al ? cudaMemoryTypeDevice : cudaMemoryTypeUnregistered;
    a->device = al ? al->device : -2;
    a->devicePointer = al ? const_cast<void*>(p) : nullptr;
    a->hostPointer = al ? nullptr : const_cast<void*>(p);
    return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* v) {
    if (!v) return set_err(cudaErrorInvalidValue);
    *v = CUDART_VERSION;
    return cudaSuccess;
}

// Memory pools: a pool is its device; memory from it is ordinary emulated device memory (the
// emulation does not model the pool's caching, only its API and its device).
struct CUmemPoolHandle_st {
    int device;
};
namespace {
std::set<CUmemPoolHandle_st*> g_pools;
}

cudaError_t cudaMemPoolCreate(cudaMemPool_t* pool, const cudaMemPoolProps* props) {
    Lock l;
    if (!pool || !props) return set_err(cudaErrorInvalidValue);
    *pool = nullptr;
    if (props->allocType != cudaMemAllocationTypePinned || props->location.type != cudaMemLocationTypeDevice ||
        !device_ok(props->location.id))
        return set_err(cudaErrorInvalidValue);
    if (!g_model->pools) return set_err(cudaErrorNotSupported);
    CUmemPoolHandle_st* h = new CUmemPoolHandle_st{props->location.id};
    g_pools.insert(h);
    g_stats.pools_created++;
    *pool = h;
    return cudaSuccess;
}

cudaError_t cudaMemPoolDestroy(cudaMemPool_t pool) {
    Lock l;
    if (!g_pools.erase(pool)) return set_err(cudaErrorInvalidValue);
    delete pool;
    return cudaSuccess;
}

cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, cudaMemPoolAttr attr, void* value) {
    Lock l;
    if (!g_pools.count(pool) || !value || attr != cudaMemPoolAttrReleaseThreshold) return set_err(cudaErrorInvalidValue);
    return cudaSuccess;
}

cudaError_t cudaMemPoolTrimTo(cudaMemPool_t pool, size_t) {
    Lock l;
    if (!g_pools.count(pool)) return set_err(cudaErrorInvalidValue);
    return cudaSuccess;
}

cudaError_t cudaMallocFromPoolAsync(void** p, size_t bytes, cudaMemPool_t pool, cudaStream_t s) {
    Lock l;
    if (p) *p = nullptr;
    if (!g_pools.count(pool)) return set_err(cudaErrorInvalidValue);
    // The stream must be of the pool's device (CUDA: cudaErrorInvalidValue otherwise).
    if (check_stream(s, pool->device) != cudaSuccess || (!s && t_dev != pool->device)) return set_err(cudaErrorInvalidValue);
    const int saved = t_dev;
    t_dev = pool->device;
    const cudaError_t e = do_malloc(p, bytes);
    t_dev = saved;
    if (e == cudaSuccess) g_stats.pool_allocations++;
    return e;
}

// ---- control (sa_emu.h) ----------------------------------------------------------------------

extern "C" {

int sa_emu_select(const char* model, int count) {
    Lock l;
    if (!g_allocs.empty() || !g_stream_info.empty()) return 1;
    const Model* m = nullptr;
    for (int i = 0; i < kNumModels; i++)
        if (model && !strcmp(model, kModels[i].name)) m = &kModels[i];
    if (!m || count < 0) return 1;
    g_model = m;
    g_count = count;
    g_dev.assign((size_t)std::max(1, count), Device());
    if (t_dev >= std::max(1, count)) t_dev = 0;
    return 0;
}

const char* sa_emu_model_name(int i) { return i >= 0 && i < kNumModels ? kModels[i].name : nullptr; }
const char* sa_emu_current_model(void) {
    Lock l;
    return g_count == 0 ? "none" : g_model->name;
}

void sa_emu_set_smem_cap(int bytes) {
    Lock l;
    g_smem_cap = std::max(0, bytes);
    for (auto& d : g_dev) d.max_dyn.clear();  // attributes above the new limit are void
}

void sa_emu_set_orders(int n) {
    Lock l;
    g_orders = std::min(3, std::max(1, n));
}

void sa_emu_set_late_faults(int late) {
    Lock l;
    g_late_faults = late != 0;
}

void sa_emu_set_quiet(int q) {
    Lock l;
    g_quiet = q != 0;
}

void sa_emu_get_stats(sa_emu_stats* s) {
    Lock l;
    if (s) *s = g_stats;
}

const char* sa_emu_last_fault(void) {
    Lock l;
    snprintf(t_errbuf, sizeof t_errbuf, "%s", g_last_fault.c_str());
    return t_errbuf;
}

void sa_emu_reset_fault(void) {
    Lock l;
    g_last_fault.clear();
    for (auto& d : g_dev) d.pending = cudaSuccess;
    t_last = cudaSuccess;
}

int sa_emu_kernel_count(void) {
    Lock l;
    return (int)g_kstats.size();
}

int sa_emu_kernel_get(int i, sa_emu_kernel_stats* out) {
    Lock l;
    if (!out || i < 0 || i >= (int)g_kstats.size()) return 1;
    auto it = g_kstats.begin();
    std::advance(it, i);
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", it->first.c_str());
    const KStats& k = it->second;
    out->launches = k.launches;
    out->threads = k.threads;
    out->barriers = k.barriers;
#ifdef SA_EMU_COUNT_ACCESSES
    out->global_loads = k.gl, out->global_stores = k.gs, out->shared_loads = k.sl, out->shared_stores = k.ss;
    out->local_accesses = k.local;
#else
    out->global_loads = out->global_stores = out->shared_loads = out->shared_stores = out->local_accesses = -1;
#endif
    return 0;
}

void sa_emu_kernel_reset(void) {
    Lock l;
    g_kstats.clear();
}

int sa_emu_counting(void) {
#ifdef SA_EMU_COUNT_ACCESSES
    return 1;
#else
    return 0;
#endif
}

}  // extern "C"
