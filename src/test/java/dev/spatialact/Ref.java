package dev.spatialact;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Float64 reference implementations (plain Java, straight from OPERATORS.md) and comparison
 * helpers for the operator tests.
 */
final class Ref {
    private Ref() {}

    /** Relative L2 error bound for FReLU and every other operator against the float64 reference. */
    static final double REL_L2_TOL = 1e-6;
    /** Failures list at most this many mismatching elements. */
    static final int MAX_REPORTED = 8;

    static double leaky(double x, double alpha) {
        if (x > 0) return x;
        if (alpha == 0) return Double.isNaN(x) ? x : 0.0;
        return alpha * x;
    }

    static double maxNan(double a, double b) {
        return (a > b || Double.isNaN(a)) ? a : b;
    }

    static double[] leakyRelu(float[] x, Shape s, float alpha, float[] perChannel) {
        double[] y = new double[x.length];
        long plane = s.planeSize();
        for (int i = 0; i < x.length; i++) {
            double a = perChannel == null ? alpha : perChannel[(int) ((i / plane) % s.c())];
            y[i] = leaky(x[i], a);
        }
        return y;
    }

    static double starAct(double a, Star.Act act, double alpha) {
        return switch (act) {
            case IDENTITY -> a;
            case RELU -> leaky(a, 0);
            case RELU6 -> { double r = leaky(a, 0); yield r > 6 ? 6 : r; }
            case LEAKY_RELU -> leaky(a, alpha);
        };
    }

