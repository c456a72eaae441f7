// Helpers shared by the native test and benchmark programs: a seeded generator, the output
// poison, float64 comparisons with exact NaN/Inf positions, and small device-buffer handles
// over the library's own sa_cuda_* calls (so these programs need no CUDA headers).
#ifndef SA_TEST_UTIL_H
#define SA_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "spatialact/spatialact.h"

namespace sat {

// Relative L2 error allowed against a float64 reference (and between two float results).
// float32 rounds at ~6e-8; a 7 x 7 FMA chain stays well below this on the test data.
// For sums (FReLU's T) the error a correct float32 kernel makes scales with the sum of the
// terms' magnitudes, not with the (possibly cancelled) result, so compare() accepts an
// optional per-element magnitude and divides by the L2 norm of max(|ref|, magnitude). On a
// large tensor this is the plain relative L2 error; on a 1-element plane whose T cancels to
// nearly zero it stops rounding noise from counting as an error.
constexpr double kRelL2Tol = 1e-6;

// ---- a tally of checks (the small test programs) ------------------------------------------

// Counts passed and failed checks; a failure prints what and the library's last message.
struct Tally {
    int passed = 0, failed = 0;
    void operator()(bool ok, const std::string& what) {
        if (ok) {
            passed++;
        } else {
            failed++;
            printf("FAIL %s (last error: %s)\n", what.c_str(), sa_last_error());
        }
    }
};

// ---- data ------------------------------------------------------------------------------

// splitmix64: tiny, seedable, the same stream on every platform.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double unit() { return (double)(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
    // Uniform in [lo, hi), never exactly zero (zeros hide sign and slope bugs).
    float nonzero(float lo, float hi) {
        for (;;) {
            float v = (float)(lo + (hi - lo) * unit());
            if (v != 0.0f) return v;
        }
    }
    int64_t below(int64_t n) { return (int64_t)(next() % (uint64_t)n); }
};

inline void fill_uniform(Rng& r, std::vector<float>& v, float lo, float hi) {
    for (float& x : v) x = r.nonzero(lo, hi);
}

// Puts NaN, +Inf and -Inf (in turn) at `count` random positions.
inline void inject_specials(Rng& r, std::vector<float>& v, int64_t count) {
    const float specials[3] = {NAN, INFINITY, -INFINITY};
    for (int64_t k = 0; k < count; k++) v[(size_t)r.below((int64_t)v.size())] = specials[k % 3];
}

// The output poison: a negative quiet NaN with a payload no arithmetic produces, so an
// element the kernel failed to write is told apart from a NaN it computed.
constexpr uint32_t kPoisonBits = 0xFFC0FFEEu;
inline float poison() {
    float f;
    memcpy(&f, &kPoisonBits, 4);
    return f;
}
inline bool is_poison(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return b == kPoisonBits;
}
inline void fill_poison(float* p, int64_t n) {
    const float v = poison();
    for (int64_t i = 0; i < n; i++) p[i] = v;
}

