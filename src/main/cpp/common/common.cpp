// Library-wide pieces: version, per-thread error messages, defaults and argument checks.
#include "sa_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SA_VERSION_STRING
#define SA_VERSION_STRING "0.1.0"
#endif

namespace sa {

static thread_local char g_error[1024];

int fail(int code, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
    return code;
}

void clear_error() { g_error[0] = '\0'; }

int check_shape(const char* fn, sa_shape s, int64_t* numel) {
    if (s.n < 1 || s.c < 1 || s.h < 1 || s.w < 1)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: shape (%lld, %lld, %lld, %lld) has a dimension < 1", fn,
                    (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.w);
    const int64_t limit = INT64_MAX / 16;  // bytes must fit in int64 with room for halos
    int64_t total = s.n;
    const int64_t dims[3] = {s.c, s.h, s.w};
    for (int64_t d : dims) {
        if (total > limit / d)
            return fail(SA_ERR_INVALID_ARGUMENT, "%s: shape (%lld, %lld, %lld, %lld) is too large", fn,
                        (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.w);
        total *= d;
    }
    *numel = total;
    return SA_OK;
}

int check_ptr(const char* fn, const void* p, const char* name) {
    if (!p) return fail(SA_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, name);
    // Every pointer of the API is a float32 array (or the params struct): a misaligned one
    // (e.g. a FloatBuffer view of a ByteBuffer at an odd position) is undefined behaviour in
    // the kernels and a fault on the GPU.
    if ((uintptr_t)p % alignof(float) != 0)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: %s = %p is not aligned to 4 bytes (float32)", fn, name, p);
    return SA_OK;
}

/* As check_ptr for pointers that may be NULL (optional arrays). */
static int check_opt_ptr(const char* fn, const void* p, const char* name) {
    return p ? check_ptr(fn, p, name) : SA_OK;
}

int check_overlap(const char* fn, const void* a, const char* aname, const void* b, const char* bname,
                  int64_t bytes, bool allow_same) {
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
    if (pa == pb) {
        if (allow_same) return SA_OK;
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: %s aliases %s; this operator needs a separate output", fn,
                    bname, aname);
    }
    uintptr_t ub = (uintptr_t)bytes;
    if (pa < pb + ub && pb < pa + ub)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: %s partly overlaps %s", fn, bname, aname);
    return SA_OK;
}

static bool finite(float v) { return isfinite(v); }

Num::Num(double v) {
    // As Java's Float.toString, so that a message reads the same whether a Java builder or a C
    // caller triggered it: NaN, Infinity, 1.0, 0.25, 1.0E-5, -1.4E-45, 3.4028235E38. The digits
    // are the shortest (at least two) that read back as the same float, the closest of that
    // length; plain notation for 1e-3 <= |v| < 1e7, else d.dddEn.
    if (isnan(v)) {
        snprintf(s, sizeof s, "NaN");
        return;
    }
    const float f = (float)v;
    if (isinf(f)) {
        snprintf(s, sizeof s, f > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (f == 0.0f) {
        snprintf(s, sizeof s, signbit(f) ? "-0.0" : "0.0");
        return;
    }
    char e[32];
    for (int n = 2; n <= 9; n++) {
        snprintf(e, sizeof e, "%.*e", n - 1, (double)f);
        if (strtof(e, nullptr) == f) break;
    }
    // e is "[-]d.ddde[+-]xx": collect the digits without trailing zeros, and the exponent.
    const bool neg = e[0] == '-';
    const char* q = e + (neg ? 1 : 0);
    char digits[16];
    int nd = 0;
    for (; *q && *q != 'e'; q++)
        if (*q != '.') digits[nd++] = *q;
    const int exp10 = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = '\0';
    char* out = s;
    if (neg) *out++ = '-';
    const double mag = fabs((double)f);
    if (mag >= 1e-3 && mag < 1e7) {
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++) *out++ = i < nd ? digits[i] : '0';
            *out++ = '.';
            if (nd > exp10 + 1)
                for (int i = exp10 + 1; i < nd; i++) *out++ = digits[i];
            else
                *out++ = '0';
        } else {
            *out++ = '0';
            *out++ = '.';
            for (int i = 0; i < -exp10 - 1; i++) *out++ = '0';
            for (int i = 0; i < nd; i++) *out++ = digits[i];
        }
        *out = '\0';
    } else {
        snprintf(out, sizeof s - (out - s), "%c.%sE%d", digits[0], nd > 1 ? digits + 1 : "0", exp10);
    }
}

int check_params(const char* fn, const sa_params* p) { return check_ptr(fn, p, "params"); }

#define SA_TRY(expr)                        \
    do {                                    \
        int sa_rc_ = (expr);                \
        if (sa_rc_ != SA_OK) return sa_rc_; \
    } while (0)

// ---- the parameter contract: the scalar fields of each operator -----------------------

int check_leaky_params(const char* fn, const sa_params* p) {
    if (!p->alpha_per_channel && !finite(p->alpha))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: alpha = %s must be finite", fn, Num(p->alpha).s);
    return SA_OK;
}

int check_frelu_params(const char* fn, const sa_params* p) {
    if (p->k < 1 || p->k > SA_FRELU_MAX_K || p->k % 2 == 0)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: kernel size k = %d must be odd and in [1, %d]", fn, p->k,
                    SA_FRELU_MAX_K);
    if (p->variant != SA_FRELU_FULL && p->variant != SA_FRELU_LIGHT)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: variant = %d is neither FULL (0) nor LIGHT (1)", fn, p->variant);
    return SA_OK;
}

