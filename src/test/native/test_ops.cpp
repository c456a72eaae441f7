// Native test of the forward operators (LeakyReLU / ReLU / PReLU and its backward, star,
// FReLU FULL and LIGHT), no Java needed:
//  - every CPU instruction set this machine supports, against a float64 reference written
//    here from the spec (docs/OPERATORS.md), on seeded random data with and without NaN/Inf;
//  - argument validation (status, message, output untouched) on the CPU and CUDA entries;
//  - with a GPU: the same cases on the GPU against the CPU result and the reference, with
//    aligned, offset-by-one-float (float4 head/tail path) and mixed-alignment (scalar path)
//    pointers and in-place calls; without one, "SKIP GPU: <reason>".
// Environment: SA_REQUIRE_GPU=1 fails instead of skipping without a GPU; SA_TEST_SEED=<u64> changes the data; SA_TEST_MAX_NUMEL=<n> skips larger shapes
// (compute-sanitizer runs); SA_TEST_HUGE=1 adds GPU cases with more than 2^31 elements (needs
// ~18 GB of GPU memory and ~9 GB of host memory).
// Output ends with "N passed, M failed"; the exit status is non-zero on any failure.
#include <inttypes.h>
#include <stdlib.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "sa_test_util.h"

using namespace sat;

namespace {

int g_pass = 0, g_fail = 0;
uint64_t g_seed = 20261122;
double g_worst_rel = 0.0;  // largest relative L2 error seen (passing or not), for the summary
std::string g_worst_label;
int64_t g_frelu_gpu_elems = 0, g_frelu_gpu_identical = 0;  // GPU FReLU vs the best CPU ISA

void record(bool ok, const std::string& label, const std::string& detail = "") {
    if (ok) {
        g_pass++;
    } else {
        g_fail++;
        printf("FAIL %s\n%s", label.c_str(), detail.c_str());
        fflush(stdout);
    }
}

const char* isa_name(int isa) {
    switch (isa) {
        case SA_ISA_AVX512: return "avx512";
        case SA_ISA_AVX2: return "avx2";
        default: return "baseline";
    }
}

// ---- cases ----------------------------------------------------------------------------------

enum class Op { Leaky, LeakyBwd, Star, Frelu };

struct Case {
    Op op;
    float alpha = 0.01f;
    bool per_channel = false;
    int act = SA_ACT_IDENTITY;
    int k = 3, variant = SA_FRELU_FULL;
    bool bias = false;

