// Library-wide pieces: version, per-thread error messages, defaults and argument checks.
#include "sa_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
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

int check_params(const char* fn, const sa_params* p) { return check_ptr(fn, p, "params"); }

#define SA_TRY(expr)                 \
    do {                             \
        int sa_rc_ = (expr);         \
        if (sa_rc_ != SA_OK) return sa_rc_; \
    } while (0)

int check_leaky(const char* fn, const float* x, const float* y, sa_shape s, const sa_params* p, int64_t* numel) {
    SA_TRY(check_params(fn, p));
    SA_TRY(check_shape(fn, s, numel));
    SA_TRY(check_ptr(fn, x, "x"));
    SA_TRY(check_ptr(fn, y, "y"));
    SA_TRY(check_overlap(fn, x, "x", y, "y", *numel * 4, true));
    SA_TRY(check_opt_ptr(fn, p->alpha_per_channel, "params.alpha_per_channel"));
    if (!p->alpha_per_channel && !finite(p->alpha))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: alpha = %g is not finite", fn, (double)p->alpha);
    return SA_OK;
}

int check_frelu(const char* fn, const float* x, const float* y, sa_shape s, const sa_params* p, int64_t* numel) {
    SA_TRY(check_params(fn, p));
    SA_TRY(check_shape(fn, s, numel));
    SA_TRY(check_ptr(fn, x, "x"));
    SA_TRY(check_ptr(fn, y, "y"));
    SA_TRY(check_overlap(fn, x, "x", y, "y", *numel * 4, false));
    if (p->k < 1 || p->k > SA_FRELU_MAX_K || p->k % 2 == 0)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: kernel size k = %d must be odd and in [1, %d]", fn, p->k,
                    SA_FRELU_MAX_K);
    if (p->variant != SA_FRELU_FULL && p->variant != SA_FRELU_LIGHT)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: variant = %d is neither FULL (0) nor LIGHT (1)", fn, p->variant);
    SA_TRY(check_ptr(fn, p->weight, "params.weight"));
    SA_TRY(check_opt_ptr(fn, p->bias, "params.bias"));
    return SA_OK;
}

int check_star(const char* fn, const float* a, const float* b, const float* y, sa_shape s, const sa_params* p,
               int64_t* numel) {
    SA_TRY(check_params(fn, p));
    SA_TRY(check_shape(fn, s, numel));
    SA_TRY(check_ptr(fn, a, "a"));
    SA_TRY(check_ptr(fn, b, "b"));
    SA_TRY(check_ptr(fn, y, "y"));
    SA_TRY(check_overlap(fn, a, "a", y, "y", *numel * 4, true));
    SA_TRY(check_overlap(fn, b, "b", y, "y", *numel * 4, true));
    if (p->act < SA_ACT_IDENTITY || p->act > SA_ACT_LEAKY_RELU)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: act = %d is not one of SA_ACT_*", fn, p->act);
    if (p->act == SA_ACT_LEAKY_RELU && !finite(p->alpha))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: alpha = %g is not finite", fn, (double)p->alpha);
    return SA_OK;
}

int td_radius(const sa_params* p) {
    if (p->radius > 0) return p->radius;
    double r = ceil(3.0 * (double)p->sigma);
    return r < 1.0 ? 1 : (r > 1e6 ? 1000000 : (int)r);
}

static int check_td_params(const char* fn, const sa_params* p) {
    if (!(p->alpha >= 0.0f && p->alpha < 1.0f))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: alpha = %g must be in [0, 1)", fn, (double)p->alpha);
    if (!(p->lambda >= 0.0f) || !finite(p->lambda))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: lambda = %g must be finite and >= 0", fn, (double)p->lambda);
    if (!(p->sigma > 0.0f) || !finite(p->sigma))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: sigma = %g must be finite and > 0", fn, (double)p->sigma);
    if (!(p->eps >= 0.0f) || !finite(p->eps))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: eps = %g must be finite and >= 0", fn, (double)p->eps);
    if (p->radius < 0)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: radius = %d must be >= 1 (or 0 for ceil(3 sigma))", fn, p->radius);
    if (td_radius(p) > SA_TD_MAX_RADIUS)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: radius = %d exceeds the maximum %d (sigma = %g)", fn, td_radius(p),
                    SA_TD_MAX_RADIUS, (double)p->sigma);
    if (p->iterations < 0 || p->iterations > 1000)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: iterations = %d must be in [0, 1000]", fn, p->iterations);
    return SA_OK;
}

int check_td(const char* fn, const float* o, const float* y, sa_shape s, const sa_params* p, int64_t* numel) {
    SA_TRY(check_params(fn, p));
    SA_TRY(check_shape(fn, s, numel));
    SA_TRY(check_ptr(fn, o, "o"));
    SA_TRY(check_ptr(fn, y, "y"));
    SA_TRY(check_overlap(fn, o, "o", y, "y", *numel * 4, false));
    return check_td_params(fn, p);
}

int check_ntd(const char* fn, const float* o, const float* guide, const float* y, sa_shape s, const sa_params* p,
              int64_t* numel) {
    SA_TRY(check_td(fn, o, y, s, p, numel));
    if (p->search < 0 || p->search > SA_NTD_MAX_SEARCH)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: search = %d must be in [0, %d]", fn, p->search, SA_NTD_MAX_SEARCH);
    if (p->patch < 0 || p->patch > SA_NTD_MAX_PATCH)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: patch = %d must be in [0, %d]", fn, p->patch, SA_NTD_MAX_PATCH);
    if (!(p->h > 0.0f) || !finite(p->h))
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: h = %g must be finite and > 0", fn, (double)p->h);
    int window = (2 * p->search + 1) * (2 * p->search + 1);
    if (p->knn < 0 || p->knn > window)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: knn = %d must be in [0, %d] (0 = whole window)", fn, p->knn, window);
    if (p->guide_channels < 0)
        return fail(SA_ERR_INVALID_ARGUMENT, "%s: guide_channels = %lld must be >= 0", fn, (long long)p->guide_channels);
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

}  // namespace sa

extern "C" {

const char* sa_version(void) { return SA_VERSION_STRING; }

const char* sa_last_error(void) { return sa::g_error; }

int sa_params_init(sa_params* p) {
    if (!p) return sa::fail(SA_ERR_INVALID_ARGUMENT, "sa_params_init: params is NULL");
    memset(p, 0, sizeof *p);
    p->alpha = 0.01f;
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
    for (int64_t c = 0; c < channels; c++) {
        double s = (double)gamma[c] / sqrt((double)running_var[c] + (double)eps);
        double b = conv_bias ? (double)conv_bias[c] : 0.0;
        scale[c] = (float)s;
        shift[c] = (float)((double)beta[c] + s * (b - (double)running_mean[c]));
    }
    return SA_OK;
}

}  // extern "C"