int check_star_params(const char* fn, const sa_params* p) {
    if (p->act < SA_ACT_IDENTITY || p->act > SA_ACT_LEAKY_RELU)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: act = %d is not one of SA_ACT_*", fn, p->act);
    // Checked whatever the act: a non-finite slope is a caller's mistake even where unused.
    if (!finite(p->alpha))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: alpha = %s must be finite", fn, Num(p->alpha).s);
    return SA_OK;
}

int td_radius(const sa_params* p) {
    if (p->radius > 0) return p->radius;
    double r = ceil(3.0 * (double)p->sigma);
    return !(r >= 1.0) ? 1 : (r > 1e6 ? 1000000 : (int)r);  // NaN sigma: 1 (rejected by the checks)
}

int check_td_params(const char* fn, const sa_params* p) {
    if (!(p->alpha >= 0.0f && p->alpha < 1.0f))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: alpha = %s must be in [0, 1)", fn, Num(p->alpha).s);
    if (!(p->lambda >= 0.0f) || !finite(p->lambda))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: lambda = %s must be finite and >= 0", fn, Num(p->lambda).s);
    if (!(p->sigma > 0.0f) || !finite(p->sigma))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: sigma = %s must be finite and > 0", fn, Num(p->sigma).s);
    if (!(p->eps >= 0.0f) || !finite(p->eps))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: eps = %s must be finite and >= 0", fn, Num(p->eps).s);
    if (p->radius < 0)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: radius = %d must be >= 1 (or 0 for ceil(3 sigma))", fn, p->radius);
    if (td_radius(p) > SA_TD_MAX_RADIUS)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: radius = %d exceeds the maximum %d%s%s%s", fn, td_radius(p),
                    SA_TD_MAX_RADIUS, p->radius == 0 ? " (ceil(3 sigma) with sigma = " : "",
                    p->radius == 0 ? Num(p->sigma).s : "", p->radius == 0 ? ")" : "");
    if (p->iterations < 0 || p->iterations > SA_TD_MAX_ITERATIONS)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: iterations = %d must be in [0, %d]", fn, p->iterations,
                    SA_TD_MAX_ITERATIONS);
    return SA_OK;
}

int check_ntd_params(const char* fn, const sa_params* p) {
    SA_TRY(check_td_params(fn, p));
    if (p->search < 0 || p->search > SA_NTD_MAX_SEARCH)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: search = %d must be in [0, %d]", fn, p->search, SA_NTD_MAX_SEARCH);
    if (p->patch < 0 || p->patch > SA_NTD_MAX_PATCH)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: patch = %d must be in [0, %d]", fn, p->patch, SA_NTD_MAX_PATCH);
    if (!(p->h > 0.0f) || !finite(p->h))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: h = %s must be finite and > 0", fn, Num(p->h).s);
    int window = (2 * p->search + 1) * (2 * p->search + 1);
    if (p->knn < 0 || p->knn > window)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: knn = %d must be in [0, %d] (0 = whole window)", fn, p->knn, window);
    if (p->guide_channels < 0)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: guide_channels = %lld must be >= 0", fn, (long long)p->guide_channels);
    return SA_OK;
}

// ---- per-entry-point checks: parameters, shape, pointers, aliasing ----------------------

