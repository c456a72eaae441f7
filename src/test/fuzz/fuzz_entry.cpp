// libFuzzer target over the C entry points of spatialact.h (CPU backend and library calls).
//
// Every input decodes into one call: which entry point, the CPU instruction set, a shape, a
// parameter block (each field kept at its default or replaced by a special value: NaN, +-Inf,
// -0, denormals, FLT_MAX, INT_MIN, ... or raw bits), and the tensors, allocated with exactly the
// size the shape implies (so AddressSanitizer sees any access outside them), sometimes NULL,
// misaligned, the same buffer as another argument or partly overlapping it. Outputs are filled
// with a sentinel. Besides "no sanitizer report", the harness checks:
//   - the status is one of the SA_* codes;
//   - a failing call left a non-empty sa_last_error() that names the entry point (the previous
//     message is replaced by a marker before each call), and every output byte untouched;
//   - the status agrees with a model of the header's contract: a call the model knows to be
//     invalid (NULL, misaligned, forbidden overlap, a parameter out of its documented range, a
//     bad shape) fails with SA_ERR_INVALID_ARGUMENT, and a call the model knows to be valid
//     succeeds. Gradients that are not implemented yet must say SA_ERR_NOT_IMPLEMENTED.
// Work is bounded: at most 1 << 16 elements (1 << 14 for TD/NTD) and a cap on the Gaussian and
// nonlocal work per call, so one run takes milliseconds even under the sanitizers.
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "spatialact/spatialact.h"

namespace {

constexpr int64_t kCap = int64_t(1) << 16;
constexpr int64_t kCapTd = int64_t(1) << 14;
constexpr double kWorkCap = 1e6;  // Gaussian / nonlocal taps per call
constexpr int64_t kShapeLimit = INT64_MAX / 16;  // check_shape's bound on the element count
const float kSentinel = -12345.678f;

// ---- input decoding -------------------------------------------------------------------
struct In {
    const uint8_t* d;
    size_t n, i = 0;
    uint8_t u8() { return i < n ? d[i++] : 0; }
    bool more() const { return i < n; }
    uint32_t u32() {
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) v |= (uint32_t)u8() << (8 * k);
        return v;
    }
    uint64_t u64() { return (uint64_t)u32() | ((uint64_t)u32() << 32); }
    // True with probability 1/k; false once the input is used up (defaults from then on).
    bool one_in(int k) { return i < n && d[i++] % k == 0; }
};