    bool binary() const { return op == Op::LeakyBwd || op == Op::Star; }
    std::string name() const {
        char b[160];
        switch (op) {
            case Op::Leaky:
            case Op::LeakyBwd:
                if (per_channel)
                    snprintf(b, sizeof b, "%s per-channel alpha", op == Op::Leaky ? "prelu" : "prelu_backward");
                else
                    snprintf(b, sizeof b, "%s alpha=%g", op == Op::Leaky ? "leaky_relu" : "leaky_relu_backward",
                             (double)alpha);
                break;
            case Op::Star: {
                const char* acts[4] = {"identity", "relu", "relu6", "leaky_relu"};
                snprintf(b, sizeof b, "star act=%s alpha=%g", acts[act], (double)alpha);
                break;
            }
            case Op::Frelu:
                snprintf(b, sizeof b, "frelu %s k=%d %s", variant == SA_FRELU_LIGHT ? "LIGHT" : "FULL", k,
                         bias ? "bias" : "no-bias");
                break;
        }
        return b;
    }
};

std::vector<Case> all_cases() {
    std::vector<Case> cs;
    for (float a : {0.01f, 0.0f, 0.2f}) {
        Case c{Op::Leaky};
        c.alpha = a;
        cs.push_back(c);
    }
    {
        Case c{Op::Leaky};
        c.per_channel = true;
        cs.push_back(c);
    }
    for (bool pc : {false, true}) {
        Case c{Op::LeakyBwd};
        c.per_channel = pc;
        cs.push_back(c);
    }
    for (int act = SA_ACT_IDENTITY; act <= SA_ACT_LEAKY_RELU; act++) {
        Case c{Op::Star};
        c.act = act;
        c.alpha = 0.1f;
        cs.push_back(c);
    }
    for (int v : {SA_FRELU_FULL, SA_FRELU_LIGHT})
        for (int k : {1, 3, 5, 7})
            for (bool bias : {false, true}) {
                Case c{Op::Frelu};
                c.variant = v;
                c.k = k;
                c.bias = bias;
                cs.push_back(c);
            }
    return cs;
}

// Inputs of one run. a is x (or star's a), b is dy (or star's b).
struct Data {
    sa_shape s;
    std::vector<float> a, b, alphas, weight, bias;
};

Data make_data(const Case& c, sa_shape s, uint64_t seed, bool specials) {
    Rng r(seed);
    Data d;
    d.s = s;
    const int64_t n = numel(s);
    d.a.resize((size_t)n);
    fill_uniform(r, d.a, -2.0f, 2.0f);
    if (c.binary()) {
        d.b.resize((size_t)n);
        fill_uniform(r, d.b, -2.0f, 2.0f);
    }
    if (specials) {
        inject_specials(r, d.a, std::max<int64_t>(1, n / 211));
        if (c.binary()) inject_specials(r, d.b, std::max<int64_t>(1, n / 307));
    }
    if (c.per_channel) {
        d.alphas.resize((size_t)s.c);
        fill_uniform(r, d.alphas, -0.25f, 0.5f);
        if (s.c > 1) d.alphas[1] = 0.0f;  // a ReLU channel: the documented alpha == 0 rule
    }
    if (c.op == Op::Frelu) {
        const int64_t per = c.variant == SA_FRELU_LIGHT ? 2 * c.k : c.k * c.k;
        d.weight.resize((size_t)(s.c * per));
        fill_uniform(r, d.weight, -1.0f / c.k, 1.0f / c.k);  // T stays O(1), like a trained filter
        if (c.bias) {
            d.bias.resize((size_t)s.c);
            fill_uniform(r, d.bias, -0.5f, 0.5f);
        }
    }
    return d;
}

// ---- float64 reference, from the spec ----------------------------------------------------------

// LeakyReLU: x if x > 0 else alpha*x; alpha == 0 is ReLU (as torch.relu: -inf -> 0, NaN -> NaN).
double ref_leaky(double x, double alpha) {
    if (x > 0) return x;
    if (alpha == 0) return isnan(x) ? x : 0.0;
    return alpha * x;
}
double ref_act(double a, int act, double alpha) {
    switch (act) {
        case SA_ACT_RELU: return ref_leaky(a, 0.0);
        case SA_ACT_RELU6: {
            double r = ref_leaky(a, 0.0);
            return r > 6.0 ? 6.0 : r;
        }
        case SA_ACT_LEAKY_RELU: return ref_leaky(a, alpha);
        default: return a;
    }
}
// torch.maximum: NaN if either side is NaN.
double ref_max(double x, double t) {
    if (isnan(x) || isnan(t)) return NAN;
    return x > t ? x : t;
}

struct Ref {
    std::vector<double> y;
    std::vector<double> mag;  // FReLU: |bias| + sum |w x| where y = T (see kRelL2Tol); else empty
};

Ref reference(const Case& c, const Data& d) {
    const sa_shape s = d.s;
    const int64_t n = numel(s), plane = s.h * s.w;
    Ref out;
    std::vector<double>& y = out.y;
    y.resize((size_t)n);
    auto alpha_at = [&](int64_t i) { return c.per_channel ? (double)d.alphas[(size_t)((i / plane) % s.c)] : (double)c.alpha; };
    switch (c.op) {
        case Op::Leaky:
            for (int64_t i = 0; i < n; i++) y[i] = ref_leaky(d.a[i], alpha_at(i));
            break;
        case Op::LeakyBwd:
            for (int64_t i = 0; i < n; i++) y[i] = (double)d.b[i] * (d.a[i] > 0.0f ? 1.0 : alpha_at(i));
            break;
        case Op::Star:
            for (int64_t i = 0; i < n; i++) y[i] = ref_act(d.a[i], c.act, c.alpha) * (double)d.b[i];
            break;
        case Op::Frelu: {
            const int K = c.k, R = K / 2;
            const int64_t per = c.variant == SA_FRELU_LIGHT ? 2 * K : K * K;
            out.mag.resize((size_t)n);
            for (int64_t p = 0; p < s.n * s.c; p++) {
                const int64_t ch = p % s.c;
                const float* x = d.a.data() + p * plane;
                const float* w = d.weight.data() + ch * per;
                const double bias = c.bias ? (double)d.bias[(size_t)ch] : 0.0;
                auto at = [&](int64_t i, int64_t j) -> double {
                    return (i < 0 || i >= s.h || j < 0 || j >= s.w) ? 0.0 : (double)x[i * s.w + j];
                };
                for (int64_t i = 0; i < s.h; i++)
                    for (int64_t j = 0; j < s.w; j++) {
                        double t = 0.0, m = fabs(bias);
                        if (c.variant == SA_FRELU_FULL) {
                            for (int a = 0; a < K; a++)
                                for (int b = 0; b < K; b++) {
                                    const double term = (double)w[a * K + b] * at(i + a - R, j + b - R);
                                    t += term;
                                    m += fabs(term);
                                }
                        } else {
                            double hs = 0.0, vs = 0.0;
                            for (int b = 0; b < K; b++) hs += (double)w[b] * at(i, j + b - R), m += fabs((double)w[b] * at(i, j + b - R));
                            for (int a = 0; a < K; a++) vs += (double)w[K + a] * at(i + a - R, j), m += fabs((double)w[K + a] * at(i + a - R, j));
                            t = hs + vs;
                        }
                        const size_t o = (size_t)(p * plane + i * s.w + j);
                        y[o] = ref_max(at(i, j), t + bias);
                        out.mag[o] = y[o] == at(i, j) ? 0.0 : m;  // y = x is exact: no sum involved
                    }
            }
            break;
        }
    }
    return out;
}

// ---- running one case on the CPU or the GPU ----------------------------------------------------

sa_params params_for(const Case& c, const float* alphas, const float* weight, const float* bias) {
    sa_params p;
    sa_params_init(&p);
    p.alpha = c.alpha;
    p.alpha_per_channel = c.per_channel ? alphas : nullptr;
    p.act = c.act;
    p.k = c.k;
    p.variant = c.variant;
    p.weight = weight;
    p.bias = c.bias ? bias : nullptr;
    return p;
}

// a, b, y as the operator takes them (y may be a or b for the in-place runs).
int call_cpu(const Case& c, const float* a, const float* b, float* y, sa_shape s, const sa_params* p) {
    switch (c.op) {
        case Op::Leaky: return sa_cpu_leaky_relu_forward(a, y, s, p);
        case Op::LeakyBwd: return sa_cpu_leaky_relu_backward(a, b, y, s, p);
        case Op::Star: return sa_cpu_star_forward(a, b, y, s, p);
        case Op::Frelu: return sa_cpu_frelu_forward(a, y, s, p);
    }
    return -1;
}

int call_cuda(const Case& c, const float* a, const float* b, float* y, sa_shape s, const sa_params* p, void* st) {
    switch (c.op) {
        case Op::Leaky: return sa_cuda_leaky_relu_forward(a, y, s, p, st);
        case Op::LeakyBwd: return sa_cuda_leaky_relu_backward(a, b, y, s, p, st);
        case Op::Star: return sa_cuda_star_forward(a, b, y, s, p, st);
        case Op::Frelu: return sa_cuda_frelu_forward(a, y, s, p, st);
    }
    return -1;
}

std::string label_of(const char* backend, const Case& c, const Data& d, uint64_t seed, bool specials,
                     const char* mode) {
    char b[512];
    snprintf(b, sizeof b, "%s %s shape=%s seed=%" PRIu64 " data=%s%s%s", backend, c.name().c_str(),
             shape_str(d.s).c_str(), seed, specials ? "nan/inf" : "finite", mode[0] ? " mode=" : "", mode);
    return b;
}

void check_result(const std::string& label, int rc, const float* got, const Ref& ref, sa_shape s,
                  const float* cpu = nullptr, bool exact_vs_cpu = false) {
    if (rc != SA_OK) {
        record(false, label, "    status " + std::to_string(rc) + ": " + sa_last_error() + "\n");
        return;
    }
    const double* mag = ref.mag.empty() ? nullptr : ref.mag.data();
    Verdict v = compare(got, ref.y.data(), s, kRelL2Tol, nullptr, mag);
    if (v.rel_l2 > g_worst_rel) g_worst_rel = v.rel_l2, g_worst_label = label;
    std::string detail;
    char b[160];
    snprintf(b, sizeof b, "    vs float64 reference: rel_l2=%.3g (tol %.1g), %lld NaN/Inf/unwritten mismatches\n",
             v.rel_l2, kRelL2Tol, (long long)v.mismatches);
    detail = b + v.detail;
    bool ok = v.ok;
    if (cpu) {
        // The GPU must agree with the CPU too: within tolerance everywhere, and bit for bit
        // for the element-wise operators (one shared formula, one IEEE rounding).
        Verdict w = compare_f(got, cpu, s, kRelL2Tol, mag);
        const int64_t n = numel(s);
        if (!exact_vs_cpu) g_frelu_gpu_elems += n, g_frelu_gpu_identical += w.identical;
        const bool exact = !exact_vs_cpu || w.identical == n;
        snprintf(b, sizeof b, "    vs CPU: rel_l2=%.3g, %lld mismatches, %lld of %lld bit-identical%s\n", w.rel_l2,
                 (long long)w.mismatches, (long long)w.identical, (long long)n, exact_vs_cpu ? " (required)" : "");
        detail += b + w.detail;
        ok = ok && w.ok && exact;
    }
    record(ok, label, detail);
}

struct Gpu {
    bool ok = false;
    void* stream = nullptr;
    std::string why;
};

// One case on the GPU. mode: 0 aligned, 1 every pointer one float past 16-byte alignment
// (float4 path with scalar head and tail), 2 only y offset (phases differ: scalar path),
// 3 in place (y = a, or y = b for star and backward on odd shapes).
void run_gpu_case(const Gpu& g, const Case& c, const Data& d, const Ref& ref,
                  const std::vector<float>& cpu, uint64_t seed, bool specials, int mode) {
    static const char* modes[4] = {"aligned", "offset+1", "y-offset+1", "in-place"};
    const sa_shape s = d.s;
    const int64_t n = numel(s), bytes = n * 4;
    const std::string label = label_of("gpu", c, d, seed, specials, modes[mode]);
    DevBuf da((n + 4) * 4), db(c.binary() ? (n + 4) * 4 : 4), dy((n + 4) * 4);
    DevBuf dal(std::max<int64_t>(4, (int64_t)d.alphas.size() * 4)), dw(std::max<int64_t>(4, (int64_t)d.weight.size() * 4)),
        dbias(std::max<int64_t>(4, (int64_t)d.bias.size() * 4));
    for (DevBuf* b : {&da, &db, &dy, &dal, &dw, &dbias})
        if (b->rc) return record(false, label, std::string("    sa_cuda_malloc: ") + sa_last_error() + "\n");
    const int oa = mode == 1 ? 1 : 0, ob = mode == 1 ? 1 : 0, oy = (mode == 1 || mode == 2) ? 1 : 0;
    float* a = da.f() + oa;
    float* b = db.f() + ob;
    float* y = dy.f() + oy;
    std::vector<float> out((size_t)n);
    fill_poison(out.data(), n);
    int rc = SA_OK;
    auto up = [&](void* dst, const void* src, int64_t nb) {
        if (rc == SA_OK && nb > 0) rc = sa_cuda_memcpy_h2d(0, dst, src, nb, g.stream);
    };
    up(dal.p, d.alphas.data(), (int64_t)d.alphas.size() * 4);
    up(dw.p, d.weight.data(), (int64_t)d.weight.size() * 4);
    up(dbias.p, d.bias.data(), (int64_t)d.bias.size() * 4);
    const float* in_a = a;
    const float* in_b = b;
    if (mode == 3) {
        // In place: the output buffer holds the input it overwrites.
        const bool into_b = c.binary() && (s.w % 2 == 1);
        up(a, d.a.data(), bytes);
        if (c.binary()) up(b, d.b.data(), bytes);
        if (into_b) {
            up(y, d.b.data(), bytes);
            in_b = y;
        } else {
            up(y, d.a.data(), bytes);
            in_a = y;
        }
    } else {
        up(a, d.a.data(), bytes);
        if (c.binary()) up(b, d.b.data(), bytes);
        up(y, out.data(), bytes);  // poison
    }
    if (rc) return record(false, label, std::string("    upload: ") + sa_last_error() + "\n");
    sa_params p = params_for(c, dal.f(), dw.f(), dbias.f());
    rc = call_cuda(c, in_a, c.binary() ? in_b : nullptr, y, s, &p, g.stream);
    if (rc == SA_OK) rc = sa_cuda_stream_synchronize(0, g.stream);  // surfaces kernel faults
    if (rc == SA_OK) rc = sa_cuda_memcpy_d2h(0, out.data(), y, bytes, g.stream);
    check_result(label, rc, out.data(), ref, s, cpu.data(), c.op != Op::Frelu);
}

// One case: data, reference, every ISA (and thread counts on the best one), in place, GPU.
void run_case(const Gpu& g, const Case& c, sa_shape s, uint64_t seed, bool specials) {
    const Data d = make_data(c, s, seed, specials);
    const Ref ref = reference(c, d);
    const int64_t n = numel(s);
    const sa_params p = params_for(c, d.alphas.data(), d.weight.data(), d.bias.data());
    const int best = sa_cpu_isa();
    std::vector<float> y((size_t)n), best_y;
    const float* b = c.binary() ? d.b.data() : nullptr;
    for (int isa = SA_ISA_BASELINE; isa <= SA_ISA_AVX512; isa++) {
        if (!sa_cpu_isa_supported(isa)) continue;
        sa_cpu_set_isa(isa);
        // Thread counts change the FReLU tiling (row blocks, column tiles): try a few on the
        // best instruction set.
        std::vector<int> threads = {0};
        if (isa == best && c.op == Op::Frelu) threads = {0, 1, 5};
        for (int t : threads) {
            sa_cpu_set_threads(t);
            fill_poison(y.data(), n);
            int rc = call_cpu(c, d.a.data(), b, y.data(), s, &p);
            char mode[48];
            snprintf(mode, sizeof mode, "%s%s", t ? "threads=" : "", t ? std::to_string(t).c_str() : "");
            char be[32];
            snprintf(be, sizeof be, "cpu[%s]", isa_name(isa));
            check_result(label_of(be, c, d, seed, specials, mode), rc, y.data(), ref, s);
            if (isa == best && t == 0) best_y = y;
        }
        sa_cpu_set_threads(0);
        if (c.op == Op::Frelu) {
            // x and y at other alignments (the kernel aligns its stores to y's phase).
            const int64_t ox = (int64_t)(seed % 5), oy = 1 + (int64_t)((seed >> 3) % 15);
            std::vector<float> xa((size_t)(n + 16)), ya((size_t)(n + 16));
            std::copy(d.a.begin(), d.a.end(), xa.begin() + ox);
            fill_poison(ya.data() + oy, n);
            int rc = call_cpu(c, xa.data() + ox, nullptr, ya.data() + oy, s, &p);
            char be[32], mode[48];
            snprintf(be, sizeof be, "cpu[%s]", isa_name(isa));
            snprintf(mode, sizeof mode, "x+%lld y+%lld floats", (long long)ox, (long long)oy);
            check_result(label_of(be, c, d, seed, specials, mode), rc, ya.data() + oy, ref, s);
        }
    }
    sa_cpu_set_isa(best);
    if (c.op != Op::Frelu) {
        // In place on the CPU: y = a (or y = b for binary operators on odd widths).
        std::vector<float> ia = d.a, ib = d.b;
        const bool into_b = c.binary() && (s.w % 2 == 1);
        float* out = into_b ? ib.data() : ia.data();
        int rc = call_cpu(c, ia.data(), c.binary() ? ib.data() : nullptr, out, s, &p);
        check_result(label_of("cpu", c, d, seed, specials, "in-place"), rc, out, ref, s, best_y.data(), true);
    }
    if (g.ok) {
        const int modes = c.op == Op::Frelu ? 2 : 4;
        for (int m = 0; m < modes; m++) run_gpu_case(g, c, d, ref, best_y, seed, specials, m);
    }
}

// ---- argument validation ------------------------------------------------------------------------

// Calls fn and expects SA_ERR_INVALID_ARGUMENT, a fresh non-empty message, and `out` unchanged.
void expect_status(const std::string& label, int want, const std::function<int()>& fn, const float* out, int64_t n) {
    std::vector<float> before(out, out + n);
    sa_params_init(nullptr);  // leaves a known message behind
    const std::string stale = sa_last_error();
    const int rc = fn();
    const std::string msg = sa_last_error();
    const bool untouched = memcmp(before.data(), out, (size_t)n * 4) == 0;
    const bool ok = rc == want && !msg.empty() && msg != stale && untouched;
    char b[768];
    snprintf(b, sizeof b, "    status %d (want %d), message \"%s\"%s, output %s\n", rc, want, msg.c_str(),
             msg == stale ? " (stale)" : "", untouched ? "untouched" : "MODIFIED");
    record(ok, label, b);
}

void validation_tests() {
    const sa_shape s{1, 2, 3, 4};
    const int64_t n = numel(s);
    std::vector<float> x((size_t)n + 8, 0.5f), y((size_t)n + 8), a((size_t)n + 8, 1.0f), w(2 * 49, 0.1f), bias(2, 0.0f);
    fill_poison(y.data(), n + 8);
    sa_params p;
    sa_params_init(&p);
    p.weight = w.data();
    p.bias = bias.data();
    const sa_shape zero{1, 0, 3, 4}, neg{1, 2, -3, 4}, zn{0, 2, 3, 4};
    const bool cuda = sa_cuda_compiled() == 1;
    const int INV = SA_ERR_INVALID_ARGUMENT;

    struct Backend {
        const char* name;
        std::function<int(const float*, float*, sa_shape, const sa_params*)> leaky, frelu;
        std::function<int(const float*, const float*, float*, sa_shape, const sa_params*)> star, leaky_bwd;
    };
    std::vector<Backend> backends;
    backends.push_back({"cpu", sa_cpu_leaky_relu_forward, sa_cpu_frelu_forward, sa_cpu_star_forward,
                        sa_cpu_leaky_relu_backward});
    if (cuda) {
        // Validation runs before any CUDA call, so host pointers are fine here.
        backends.push_back({"cuda",
                            [](const float* a, float* b, sa_shape s, const sa_params* p) {
                                return sa_cuda_leaky_relu_forward(a, b, s, p, nullptr);
                            },
                            [](const float* a, float* b, sa_shape s, const sa_params* p) {
                                return sa_cuda_frelu_forward(a, b, s, p, nullptr);
                            },
                            [](const float* a, const float* b, float* c, sa_shape s, const sa_params* p) {
                                return sa_cuda_star_forward(a, b, c, s, p, nullptr);
                            },
                            [](const float* a, const float* b, float* c, sa_shape s, const sa_params* p) {
                                return sa_cuda_leaky_relu_backward(a, b, c, s, p, nullptr);
                            }});
    }
    for (const Backend& be : backends) {
        const std::string pre = std::string("validate ") + be.name + " ";
        float* Y = y.data();
        const float* X = x.data();
        auto pv = [&](auto mut) {
            sa_params q = p;
            mut(q);
            return q;
        };
        // LeakyReLU
        expect_status(pre + "leaky params=NULL", INV, [&] { return be.leaky(X, Y, s, nullptr); }, Y, n);
        expect_status(pre + "leaky x=NULL", INV, [&] { return be.leaky(nullptr, Y, s, &p); }, Y, n);
        expect_status(pre + "leaky y=NULL", INV, [&] { return be.leaky(X, nullptr, s, &p); }, x.data(), n);
        expect_status(pre + "leaky C=0", INV, [&] { return be.leaky(X, Y, zero, &p); }, Y, n);
        expect_status(pre + "leaky N=0", INV, [&] { return be.leaky(X, Y, zn, &p); }, Y, n);
        expect_status(pre + "leaky H<0", INV, [&] { return be.leaky(X, Y, neg, &p); }, Y, n);
        {
            sa_params q = pv([](sa_params& q) { q.alpha = NAN; });
            expect_status(pre + "leaky alpha=NaN", INV, [&] { return be.leaky(X, Y, s, &q); }, Y, n);
            q.alpha = INFINITY;
            expect_status(pre + "leaky alpha=Inf", INV, [&] { return be.leaky(X, Y, s, &q); }, Y, n);
        }
        expect_status(pre + "leaky y overlaps x", INV, [&] { return be.leaky(x.data(), x.data() + 1, s, &p); },
                      x.data(), n + 1);
        // backward
        expect_status(pre + "leaky_backward dy=NULL", INV, [&] { return be.leaky_bwd(X, nullptr, Y, s, &p); }, Y, n);
        expect_status(pre + "leaky_backward dx overlaps dy", INV,
                      [&] { return be.leaky_bwd(X, a.data(), a.data() + 2, s, &p); }, a.data(), n);
        // star
        expect_status(pre + "star a=NULL", INV, [&] { return be.star(nullptr, a.data(), Y, s, &p); }, Y, n);
        expect_status(pre + "star b=NULL", INV, [&] { return be.star(X, nullptr, Y, s, &p); }, Y, n);
        expect_status(pre + "star y=NULL", INV, [&] { return be.star(X, a.data(), nullptr, s, &p); }, a.data(), n);
        expect_status(pre + "star W=0", INV, [&] { return be.star(X, a.data(), Y, sa_shape{1, 2, 3, 0}, &p); }, Y, n);
        {
            sa_params q = pv([](sa_params& q) { q.act = 7; });
            expect_status(pre + "star act=7", INV, [&] { return be.star(X, a.data(), Y, s, &q); }, Y, n);
            q.act = SA_ACT_LEAKY_RELU;
            q.alpha = NAN;
            expect_status(pre + "star leaky alpha=NaN", INV, [&] { return be.star(X, a.data(), Y, s, &q); }, Y, n);
        }
        expect_status(pre + "star y overlaps b", INV, [&] { return be.star(X, a.data(), a.data() + 1, s, &p); },
                      a.data(), n);
        // FReLU
        expect_status(pre + "frelu params=NULL", INV, [&] { return be.frelu(X, Y, s, nullptr); }, Y, n);
        expect_status(pre + "frelu x=NULL", INV, [&] { return be.frelu(nullptr, Y, s, &p); }, Y, n);
        expect_status(pre + "frelu y=NULL", INV, [&] { return be.frelu(X, nullptr, s, &p); }, x.data(), n);
        expect_status(pre + "frelu H=0", INV, [&] { return be.frelu(X, Y, sa_shape{1, 2, 0, 4}, &p); }, Y, n);
        for (int k : {0, 2, 4, 6, 8, 9, -1, -3}) {
            sa_params q = pv([&](sa_params& q) { q.k = k; });
            expect_status(pre + "frelu k=" + std::to_string(k), INV, [&] { return be.frelu(X, Y, s, &q); }, Y, n);
        }
        {
            sa_params q = pv([](sa_params& q) { q.variant = 2; });
            expect_status(pre + "frelu variant=2", INV, [&] { return be.frelu(X, Y, s, &q); }, Y, n);
            q = pv([](sa_params& q) { q.weight = nullptr; });
            expect_status(pre + "frelu weight=NULL", INV, [&] { return be.frelu(X, Y, s, &q); }, Y, n);
        }
        expect_status(pre + "frelu y aliases x", INV, [&] { return be.frelu(x.data(), x.data(), s, &p); }, x.data(),
                      n);
        expect_status(pre + "frelu y overlaps x", INV, [&] { return be.frelu(x.data(), x.data() + 3, s, &p); },
                      x.data(), n + 3);
    }
    if (cuda) {
        // GPU-only rule: float pointers must be 4-byte aligned (checked before any CUDA call).
        const float* mis = (const float*)((const char*)x.data() + 1);
        expect_status("validate cuda leaky x not 4-byte aligned", INV,
                      [&] { return sa_cuda_leaky_relu_forward(mis, y.data(), s, &p, nullptr); }, y.data(), n);
        expect_status("validate cuda frelu x not 4-byte aligned", INV,
                      [&] { return sa_cuda_frelu_forward(mis, y.data(), s, &p, nullptr); }, y.data(), n);
        expect_status("cuda frelu_backward not implemented", SA_ERR_NOT_IMPLEMENTED,
                      [&] { return sa_cuda_frelu_backward(x.data(), a.data(), y.data(), s, &p, nullptr); }, y.data(),
                      n);
        expect_status("cuda star_backward not implemented", SA_ERR_NOT_IMPLEMENTED,
                      [&] {
                          return sa_cuda_star_backward(x.data(), a.data(), a.data(), y.data(), y.data() + n, s, &p,
                                                       nullptr);
                      },
                      y.data(), n);
    } else {
        printf("note: built without CUDA: CUDA argument validation not exercised\n");
    }
}

// Without a GPU every CUDA operator must fail cleanly with SA_ERR_NO_CUDA (stub or real build)
// and touch nothing. Only run when there is no GPU: these are host pointers.
void no_gpu_tests() {
    const sa_shape s{1, 2, 3, 4};
    const int64_t n = numel(s);
    std::vector<float> x((size_t)n, 0.5f), b((size_t)n, 1.0f), y((size_t)n), w(2 * 9, 0.1f);
    fill_poison(y.data(), n);
    sa_params p;
    sa_params_init(&p);
    p.weight = w.data();
    const int NC = SA_ERR_NO_CUDA;
    expect_status("no-gpu cuda leaky", NC, [&] { return sa_cuda_leaky_relu_forward(x.data(), y.data(), s, &p, nullptr); },
                  y.data(), n);
    expect_status("no-gpu cuda star", NC,
                  [&] { return sa_cuda_star_forward(x.data(), b.data(), y.data(), s, &p, nullptr); }, y.data(), n);
    expect_status("no-gpu cuda frelu", NC, [&] { return sa_cuda_frelu_forward(x.data(), y.data(), s, &p, nullptr); },
                  y.data(), n);
    expect_status("no-gpu cuda leaky_backward", NC,
                  [&] { return sa_cuda_leaky_relu_backward(x.data(), b.data(), y.data(), s, &p, nullptr); }, y.data(),
                  n);
}

// ---- more than 2^31 elements on the GPU (SA_TEST_HUGE=1) --------------------------------------

float huge_value(int64_t i) {
    // Deterministic, nonzero, in [-2, 2], cheap to recompute for any index.
    uint64_t z = (uint64_t)i * 0x9E3779B97F4A7C15ull;
    z ^= z >> 29;
    return ((float)(int)(z % 3999u) - 1999.5f) / 1000.0f;
}

void huge_tests(const Gpu& g) {
    // PReLU in place on 1 x 3 x 1 x 715827883: numel 2^31 + 1, planes not a multiple of 4
    // (float4 vectors straddle channel borders), channel from a 64-bit division.
    {
        const sa_shape s{1, 3, 1, 715827883};
        const int64_t n = numel(s);
        const std::string label = "gpu huge prelu in-place shape=" + shape_str(s);
        DevBuf d(n * 4), dal(12);
        if (d.rc || dal.rc) {
            printf("SKIP %s: %s\n", label.c_str(), sa_last_error());
        } else {
            std::vector<float> h((size_t)n);
            for (int64_t i = 0; i < n; i++) h[(size_t)i] = huge_value(i);
            const float al[3] = {0.1f, 0.0f, -0.3f};
            int rc = sa_cuda_memcpy_h2d(0, d.p, h.data(), n * 4, g.stream);
            if (!rc) rc = sa_cuda_memcpy_h2d(0, dal.p, al, 12, g.stream);
            sa_params p;
            sa_params_init(&p);
            p.alpha_per_channel = dal.f();
            if (!rc) rc = sa_cuda_leaky_relu_forward(d.f(), d.f(), s, &p, g.stream);
            if (!rc) rc = sa_cuda_stream_synchronize(0, g.stream);
            if (!rc) rc = sa_cuda_memcpy_d2h(0, h.data(), d.p, n * 4, g.stream);
            int64_t bad = 0, first = -1;
            for (int64_t i = 0; !rc && i < n; i++) {
                const double want = ref_leaky(huge_value(i), al[(i / s.w) % 3]);
                if ((double)h[(size_t)i] != (double)(float)want && bad++ == 0) first = i;
            }
            std::string det = rc ? std::string("    ") + sa_last_error() + "\n"
                                 : "    " + std::to_string(bad) + " wrong elements, first at " + std::to_string(first) +
                                       "\n";
            record(rc == SA_OK && bad == 0, label, det);
        }
    }
    // FReLU 3x3 on one plane of 46349 x 46349 (2^31 + 746153 elements): check the rows around
    // the 2^31 boundary, the first and the last rows.
    {
        const sa_shape s{1, 1, 46349, 46349};
        const int64_t n = numel(s), W = s.w, H = s.h;
        const std::string label = "gpu huge frelu k=3 shape=" + shape_str(s);
        DevBuf dx(n * 4), dy(n * 4), dw(9 * 4), db(4);
        if (dx.rc || dy.rc || dw.rc || db.rc) {
            printf("SKIP %s: %s\n", label.c_str(), sa_last_error());
        } else {
            std::vector<float> h((size_t)n);
            for (int64_t i = 0; i < n; i++) h[(size_t)i] = huge_value(i);
            const float w[9] = {0.1f, -0.2f, 0.15f, 0.3f, 0.05f, -0.1f, 0.2f, 0.1f, -0.25f}, bias = 0.05f;
            int rc = sa_cuda_memcpy_h2d(0, dx.p, h.data(), n * 4, g.stream);
            if (!rc) rc = sa_cuda_memcpy_h2d(0, dw.p, w, 36, g.stream);
            if (!rc) rc = sa_cuda_memcpy_h2d(0, db.p, &bias, 4, g.stream);
            sa_params p;
            sa_params_init(&p);
            p.k = 3;
            p.weight = dw.f();
            p.bias = db.f();
            if (!rc) rc = sa_cuda_frelu_forward(dx.f(), dy.f(), s, &p, g.stream);
            if (!rc) rc = sa_cuda_stream_synchronize(0, g.stream);
            const int64_t mid = (int64_t(1) << 31) / W;
            std::vector<int64_t> rows = {0, 1, mid - 1, mid, mid + 1, H - 2, H - 1};
            int64_t bad = 0;
            std::string det;
            std::vector<float> out((size_t)W);
            for (int64_t i : rows) {
                if (rc) break;
                rc = sa_cuda_memcpy_d2h(0, out.data(), dy.f() + i * W, W * 4, g.stream);
                for (int64_t j = 0; !rc && j < W; j++) {
                    double t = 0.0;
                    for (int a = 0; a < 3; a++)
                        for (int b = 0; b < 3; b++) {
                            const int64_t ii = i + a - 1, jj = j + b - 1;
                            if (ii >= 0 && ii < H && jj >= 0 && jj < W) t += (double)w[a * 3 + b] * h[(size_t)(ii * W + jj)];
                        }
                    const double want = ref_max(h[(size_t)(i * W + j)], t + bias);
                    if (fabs((double)out[(size_t)j] - want) > 1e-5 * (1.0 + fabs(want))) {
                        if (bad++ < 3)
                            det += "    at [" + std::to_string(i) + "," + std::to_string(j) + "]: got " +
                                   std::to_string(out[(size_t)j]) + ", want " + std::to_string(want) + "\n";
                    }
                }
            }
            if (rc) det = std::string("    ") + sa_last_error() + "\n";
            record(rc == SA_OK && bad == 0, label, det);
        }
    }
}

}  // namespace