// What every entry point checks first, in this order: the params pointer, the shape, the inputs,
// the output, and the output's overlap with each input (exactly equal allowed where the operator
// runs in place). in1 is the second input of a two-input operator (n1 NULL: none).
static int check_io(const char* fn, const float* in0, const char* n0, bool same0, const float* in1, const char* n1,
                    bool same1, const float* y, sa_shape s, const sa_params* p, int64_t* numel) {
    SA_TRY(check_params(fn, p));
    SA_TRY(check_shape(fn, s, numel));
    SA_TRY(check_ptr(fn, in0, n0));
    if (n1) SA_TRY(check_ptr(fn, in1, n1));
    SA_TRY(check_ptr(fn, y, "y"));
    SA_TRY(check_overlap(fn, in0, n0, y, "y", *numel * 4, same0));
    return n1 ? check_overlap(fn, in1, n1, y, "y", *numel * 4, same1) : SA_OK;
}

int check_leaky(const char* fn, const float* x, const float* y, sa_shape s, const sa_params* p, int64_t* numel) {
    SA_TRY(check_io(fn, x, "x", true, nullptr, nullptr, false, y, s, p, numel));
    SA_TRY(check_opt_ptr(fn, p->alpha_per_channel, "params.alpha_per_channel"));
    return check_leaky_params(fn, p);
}

int check_frelu(const char* fn, const float* x, const float* y, sa_shape s, const sa_params* p, int64_t* numel) {
    SA_TRY(check_io(fn, x, "x", false, nullptr, nullptr, false, y, s, p, numel));
    SA_TRY(check_frelu_params(fn, p));
    SA_TRY(check_ptr(fn, p->weight, "params.weight"));
    return check_opt_ptr(fn, p->bias, "params.bias");
}

int check_star(const char* fn, const float* a, const float* b, const float* y, sa_shape s, const sa_params* p,
               int64_t* numel) {
    SA_TRY(check_io(fn, a, "a", true, b, "b", true, y, s, p, numel));
    return check_star_params(fn, p);
}

int check_td(const char* fn, const float* o, const float* y, sa_shape s, const sa_params* p, int64_t* numel) {
    SA_TRY(check_io(fn, o, "o", false, nullptr, nullptr, false, y, s, p, numel));
    return check_td_params(fn, p);
}

int check_ntd(const char* fn, const float* o, const float* guide, const float* y, sa_shape s, const sa_params* p,
              int64_t* numel) {
    SA_TRY(check_io(fn, o, "o", false, nullptr, nullptr, false, y, s, p, numel));
    SA_TRY(check_ntd_params(fn, p));
    if (p->guide_channels > 0) {
        SA_TRY(check_ptr(fn, guide, "guide"));
        // Overflow test first: the product below is only defined once it has passed.
        if (p->guide_channels > INT64_MAX / 16 / (s.n * s.h * s.w))
            return fail(SA_ERR_INVALID_ARGUMENT, "%s: guide_channels = %lld makes the guide too large", fn,
                        (long long)p->guide_channels);
        int64_t gbytes = s.n * p->guide_channels * s.h * s.w * 4;
        uintptr_t pg = (uintptr_t)guide, py = (uintptr_t)y;
        if (pg < py + (uintptr_t)(*numel * 4) && py < pg + (uintptr_t)gbytes)
            return fail(SA_ERR_INVALID_ARGUMENT, "%s: y overlaps guide", fn);
    } else if (guide) {
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: guide given but guide_channels = 0", fn);
    }
    return SA_OK;
}

// ---- FReLU preparation -------------------------------------------------------------------

namespace {

// Checks that a[0 .. n) is finite (and >= 0 when nonneg), naming the array.
int check_finite(const char* fn, const char* what, const char* name, const float* a, int64_t n, bool nonneg) {
    SA_TRY(check_ptr(fn, a, name));
    for (int64_t i = 0; i < n; i++) {
        if (!finite(a[i]) || (nonneg && !(a[i] >= 0.0f)))
            return fail(SA_ERR_INVALID_ARGUMENT, "%s: %s%s[%lld] = %s must be finite%s", fn, what, name, (long long)i,
                        Num(a[i]).s, nonneg ? " and >= 0" : "");
    }
    return SA_OK;
}

enum class Bn { NONE, RAW, FOLDED };

// Which kind of batch norm a branch has, and its checks. what is "bn." or "bn_vertical.".
int check_bn(const char* fn, const char* what, const sa_frelu_bn* bn, int64_t C, Bn* kind) {
    *kind = Bn::NONE;
    if (!bn) return SA_OK;
    const bool raw = bn->gamma || bn->beta || bn->running_mean || bn->running_var;
    const bool folded = bn->scale || bn->shift;
    if (raw && folded)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: give %s's raw batch norm or its folded scale and shift, not both", fn,
                    what);
    if (raw) {
        SA_TRY(check_finite(fn, what, "gamma", bn->gamma, C, false));
        SA_TRY(check_finite(fn, what, "beta", bn->beta, C, false));
        SA_TRY(check_finite(fn, what, "running_mean", bn->running_mean, C, false));
        SA_TRY(check_finite(fn, what, "running_var", bn->running_var, C, true));
        if (!(bn->eps > 0.0f) || !finite(bn->eps))
            return fail(SA_ERR_INVALID_ARGUMENT, "%s: %seps = %s must be finite and > 0", fn, what, Num(bn->eps).s);
        *kind = Bn::RAW;
    } else if (folded) {
        SA_TRY(check_finite(fn, what, "scale", bn->scale, C, false));
        SA_TRY(check_finite(fn, what, "shift", bn->shift, C, false));
        *kind = Bn::FOLDED;
    }
    return SA_OK;
}