float special_float(In& in) {
    static const float table[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, -1.0f, 1e-45f, FLT_MIN, FLT_MAX,
                                  -FLT_MAX, 0.5f, 0.99999994f, 1.0f, 3.0f, 40.0f, 11.0f, 1e-7f, -1e-30f, 2.0f};
    uint8_t s = in.u8();
    if (s < 200) return table[s % (sizeof table / sizeof table[0])];
    uint32_t bits = in.u32();
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float fz_float(In& in, float dflt) { return in.one_in(4) ? special_float(in) : dflt; }

int32_t fz_int(In& in, int32_t dflt) {
    static const int32_t table[] = {0, -1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 32, 33, 1000, 1001, INT_MAX, INT_MIN, 48, 225, 226};
    if (!in.one_in(4)) return dflt;
    uint8_t s = in.u8();
    if (s < 220) return table[s % (sizeof table / sizeof table[0])];
    return (int32_t)in.u32();
}

bool finite(float v) { return isfinite(v); }

// ---- shapes ---------------------------------------------------------------------------
struct Shape {
    sa_shape s{1, 1, 1, 1};
    bool valid = true;   // passes check_shape
    bool small = true;   // valid and at most the cap: buffers can be allocated
    int64_t numel = 1;
};

int64_t numel_of(const sa_shape& s) { return s.n * s.c * s.h * s.w; }

void shrink_to(sa_shape& s, int64_t cap) {
    while (numel_of(s) > cap) {
        int64_t* dims[4] = {&s.w, &s.h, &s.c, &s.n};
        int64_t* big = dims[0];
        for (int64_t* d : dims)
            if (*d > *big) big = d;
        *big = (*big + 1) / 2;
    }
}

Shape decode_shape(In& in, int64_t cap) {
    Shape r;
    uint8_t mode = in.u8();
    sa_shape& s = r.s;
    s.n = 1 + in.u8() % 3;
    s.c = 1 + in.u8() % 6;
    s.h = 1 + in.u8() % 70;
    s.w = 1 + in.u8() % 70;
    if (mode < 216) {
        if (mode % 9 == 0) s.w = 1 + in.u32() % 5000;  // long rows: several column tiles
        if (mode % 9 == 1) s.h = 1 + in.u32() % 5000;
        shrink_to(s, cap);
    } else {
        int64_t* dims[4] = {&s.n, &s.c, &s.h, &s.w};
        switch (mode % 4) {
            case 0: *dims[in.u8() % 4] = -(int64_t)in.u32(); break;  // <= 0
            case 1: *dims[in.u8() % 4] = INT64_MIN; break;
            case 2:  // product far beyond INT64_MAX / 16
                s.h = (int64_t(1) << 31) + in.u32();
                s.w = (int64_t(1) << 31) + in.u32();
                break;
            default:  // raw dimensions
                for (int64_t* d : dims) *d = (int64_t)in.u64();
                break;
        }
        bool pos = s.n >= 1 && s.c >= 1 && s.h >= 1 && s.w >= 1;
        // Stepwise: a partial product within kShapeLimit (< 2^63) times a factor below 2^63
        // fits __int128; three raw factors need not (2^189), which UBSan found.
        __int128 prod = pos ? (__int128)s.n : 0;
        bool fits = pos && prod <= kShapeLimit;
        for (int64_t d : {s.c, s.h, s.w}) {
            if (!fits) break;
            prod *= d;
            fits = prod <= kShapeLimit;
        }
        r.valid = fits;
        r.small = r.valid && prod <= cap;
    }
    if (r.small) r.numel = numel_of(s);
    return r;
}

// ---- memory ---------------------------------------------------------------------------
uint64_t g_rng = 1;
float next_value() {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t v = (uint32_t)(g_rng >> 33);
    if (v % 97 == 0) {
        static const float sp[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, FLT_MAX, 1e-40f};
        return sp[v % 7];
    }
    return ((float)(v % 20001) - 10000.0f) / 2500.0f;
}

struct Block {
    std::vector<float> data;
    bool output = false;
    std::vector<float> snapshot;
};

struct Mem {
    std::vector<std::unique_ptr<Block>> blocks;
    Block* alloc(int64_t count, bool output) {
        blocks.emplace_back(new Block);
        Block* b = blocks.back().get();
        b->data.resize((size_t)(count < 1 ? 1 : count));
        b->output = output;
        if (output) {
            for (float& v : b->data) v = kSentinel;
        } else {
            for (float& v : b->data) v = next_value();
        }
        return b;
    }
    void mark_output(Block* b) {
        if (!b->output) {
            b->output = true;
            for (float& v : b->data) v = kSentinel;
        }
    }
    void snap() {
        for (auto& b : blocks)
            if (b->output) b->snapshot = b->data;
    }
    bool untouched() const {
        for (auto& b : blocks)
            if (b->output && memcmp(b->snapshot.data(), b->data.data(), b->data.size() * sizeof(float)) != 0) return false;
        return true;
    }
};

// The call being built: what the model expects, and a description for reports.
struct Call {
    const char* fn = "";
    bool invalid = false;   // the model knows it must fail with SA_ERR_INVALID_ARGUMENT
    bool unknown = false;   // the model makes no claim (e.g. raw shapes it cannot allocate)
    bool not_implemented = false;
    std::string why;
    void bad(const char* reason) {
        invalid = true;
        if (why.size() < 300) {
            why += reason;
            why += "; ";
        }
    }
};

// A tensor argument: normally a fresh block of `count` floats; sometimes NULL or misaligned.
float* tensor(In& in, Mem& mem, Call& call, const char* name, int64_t count, bool output, Block** out_block = nullptr) {
    uint8_t k = in.one_in(14) ? 1 + in.u8() % 3 : 0;
    if (k == 1) {
        call.bad(name);
        call.bad("NULL");
        if (out_block) *out_block = nullptr;
        return nullptr;
    }
    Block* b = mem.alloc(count + (k == 2 ? 1 : 0), output);
    if (out_block) *out_block = b;
    if (k == 2) {
        call.bad(name);
        call.bad("misaligned");
        return reinterpret_cast<float*>(reinterpret_cast<char*>(b->data.data()) + 1 + in.u8() % 3);
    }
    return b->data.data();
}

// An output that may be the same buffer as the input *src, overlap it partly (then the input
// moves into a block that holds both), or be separate (returns NULL: the caller allocates).
// `same_ok` says whether the entry point allows output == input.
float* output_near(In& in, Mem& mem, Call& call, const char* name, int64_t numel, float** src, Block* src_block,
                   bool same_ok) {
    if (!*src || !src_block || !in.more()) return nullptr;  // used-up input: a separate output
    uint8_t m = in.u8() % 10;
    if (m == 0) {  // the same buffer
        mem.mark_output(src_block);
        if (!same_ok) {
            call.bad(name);
            call.bad("aliases the input");
        }
        return *src;
    }
    if (m == 1 && numel >= 2) {  // partial overlap, shifted by 1..numel-1 floats either way
        int64_t off = 1 + (int64_t)(in.u32() % (uint32_t)(numel - 1));
        Block* b = mem.alloc(numel + off, true);
        call.bad(name);
        call.bad("partly overlaps the input");
        bool out_first = in.u8() & 1;
        *src = out_first ? b->data.data() + off : b->data.data();
        return out_first ? b->data.data() : b->data.data() + off;
    }
    return nullptr;
}

// ---- the model of the parameter checks --------------------------------------------------
int td_radius_model(const sa_params& p) {
    if (p.radius > 0) return p.radius;
    double r = ceil(3.0 * (double)p.sigma);
    return r < 1.0 ? 1 : (r > 1e6 ? 1000000 : (int)r);
}

void check_td_model(const sa_params& p, Call& c) {
    if (!(p.alpha >= 0.0f && p.alpha < 1.0f)) c.bad("alpha");
    if (!(p.lambda >= 0.0f) || !finite(p.lambda)) c.bad("lambda");
    if (!(p.sigma > 0.0f) || !finite(p.sigma)) c.bad("sigma");
    if (!(p.eps >= 0.0f) || !finite(p.eps)) c.bad("eps");
    if (p.radius < 0) c.bad("radius < 0");
    else if ((p.sigma > 0.0f && finite(p.sigma)) && td_radius_model(p) > SA_TD_MAX_RADIUS) c.bad("radius too big");
    if (p.iterations < 0 || p.iterations > 1000) c.bad("iterations");
}

void check_ntd_model(const sa_params& p, Call& c) {
    check_td_model(p, c);
    bool search_ok = p.search >= 0 && p.search <= SA_NTD_MAX_SEARCH;
    if (!search_ok) c.bad("search");
    if (p.patch < 0 || p.patch > SA_NTD_MAX_PATCH) c.bad("patch");
    if (!(p.h > 0.0f) || !finite(p.h)) c.bad("h");
    if (search_ok) {
        int window = (2 * p.search + 1) * (2 * p.search + 1);
        if (p.knn < 0 || p.knn > window) c.bad("knn");
    }
    if (p.guide_channels < 0) c.bad("guide_channels < 0");
}

// Shrinks a valid shape until TD/NTD work fits the cap (only when the params are valid: an
// invalid call never runs).
void bound_td_work(Shape& sh, const sa_params& p, bool nonlocal) {
    if (!sh.small) return;
    for (;;) {
        double taps;
        if (nonlocal) {
            double win = (double)(2 * p.search + 1) * (2 * p.search + 1);
            taps = (double)sh.numel * ((double)p.iterations + 1) * win + (double)sh.numel * win * 2;
        } else {
            taps = (double)sh.numel * ((double)p.iterations + 1) * (2.0 * td_radius_model(p) + 1) * 2;
        }
        if (taps <= kWorkCap || sh.numel == 1) break;
        shrink_to(sh.s, sh.numel / 2 > 0 ? sh.numel / 2 : 1);
        sh.numel = numel_of(sh.s);
    }
}

// ---- reporting --------------------------------------------------------------------------
[[noreturn]] void violation(const Call& c, const char* what, int rc, const Shape& sh) {
    fprintf(stderr,
            "\nfuzz_entry: CONTRACT VIOLATION in %s: %s\n  status %d, sa_last_error \"%s\"\n  shape (%lld, %lld, %lld, %lld)"
            " valid=%d, model: invalid=%d (%s) unknown=%d\n",
            c.fn, what, rc, sa_last_error(), (long long)sh.s.n, (long long)sh.s.c, (long long)sh.s.h, (long long)sh.s.w,
            (int)sh.valid, (int)c.invalid, c.why.c_str(), (int)c.unknown);
    abort();
}

void verify(const Call& c, int rc, const Mem& mem, const Shape& sh) {
    if (rc < SA_OK || rc > SA_ERR_INTERNAL) violation(c, "status is not an SA_* code", rc, sh);
    if (rc != SA_OK) {
        const char* msg = sa_last_error();
        if (!msg || !*msg) violation(c, "failed with an empty sa_last_error()", rc, sh);
        if (!strstr(msg, c.fn)) violation(c, "the message does not name the entry point (stale message?)", rc, sh);
        if (!mem.untouched()) violation(c, "failed but wrote to an output", rc, sh);
    }
    if (c.not_implemented) {
        if (rc != SA_ERR_NOT_IMPLEMENTED) violation(c, "expected SA_ERR_NOT_IMPLEMENTED", rc, sh);
        return;
    }
    if (c.unknown) return;
    if (c.invalid && rc != SA_ERR_INVALID_ARGUMENT) violation(c, "invalid call did not fail with SA_ERR_INVALID_ARGUMENT", rc, sh);
    if (!c.invalid && rc != SA_OK) violation(c, "valid call failed", rc, sh);
}

// Each forward call goes, by a bit of the input, through its entry point or through the operator
// table's dispatch (sa_cpu_forward): the two must accept, reject and compute alike.
bool g_via_table = false;

// Replaces the thread's last message with a marker that names no entry point but sa_params_init.
void set_marker() { sa_params_init(nullptr); }

int best_isa() {
    int best = SA_ISA_BASELINE;
    for (int i = SA_ISA_BASELINE; i <= SA_ISA_AVX512; i++)
        if (sa_cpu_isa_supported(i)) best = i;
    return best;
}

enum Op { LEAKY_F, LEAKY_B, FRELU_F, FRELU_B, STAR_F, STAR_B, TD_F, TD_B, NTD_F, NTD_B, FOLD_BN, SETTINGS, NOPS };
const char* const kOpNames[NOPS] = {"leaky_relu_forward", "leaky_relu_backward", "frelu_forward", "frelu_backward",
                                    "star_forward", "star_backward", "td_lrelu_forward", "td_lrelu_backward",
                                    "ntd_lrelu_forward", "ntd_lrelu_backward", "frelu_fold_bn", "settings"};

// Calls per entry point and outcome (SA_FUZZ_STATS=1 prints them at exit): shows that the
// inputs reach the kernels, not only the argument checks.
long g_stats[NOPS][3];  // succeeded, rejected as invalid, other status
void print_stats() {
    long total = 0;
    fprintf(stderr, "fuzz_entry: calls per entry point (ok / rejected / other)\n");
    for (int i = 0; i < NOPS; i++) {
        fprintf(stderr, "  %-22s %8ld %8ld %8ld\n", kOpNames[i], g_stats[i][0], g_stats[i][1], g_stats[i][2]);
        total += g_stats[i][0] + g_stats[i][1] + g_stats[i][2];
    }
    fprintf(stderr, "  total %ld calls\n", total);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const int kBest = best_isa();
    static const bool kStats = [] {
        const char* e = getenv("SA_FUZZ_STATS");
        if (e && *e == '1') atexit(print_stats);
        return true;
    }();
    (void)kStats;
    In in{data, size};
    const int op = in.u8() % NOPS;
    g_via_table = in.u8() & 1;
    sa_cpu_set_isa(in.u8() % (kBest + 1));
    g_rng = in.u64() | 1;

    Mem mem;
    Call call;
    sa_params p;
    sa_params_init(&p);
    const bool params_null = in.one_in(40);
    int rc = 0;
    Shape sh;

    // Pointers that stand in for tensors of a shape the harness cannot allocate.
    auto dummy = [&](bool output) { return mem.alloc(16, output)->data.data(); };

    switch (op) {
        case LEAKY_F:
        case LEAKY_B: {
            call.fn = op == LEAKY_F ? "sa_cpu_leaky_relu_forward" : "sa_cpu_leaky_relu_backward";
            sh = decode_shape(in, kCap);
            p.alpha = fz_float(in, p.alpha);
            if (in.one_in(3)) p.alpha_per_channel = mem.alloc(sh.small ? sh.s.c : 1, false)->data.data();
            if (!p.alpha_per_channel && !finite(p.alpha)) call.bad("alpha");
            const int64_t n = sh.numel;
            Block *xb = nullptr, *dyb = nullptr;
            float* x = sh.small ? tensor(in, mem, call, "x", n, false, &xb) : dummy(false);
            float* dy = nullptr;
            if (op == LEAKY_B) dy = sh.small ? tensor(in, mem, call, "dy", n, false, &dyb) : dummy(false);
            float* y = nullptr;
            if (sh.small) {
                bool near_dy = op == LEAKY_B && (in.u8() & 1);
                y = near_dy ? output_near(in, mem, call, "dx", n, &dy, dyb, true)
                            : output_near(in, mem, call, "y", n, &x, xb, true);
                if (!y) y = tensor(in, mem, call, "y", n, true);
            } else {
                y = sh.valid ? nullptr : dummy(true);  // a valid big shape: a NULL output must fail
                if (sh.valid) call.bad("y NULL");
            }
            if (!sh.valid) call.bad("shape");
            mem.snap();
            set_marker();
            rc = op == LEAKY_F ? (g_via_table ? sa_cpu_forward(SA_OP_LEAKY_RELU, x, nullptr, y, sh.s, params_null ? nullptr : &p)
                                              : sa_cpu_leaky_relu_forward(x, y, sh.s, params_null ? nullptr : &p))
                               : sa_cpu_leaky_relu_backward(x, dy, y, sh.s, params_null ? nullptr : &p);
            break;
        }
        case FRELU_F:
        case FRELU_B: {
            call.fn = op == FRELU_F ? "sa_cpu_frelu_forward" : "sa_cpu_frelu_backward";
            call.not_implemented = op == FRELU_B;
            sh = decode_shape(in, kCap);
            p.k = fz_int(in, 1 + 2 * (in.u8() % 4));
            p.variant = fz_int(in, in.u8() & 1);
            bool k_ok = p.k >= 1 && p.k <= SA_FRELU_MAX_K && p.k % 2 == 1;
            bool v_ok = p.variant == SA_FRELU_FULL || p.variant == SA_FRELU_LIGHT;
            if (!k_ok) call.bad("k");
            if (!v_ok) call.bad("variant");
            int64_t wlen = (k_ok && v_ok) ? (p.variant == SA_FRELU_LIGHT ? 2 * p.k : (int64_t)p.k * p.k) : 1;
            int64_t C = sh.small ? sh.s.c : 1;
            p.weight = tensor(in, mem, call, "params.weight", C * wlen, false);
            if (in.one_in(2)) p.bias = mem.alloc(C, false)->data.data();
            Block* xb = nullptr;
            float* x = sh.small ? tensor(in, mem, call, "x", sh.numel, false, &xb) : dummy(false);
            float* y = nullptr;
            if (sh.small) {
                y = output_near(in, mem, call, "y", sh.numel, &x, xb, false);
                if (!y) y = tensor(in, mem, call, "y", sh.numel, true);
            } else {
                y = sh.valid ? nullptr : dummy(true);
                if (sh.valid) call.bad("y NULL");
            }
            if (!sh.valid) call.bad("shape");
            mem.snap();
            set_marker();
            if (op == FRELU_F) {
                rc = g_via_table ? sa_cpu_forward(SA_OP_FRELU, x, nullptr, y, sh.s, params_null ? nullptr : &p)
                                 : sa_cpu_frelu_forward(x, y, sh.s, params_null ? nullptr : &p);
            } else {
                float* dy = sh.small ? mem.alloc(sh.numel, false)->data.data() : dummy(false);
                rc = sa_cpu_frelu_backward(x, dy, y, sh.s, params_null ? nullptr : &p);
            }
            break;
        }
        case STAR_F:
        case STAR_B: {
            call.fn = op == STAR_F ? "sa_cpu_star_forward" : "sa_cpu_star_backward";
            call.not_implemented = op == STAR_B;
            sh = decode_shape(in, kCap);
            p.act = fz_int(in, in.u8() % 4);
            p.alpha = fz_float(in, p.alpha);
            if (p.act < SA_ACT_IDENTITY || p.act > SA_ACT_LEAKY_RELU) call.bad("act");
            else if (!finite(p.alpha)) call.bad("alpha");  // whatever the act (the contract of sa_check_params)
            Block *ab = nullptr, *bb = nullptr;
            float* a = sh.small ? tensor(in, mem, call, "a", sh.numel, false, &ab) : dummy(false);
            float* b;
            if (sh.small && a && in.one_in(6)) {
                b = a;  // a == b: allowed, inputs may alias each other
                bb = ab;
            } else {
                b = sh.small ? tensor(in, mem, call, "b", sh.numel, false, &bb) : dummy(false);
            }
            float* y = nullptr;
            if (sh.small) {
                bool near_b = in.u8() & 1;
                y = near_b ? output_near(in, mem, call, "y", sh.numel, &b, bb, true)
                           : output_near(in, mem, call, "y", sh.numel, &a, ab, true);
                if (!y) y = tensor(in, mem, call, "y", sh.numel, true);
            } else {
                y = sh.valid ? nullptr : dummy(true);
                if (sh.valid) call.bad("y NULL");
            }
            if (!sh.valid) call.bad("shape");
            mem.snap();
            set_marker();
            if (op == STAR_F) {
                rc = g_via_table ? sa_cpu_forward(SA_OP_STAR, a, b, y, sh.s, params_null ? nullptr : &p)
                                 : sa_cpu_star_forward(a, b, y, sh.s, params_null ? nullptr : &p);
            } else {
                float* db = sh.small ? mem.alloc(sh.numel, true)->data.data() : dummy(true);
                mem.snap();
                rc = sa_cpu_star_backward(a, b, a, y, db, sh.s, params_null ? nullptr : &p);
            }
            break;
        }
        case TD_F:
        case TD_B:
        case NTD_F:
        case NTD_B: {
            const bool nonlocal = op == NTD_F || op == NTD_B;
            const bool backward = op == TD_B || op == NTD_B;
            call.fn = op == TD_F ? "sa_cpu_td_lrelu_forward"
                      : op == TD_B ? "sa_cpu_td_lrelu_backward"
                      : op == NTD_F ? "sa_cpu_ntd_lrelu_forward"
                                    : "sa_cpu_ntd_lrelu_backward";
            call.not_implemented = backward;
            sh = decode_shape(in, kCapTd);
            p.alpha = fz_float(in, p.alpha);
            p.lambda = fz_float(in, in.one_in(3) ? 0.0f : 0.1f * (1 + in.u8() % 30));
            p.sigma = fz_float(in, 0.25f + 0.25f * (in.u8() % 12));
            p.eps = fz_float(in, in.one_in(2) ? 0.0f : 0.05f);
            p.radius = fz_int(in, in.u8() % 5);
            p.iterations = fz_int(in, in.u8() % 7);
            if (nonlocal) {
                p.search = fz_int(in, in.u8() % 4);
                p.patch = fz_int(in, in.u8() % 3);
                p.h = fz_float(in, p.h);
                p.knn = fz_int(in, in.one_in(2) ? 0 : in.u8() % 10);
                uint8_t g = in.u8() % 12;
                if (g < 8) p.guide_channels = g < 5 ? 0 : g - 4;  // 0 (channel mean) .. 3
                else if (g == 8) p.guide_channels = -1 - (int64_t)in.u32();
                else if (g == 9) p.guide_channels = INT64_MIN;
                else p.guide_channels = INT64_MAX;  // overflows any guide size
                check_ntd_model(p, call);
            } else {
                check_td_model(p, call);
            }
            if (!call.invalid) bound_td_work(sh, p, nonlocal);
            Block* ob = nullptr;
            float* o = sh.small ? tensor(in, mem, call, "o", sh.numel, false, &ob) : dummy(false);
            float* guide = nullptr;
            Block* gb = nullptr;
            if (nonlocal) {
                if (p.guide_channels > 0 && p.guide_channels <= 3) {
                    guide = sh.small ? tensor(in, mem, call, "guide", sh.numel / sh.s.c * p.guide_channels, false, &gb)
                                     : dummy(false);
                } else if (p.guide_channels > 3) {
                    guide = in.one_in(3) ? nullptr : dummy(false);
                    call.bad("guide too large");
                } else if (in.one_in(8)) {
                    guide = dummy(false);
                    if (p.guide_channels == 0) call.bad("guide without guide_channels");
                }
            }
            float* y = nullptr;
            if (sh.small) {
                if (guide && gb && p.guide_channels > 0 && in.more() && in.u8() % 3 == 0) {
                    // y overlapping the guide: the same address, or y starting inside the guide.
                    // One block holds both, large enough for either, so the harness stays in bounds.
                    const int64_t glen = sh.numel / sh.s.c * p.guide_channels;
                    const int64_t off = glen >= 2 && (in.u8() & 1) ? 1 + (int64_t)(in.u32() % (uint32_t)(glen - 1)) : 0;
                    Block* both = mem.alloc(std::max(glen, off + sh.numel), true);
                    guide = both->data.data();
                    y = both->data.data() + off;
                    call.bad(off ? "y starts inside the guide" : "y is the guide");
                } else {
                    y = output_near(in, mem, call, "y", sh.numel, &o, ob, false);
                }
                if (!y) y = tensor(in, mem, call, "y", sh.numel, true);
            } else {
                y = sh.valid ? nullptr : dummy(true);
                if (sh.valid) call.bad("y NULL");
            }
            if (!sh.valid) call.bad("shape");
            mem.snap();
            set_marker();
            const sa_params* pp = params_null ? nullptr : &p;
            switch (op) {
                case TD_F:
                    rc = g_via_table ? sa_cpu_forward(SA_OP_TD_LRELU, o, nullptr, y, sh.s, pp) : sa_cpu_td_lrelu_forward(o, y, sh.s, pp);
                    break;
                case TD_B: rc = sa_cpu_td_lrelu_backward(o, o, y, sh.s, pp); break;
                case NTD_F:
                    rc = g_via_table ? sa_cpu_forward(SA_OP_NTD_LRELU, o, guide, y, sh.s, pp)
                                     : sa_cpu_ntd_lrelu_forward(o, guide, y, sh.s, pp);
                    break;
                default: rc = sa_cpu_ntd_lrelu_backward(o, guide, o, y, sh.s, pp); break;
            }
            break;
        }
        case FOLD_BN: {
            call.fn = "sa_frelu_fold_bn";
            uint8_t cm = in.u8() % 10;
            int64_t C = cm == 0 ? 0 : cm == 1 ? -(int64_t)(in.u32() % 1000) - 1 : cm == 2 ? INT64_MIN : 1 + in.u8() % 16;
            float eps = fz_float(in, 1e-5f);
            int64_t len = C > 0 ? C : 1;
            if (C < 1) call.bad("channels");
            if (!(eps > 0.0f) || !finite(eps)) call.bad("eps");
            const float* gamma = tensor(in, mem, call, "gamma", len, false);
            const float* beta = tensor(in, mem, call, "beta", len, false);
            const float* mean = tensor(in, mem, call, "running_mean", len, false);
            Block* vb = nullptr;
            float* var = tensor(in, mem, call, "running_var", len, false, &vb);
            if (vb) {
                for (float& v : vb->data) v = fabsf(v);  // NaN stays NaN
                if (in.one_in(3)) vb->data[in.u8() % vb->data.size()] = special_float(in);
                for (int64_t c = 0; C > 0 && c < C; c++)
                    if (!(vb->data[(size_t)c] >= 0.0f)) call.bad("running_var");
            }
            const float* bias = in.one_in(2) ? nullptr : mem.alloc(len, false)->data.data();
            float* scale = tensor(in, mem, call, "scale", len, true);
            float* shift = tensor(in, mem, call, "shift", len, true);
            mem.snap();
            set_marker();
            rc = sa_frelu_fold_bn(C, gamma, beta, mean, var, bias, eps, scale, shift);
            break;
        }
        default: {  // SETTINGS: instruction set, thread count, the pool's polling budget
            uint8_t which = in.u8() % 4;
            int32_t v = fz_int(in, (int32_t)(in.u8() % 5) - 1);
            mem.snap();
            set_marker();
            if (which == 0) {
                call.fn = "sa_cpu_set_isa";
                if (v < 0 || v > kBest) call.bad("isa");
                rc = sa_cpu_set_isa(v);
            } else if (which == 1) {
                call.fn = "sa_cpu_isa_supported";
                int s = sa_cpu_isa_supported(v);
                if (s != (v >= 0 && v <= kBest ? 1 : 0)) violation(call, "sa_cpu_isa_supported disagrees", s, sh);
                rc = SA_OK;
            } else if (which == 3) {
                call.fn = "sa_cpu_set_spin_us";
                if (v > 1000000) call.bad("us");
                rc = sa_cpu_set_spin_us(v);
                if (rc == SA_OK && sa_cpu_spin_us() != (v < 0 ? 200 : v))
                    violation(call, "sa_cpu_spin_us disagrees", sa_cpu_spin_us(), sh);
                sa_cpu_set_spin_us(-1);
            } else {
                call.fn = "sa_cpu_set_threads";
                if (v > 4096) call.bad("threads");
                else if (v > 4) v = 1 + v % 4;  // keep the pool small
                rc = sa_cpu_set_threads(v);
                if (rc == SA_OK) sa_cpu_set_threads(0);
            }
            break;
        }
    }
    if (params_null && op != FOLD_BN && op != SETTINGS) call.bad("params NULL");
    verify(call, rc, mem, sh);
    g_stats[op][rc == SA_OK ? 0 : rc == SA_ERR_INVALID_ARGUMENT ? 1 : 2]++;
    static const bool kDebug = getenv("SA_FUZZ_DEBUG") != nullptr;
    if (kDebug)
        fprintf(stderr, "%s rc=%d shape (%lld,%lld,%lld,%lld) model: %s | %s\n", call.fn, rc, (long long)sh.s.n,
                (long long)sh.s.c, (long long)sh.s.h, (long long)sh.s.w, call.why.c_str(), rc ? sa_last_error() : "");
    return 0;
}