    static double[] star(float[] a, float[] b, Star.Act act, float alpha) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) y[i] = starAct(a[i], act, alpha) * (double) b[i];
        return y;
    }

    /** Raw FReLU parameters as a PyTorch module holds them. */
    static final class FreluParams {
        int c, k;
        boolean light;
        float[] w, w2, convBias;          // full: C*k*k; light: w = 1xk (C*k), w2 = kx1 (C*k)
        float[] gamma, beta, mean, var;   // BN (1xk branch in light)
        float[] gamma2, beta2, mean2, var2;
        float eps = 1e-5f;

        FReLU build(Backend backend) {
            FReLU.Builder b = light ? FReLU.lightBuilder(c) : FReLU.builder(c);
            b.kernelSize(k).weight(w).eps(eps).backend(backend);
            if (convBias != null) b.convBias(convBias);
            if (gamma != null) b.batchNorm(gamma, beta, mean, var);
            if (light) b.weightVertical(w2).batchNormVertical(gamma2, beta2, mean2, var2);
            return b.build();
        }

        @Override public String toString() {
            return (light ? "FReLU-light" : "FReLU") + "(C=" + c + ", k=" + k + ", bias=" + (convBias != null) + ", bn="
                    + (gamma != null) + ")";
        }
    }

    static FreluParams randomFrelu(SplittableRandom r, int c, int k, boolean light, boolean bias, boolean bn) {
        FreluParams p = new FreluParams();
        p.c = c;
        p.k = k;
        p.light = light;
        double scale = 1.0 / k;
        p.w = uniform(r, light ? c * k : c * k * k, scale);
        if (light) p.w2 = uniform(r, c * k, scale);
        if (bias && !light) p.convBias = uniform(r, c, 0.5);
        if (bn || light) {
            p.gamma = uniformIn(r, c, 0.5, 1.5);
            p.beta = uniform(r, c, 0.3);
            p.mean = uniform(r, c, 0.3);
            p.var = uniformIn(r, c, 0.2, 2.0);
            if (light) {
                p.gamma2 = uniformIn(r, c, 0.5, 1.5);
                p.beta2 = uniform(r, c, 0.3);
                p.mean2 = uniform(r, c, 0.3);
                p.var2 = uniformIn(r, c, 0.2, 2.0);
            }
        }
        return p;
    }

    static double[] frelu(float[] x, Shape s, FreluParams p) {
        int C = (int) s.c(), H = (int) s.h(), W = (int) s.w(), k = p.k, R = k / 2;
        double[] y = new double[x.length];
        for (int n = 0; n < s.n(); n++)
            for (int c = 0; c < C; c++) {
                double sc = 1, sh = 0, sc2 = 1, sh2 = 0;
                if (p.gamma != null) {
                    sc = p.gamma[c] / Math.sqrt((double) p.var[c] + p.eps);
                    double b = p.convBias == null ? 0 : p.convBias[c];
                    sh = p.beta[c] + sc * (b - p.mean[c]);
                } else if (p.convBias != null) {
                    sh = p.convBias[c];
                }
                if (p.light) {
                    sc2 = p.gamma2[c] / Math.sqrt((double) p.var2[c] + p.eps);
                    sh2 = p.beta2[c] - sc2 * p.mean2[c];
                }
                int base = (n * C + c) * H * W;
                for (int i = 0; i < H; i++)
                    for (int j = 0; j < W; j++) {
                        double t;
                        if (!p.light) {
                            double acc = 0;
                            for (int a = 0; a < k; a++)
                                for (int b = 0; b < k; b++) {
                                    int ii = i + a - R, jj = j + b - R;
                                    if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
                                    acc += (double) p.w[(c * k + a) * k + b] * x[base + ii * W + jj];
                                }
                            t = sc * acc + sh;
                        } else {
                            double hs = 0, vs = 0;
                            for (int b = 0; b < k; b++) {
                                int jj = j + b - R;
                                if (jj >= 0 && jj < W) hs += (double) p.w[c * k + b] * x[base + i * W + jj];
                            }
                            for (int a = 0; a < k; a++) {
                                int ii = i + a - R;
                                if (ii >= 0 && ii < H) vs += (double) p.w2[c * k + a] * x[base + ii * W + j];
                            }
                            t = sc * hs + sh + sc2 * vs + sh2;
                        }
                        y[base + i * W + j] = maxNan(x[base + i * W + j], t);
                    }
            }
        return y;
    }

    // ---- data ----

    static float[] uniform(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            float v;
            do { v = (float) ((r.nextDouble() * 2 - 1) * scale); } while (v == 0f);  // never zeros
            a[i] = v;
        }
        return a;
    }

    static float[] uniformIn(SplittableRandom r, int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (lo + r.nextDouble() * (hi - lo));
        return a;
    }

    /** Random input in [-2, 2] (no zeros), with a few NaN and +-Inf when specials is set. */
    static float[] input(SplittableRandom r, int n, boolean specials) {
        float[] x = uniform(r, n, 2.0);
        if (specials && n >= 1) {
            float[] sp = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
            int count = Math.max(1, n / 97);
            for (int i = 0; i < count; i++) x[r.nextInt(n)] = sp[i % 3];
        }
        return x;
    }

    // ---- comparison ----

    /**
     * Asserts that got matches want: identical non-finite values at the same places (NaN where
     * NaN, +-Inf where +-Inf) and relative L2 error over the finite ones within tol. The message
     * names the seed, the case and the first mismatches.
     */
    static void assertClose(double[] want, float[] got, double tol, long seed, String what) {
        if (want.length != got.length) throw new AssertionError(what + ": length " + got.length + " != " + want.length);
        double num = 0, den = 0;
        List<String> bad = new ArrayList<>();
        int badCount = 0;
        for (int i = 0; i < want.length; i++) {
            double w = want[i], g = got[i];
            boolean wf = Double.isFinite(w), gf = Double.isFinite(g);
            if (!wf || !gf) {
                boolean same = (Double.isNaN(w) && Double.isNaN(g)) || w == g;
                if (!same) {
                    badCount++;
                    if (bad.size() < MAX_REPORTED) bad.add("[" + i + "] want " + w + " got " + g);
                }
                continue;
            }
            double d = w - g;
            num += d * d;
            den += w * w;
            if (Math.abs(d) > 1e-4 * Math.max(1, Math.abs(w))) {
                badCount++;
                if (bad.size() < MAX_REPORTED) bad.add("[" + i + "] want " + w + " got " + g);
            }
        }
        double rel = den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
        if (rel > tol || badCount > 0)
            throw new AssertionError(what + " (seed " + seed + "): relative L2 error " + rel + " (tolerance " + tol + "), "
                    + badCount + " element mismatches; first: " + bad);
    }
}