// s and t of channel c of one branch, in double.
void bn_fold(const sa_frelu_bn* bn, Bn kind, const float* conv_bias, int64_t c, double* s, double* t) {
    const double b = conv_bias ? (double)conv_bias[c] : 0.0;
    switch (kind) {
        case Bn::RAW:
            *s = (double)bn->gamma[c] / sqrt((double)bn->running_var[c] + (double)bn->eps);
            *t = (double)bn->beta[c] + *s * (b - (double)bn->running_mean[c]);
            break;
        case Bn::FOLDED:
            *s = bn->scale[c];
            *t = (double)bn->shift[c] + *s * b;
            break;
        default:
            *s = 1.0;
            *t = b;
    }
}

}  // namespace

}  // namespace sa

extern "C" {

const char* sa_version(void) { return SA_VERSION_STRING; }

const char* sa_last_error(void) { return sa::g_error; }

int sa_params_init(sa_params* p) {
    if (!p) return sa::fail(SA_ERR_INVALID_ARGUMENT, "sa_params_init: params is NULL");
    memset(p, 0, sizeof *p);
    p->alpha = 0.01f;  /* the defaults of the spec; the Java DEFAULT_* constants are tested against them */
    p->act = SA_ACT_IDENTITY;
    p->k = 3;
    p->variant = SA_FRELU_FULL;
    p->lambda = 0.1f;
    p->sigma = 1.0f;
    p->eps = 0.0f;
    p->radius = 0;
    p->iterations = 5;
    p->search = 3;
    p->patch = 1;
    p->h = 1.0f;
    p->knn = 0;
    p->guide_channels = 0;
    return SA_OK;
}

int sa_td_radius(const sa_params* p) { return p ? sa::td_radius(p) : 0; }

int sa_frelu_prepare(int64_t channels, int32_t k, int32_t variant, const float* weight, const float* weight_vertical,
                     const float* conv_bias, const sa_frelu_bn* bn, const sa_frelu_bn* bn_vertical, float* weight_out,
                     float* bias_out) {
    using namespace sa;
    const char* fn = "sa_frelu_prepare";
    const int64_t C = channels;
    if (C < 1) return fail(SA_ERR_INVALID_ARGUMENT, "%s: channels = %lld must be >= 1", fn, (long long)C);
    sa_params p;
    sa_params_init(&p);
    p.k = k;
    p.variant = variant;
    SA_TRY(check_frelu_params(fn, &p));
    const bool light = variant == SA_FRELU_LIGHT;
    // Overflow test of the sizes: C * 2 * k and C * k * k must fit (k <= 7).
    if (C > INT64_MAX / 64) return fail(SA_ERR_INVALID_ARGUMENT, "%s: channels = %lld is too large", fn, (long long)C);
    const int64_t taps = light ? k : (int64_t)k * k;  // per branch and channel
    SA_TRY(check_finite(fn, "", "weight", weight, C * taps, false));
    Bn kind1, kind2 = Bn::NONE;
    if (light) {
        SA_TRY(check_finite(fn, "", "weight_vertical", weight_vertical, C * taps, false));
        if (conv_bias) return fail(SA_ERR_INVALID_ARGUMENT, "%s: the light variant has no conv bias", fn);
        SA_TRY(check_bn(fn, "bn.", bn, C, &kind1));
        SA_TRY(check_bn(fn, "bn_vertical.", bn_vertical, C, &kind2));
    } else {
        if (weight_vertical)
            return fail(SA_ERR_INVALID_ARGUMENT, "%s: weight_vertical is for the light variant only", fn);
        SA_TRY(check_bn(fn, "bn_vertical.", bn_vertical, C, &kind2));
        if (kind2 != Bn::NONE)
            return fail(SA_ERR_INVALID_ARGUMENT, "%s: a vertical batch norm is for the light variant only", fn);
        if (conv_bias) SA_TRY(check_finite(fn, "", "conv_bias", conv_bias, C, false));
        SA_TRY(check_bn(fn, "bn.", bn, C, &kind1));
    }
    SA_TRY(check_ptr(fn, weight_out, "weight_out"));
    SA_TRY(check_ptr(fn, bias_out, "bias_out"));

    // Two passes: the first only checks that every folded value is finite (finite inputs can
    // still overflow: gamma 3e38 with running_var 0), the second writes. A failed call leaves
    // the outputs untouched.
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t c = 0; c < C; c++) {
            double s1, t1, s2 = 0.0, t2 = 0.0;
            bn_fold(bn, kind1, conv_bias, c, &s1, &t1);
            if (light) bn_fold(bn_vertical, kind2, nullptr, c, &s2, &t2);
            for (int br = 0; br < (light ? 2 : 1) && !pass; br++) {
                const sa_frelu_bn* b = br ? bn_vertical : bn;
                const double sc = br ? s2 : s1;
                if ((br ? kind2 : kind1) == Bn::RAW && !isfinite((float)sc))
                    return fail(SA_ERR_INVALID_ARGUMENT,
                                "%s: %s's folded scale gamma / sqrt(running_var + eps) of channel %lld is not finite "
                                "(gamma = %s, running_var = %s, eps = %s)",
                                fn, br ? "bn_vertical" : "bn", (long long)c, Num(b->gamma[c]).s, Num(b->running_var[c]).s,
                                Num(b->eps).s);
            }
            const double t = t1 + t2;
            if (!pass && !isfinite((float)t))
                return fail(SA_ERR_INVALID_ARGUMENT, "%s: the folded shift of channel %lld is not finite (%s)", fn,
                            (long long)c, Num(t).s);
            if (pass) bias_out[c] = (float)t;
            for (int br = 0; br < (light ? 2 : 1); br++) {
                const float* w = br ? weight_vertical : weight;
                const double sc = br ? s2 : s1;
                float* out = weight_out + c * (light ? 2 * taps : taps) + br * taps;
                for (int64_t i = 0; i < taps; i++) {
                    const float v = (float)(sc * (double)w[c * taps + i]);
                    if (!pass && !isfinite(v))
                        return fail(SA_ERR_INVALID_ARGUMENT,
                                    "%s: the folded %s of channel %lld, tap %lld, is not finite (%s x scale %s)", fn,
                                    br ? "weight_vertical" : "weight", (long long)c, (long long)i,
                                    Num(w[c * taps + i]).s, Num(sc).s);
                    if (pass) out[i] = v;
                }
            }
        }
    }
    return SA_OK;
}