inline std::string shape_str(sa_shape s) {
    char b[96];
    snprintf(b, sizeof b, "%lldx%lldx%lldx%lld", (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.w);
    return b;
}
inline int64_t numel(sa_shape s) { return s.n * s.c * s.h * s.w; }

inline std::string index_str(sa_shape s, int64_t i) {
    const int64_t j = i % s.w, r = (i / s.w) % s.h, c = (i / (s.w * s.h)) % s.c, n = i / (s.w * s.h * s.c);
    char b[96];
    snprintf(b, sizeof b, "[%lld,%lld,%lld,%lld]", (long long)n, (long long)c, (long long)r, (long long)j);
    return b;
}

// ---- comparison ---------------------------------------------------------------------------

struct Verdict {
    bool ok = true;
    double rel_l2 = 0.0;
    int64_t mismatches = 0;  // NaN/Inf position errors, unwritten (poison) or non-finite outputs
    int64_t identical = 0;   // bit-identical (or both-NaN) elements, for information
    std::string detail;      // the first mismatches, printable
};

// got vs a float64 reference: NaN exactly where the reference is NaN, +-Inf exactly where it
// is +-Inf, finite elsewhere, and relative L2 error over the finite part <= tol. `want_f`
// (optional) is a float result to count bit-identical elements against; `mag` (optional) the
// per-element magnitude of the summed terms (see kRelL2Tol).
inline Verdict compare(const float* got, const double* ref, sa_shape s, double tol, const float* want_f = nullptr,
                       const double* mag = nullptr) {
    Verdict v;
    const int64_t n = numel(s);
    double err2 = 0.0, ref2 = 0.0;
    int shown = 0;
    auto note = [&](int64_t i, const char* why) {
        v.mismatches++;
        if (shown++ < 5) {
            char b[256];
            snprintf(b, sizeof b, "    %s at %s (flat %lld): got %.9g, want %.17g\n", why, index_str(s, i).c_str(),
                     (long long)i, (double)got[i], ref[i]);
            v.detail += b;
        }
    };
    for (int64_t i = 0; i < n; i++) {
        const float g = got[i];
        const double r = ref[i];
        if (want_f) {
            uint32_t a, b;
            memcpy(&a, &got[i], 4);
            memcpy(&b, &want_f[i], 4);
            if (a == b || (isnan(got[i]) && isnan(want_f[i]))) v.identical++;
        }
        if (is_poison(g)) {
            note(i, "not written (poison)");
        } else if (isnan(r)) {
            if (!isnan(g)) note(i, "NaN expected");
        } else if (isinf(r)) {
            if (!(g == r)) note(i, "Inf expected");
        } else if (!isfinite(g)) {
            note(i, "finite expected");
        } else {
            const double d = (double)g - r;
            err2 += d * d;
            const double m = mag && fabs(mag[i]) > fabs(r) ? mag[i] : r;
            ref2 += m * m;
        }
    }
    v.rel_l2 = ref2 > 0.0 ? sqrt(err2 / ref2) : sqrt(err2);
    v.ok = v.mismatches == 0 && v.rel_l2 <= tol;
    if (v.mismatches > 5) v.detail += "    ... " + std::to_string(v.mismatches - 5) + " more\n";
    if (v.rel_l2 > tol && v.mismatches == 0) {
        // Show where the error is largest when it is diffuse.
        int64_t worst = 0;
        double wd = -1.0;
        for (int64_t i = 0; i < n; i++) {
            if (!isfinite(ref[i])) continue;
            const double d = fabs((double)got[i] - ref[i]);
            if (d > wd) wd = d, worst = i;
        }
        char b[256];
        snprintf(b, sizeof b, "    largest error at %s: got %.9g, want %.17g\n", index_str(s, worst).c_str(),
                 (double)got[worst], ref[worst]);
        v.detail += b;
    }
    return v;
}

// A float result used as the reference (e.g. GPU vs CPU).
inline Verdict compare_f(const float* got, const float* want, sa_shape s, double tol, const double* mag = nullptr) {
    std::vector<double> ref((size_t)numel(s));
    for (size_t i = 0; i < ref.size(); i++) ref[i] = (double)want[i];
    return compare(got, ref.data(), s, tol, want, mag);
}

// ---- device buffers over the library's CUDA calls -----------------------------------------

struct DevBuf {
    void* p = nullptr;
    int64_t bytes = 0;
    int rc = SA_OK;
    DevBuf() = default;
    explicit DevBuf(int64_t b) : bytes(b) { rc = sa_cuda_malloc(0, b, &p); }
    DevBuf(const DevBuf&) = delete;
    DevBuf& operator=(const DevBuf&) = delete;
    ~DevBuf() {
        if (p) sa_cuda_free(0, p);
    }
    float* f() const { return (float*)p; }
};

}  // namespace sat

#endif