int main() {
    if (const char* e = getenv("SA_TEST_SEED")) g_seed = strtoull(e, nullptr, 10);
    // SA_TEST_MAX_NUMEL skips the larger shapes (for runs under compute-sanitizer).
    int64_t max_numel = INT64_MAX;
    if (const char* e = getenv("SA_TEST_MAX_NUMEL")) max_numel = strtoll(e, nullptr, 10);
    printf("spatialact %s: native operator test, seed %" PRIu64 ", best CPU ISA %s, %d threads\n", sa_version(),
           g_seed, isa_name(sa_cpu_isa()), sa_cpu_threads());
    if (sa_cuda_compiled()) {  // (the GPU host script's record: the driver must be R580+ for CUDA 13)
        int driver = 0, runtime = 0;
        sa_cuda_versions(&driver, &runtime);
        printf("CUDA: driver supports %d.%d, library runtime %d.%d\n", driver / 1000, driver % 1000 / 10,
               runtime / 1000, runtime % 1000 / 10);
    }

    validation_tests();

    Gpu g;
    int count = 0;
    int rc = sa_cuda_device_count(&count);
    if (rc == SA_OK && count >= 1) {
        char name[256];
        sa_cuda_device_name(0, name, sizeof name);
        rc = sa_cuda_stream_create(0, &g.stream);
        if (rc == SA_OK) {
            g.ok = true;
            printf("GPU: %s\n", name);
        } else {
            g.why = sa_last_error();
        }
    } else {
        g.why = sa_last_error();
        no_gpu_tests();
    }
    if (!g.ok) printf("SKIP GPU: %s\n", g.why.empty() ? "no GPU" : g.why.c_str());
    // SA_REQUIRE_GPU=1 (scripts/gpu-native.sh, the emulated-GPU runs): no GPU is a failure.
    if (!g.ok && getenv("SA_REQUIRE_GPU") && atoi(getenv("SA_REQUIRE_GPU")) != 0)
        record(false, "SA_REQUIRE_GPU=1 but the GPU cases cannot run", "    " + g.why + "\n");

    const std::vector<sa_shape> shapes = {
        {1, 1, 1, 1},   {1, 1, 1, 2},   {1, 1, 2, 1},    {1, 2, 2, 2},    {2, 3, 5, 7},   {1, 3, 17, 33},
        {3, 1, 1, 40},  {2, 2, 37, 1},  {1, 1, 2, 300},  {1, 2, 45, 2},   {4, 5, 9, 11},  {1, 1, 300, 301},
        {1, 2, 9, 2500}, {1, 1, 3, 4100}, {2, 16, 130, 257},
        // Widths around the CPU FReLU kernel's switch from its copying path to the in-place one
        // (3 vectors + 2R columns: 14..18 SSE, 26..30 AVX2, 50..54 AVX-512) and heights that
        // leave 1..3 rows after its 4-row passes.
        {1, 2, 5, 13},  {1, 1, 6, 14},  {1, 1, 7, 18},   {1, 2, 3, 19},   {1, 1, 5, 25},  {1, 2, 6, 26},
        {1, 1, 7, 30},  {1, 1, 9, 31},  {1, 2, 10, 49},  {1, 1, 11, 50},  {1, 1, 6, 54}, {1, 2, 4, 55},
    };
    const std::vector<Case> cases = all_cases();
    for (size_t si = 0; si < shapes.size(); si++) {
        if (numel(shapes[si]) > max_numel) {
            printf("note: shape %s skipped (SA_TEST_MAX_NUMEL=%lld)\n", shape_str(shapes[si]).c_str(),
                   (long long)max_numel);
            continue;
        }
        for (size_t ci = 0; ci < cases.size(); ci++)
            for (int specials = 0; specials < 2; specials++) {
                const uint64_t seed = g_seed ^ ((uint64_t)si << 40) ^ ((uint64_t)ci << 20) ^ (uint64_t)specials;
                run_case(g, cases[ci], shapes[si], seed, specials != 0);
            }
    }

    if (g.ok) {
        const char* huge = getenv("SA_TEST_HUGE");
        if (huge && atoi(huge) != 0)
            huge_tests(g);
        else
            printf("note: SA_TEST_HUGE=1 adds GPU cases with more than 2^31 elements\n");
        sa_cuda_stream_destroy(0, g.stream);
    }

    printf("largest relative L2 error vs float64: %.3g (tolerance %.1g) in %s\n", g_worst_rel, kRelL2Tol,
           g_worst_label.c_str());
    if (g_frelu_gpu_elems)
        // Same summation order and FMA as the CPU kernel: expect all identical against an
        // FMA build (avx2/avx512); the baseline build rounds w*x separately.
        printf("GPU FReLU outputs bit-identical to cpu[%s]: %lld of %lld\n", isa_name(sa_cpu_isa()),
               (long long)g_frelu_gpu_identical, (long long)g_frelu_gpu_elems);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail == 0 ? 0 : 1;
}