int sa_frelu_fold_bn(int64_t channels, const float* gamma, const float* beta, const float* running_mean,
                     const float* running_var, const float* conv_bias, float eps, float* scale, float* shift) {
    const char* fn = "sa_frelu_fold_bn";
    if (channels < 1) return sa::fail(SA_ERR_INVALID_ARGUMENT, "%s: channels = %lld must be >= 1", fn, (long long)channels);
    if (!(eps > 0.0f) || !isfinite(eps))
        return sa::fail(SA_ERR_INVALID_ARGUMENT, "%s: eps = %g must be finite and > 0", fn, (double)eps);
    const void* req[6] = {gamma, beta, running_mean, running_var, scale, shift};
    const char* names[6] = {"gamma", "beta", "running_mean", "running_var", "scale", "shift"};
    for (int i = 0; i < 6; i++) {
        int rc = sa::check_ptr(fn, req[i], names[i]);
        if (rc != SA_OK) return rc;
    }
    if (conv_bias) {
        int rc = sa::check_ptr(fn, conv_bias, "conv_bias");
        if (rc != SA_OK) return rc;
    }
    for (int64_t c = 0; c < channels; c++) {
        if (!(running_var[c] >= 0.0f))
            return sa::fail(SA_ERR_INVALID_ARGUMENT, "%s: running_var[%lld] = %g must be >= 0", fn, (long long)c,
                            (double)running_var[c]);
    }
    // The same fold as sa_frelu_prepare's (bn_fold), returned as scale and shift.
    const sa_frelu_bn bn = {gamma, beta, running_mean, running_var, eps, nullptr, nullptr};
    for (int64_t c = 0; c < channels; c++) {
        double s, t;
        sa::bn_fold(&bn, sa::Bn::RAW, conv_bias, c, &s, &t);
        scale[c] = (float)s;
        shift[c] = (float)t;
    }
    return SA_OK;
}

}  // extern "C"
