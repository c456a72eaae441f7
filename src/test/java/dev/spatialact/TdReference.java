package dev.spatialact;

/**
 * Float64 references of TD-LReLU and NTD-LReLU, straight from OPERATORS.md sections 3 and 4.
 * Besides y, they record for every element the smallest |f| over the iterations, so that the
 * hard form can be compared exactly away from gate flips within rounding of 0.
 */
final class TdReference {
    private TdReference() {}

    static final class Result {
        double[] y;
        double[] minAbsF;  // per element, over all iterations (+inf when T = 0)
        double[][] gates;  // u^0 .. u^T of the last plane computed (for energy checks), when recorded
    }

    static double gate(double f, double alpha, double eps) {
        if (eps == 0) return f > 0 ? 1.0 : alpha;
        return alpha + (1 - alpha) / (1 + Math.exp(-(1 - alpha) * f / eps));
    }

    static double[] gauss1(double sigma, int r) {
        double[] g = new double[2 * r + 1];
        double z = 0;
        for (int d = -r; d <= r; d++) z += g[d + r] = Math.exp(-(double) d * d / (2 * sigma * sigma));
        for (int i = 0; i < g.length; i++) g[i] /= z;
        return g;
    }

    /** G * v over one plane, separable, zero padding. */
    static double[] blur(double[] v, int H, int W, double[] g, int r) {
        double[] tmp = new double[H * W], out = new double[H * W];
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                double s = 0;
                for (int d = -r; d <= r; d++) if (j + d >= 0 && j + d < W) s += g[d + r] * v[i * W + j + d];
                tmp[i * W + j] = s;
            }
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                double s = 0;
                for (int d = -r; d <= r; d++) if (i + d >= 0 && i + d < H) s += g[d + r] * tmp[(i + d) * W + j];
                out[i * W + j] = s;
            }
        return out;
    }

    interface Smoother {
        double[] apply(int n, double[] v);  // (W v) on plane of sample n
    }

    static Result iterate(float[] o, Shape s, double alpha, double lambda, int T, double eps, Smoother sm, boolean record) {
        int H = (int) s.h(), W = (int) s.w(), plane = H * W;
        Result res = new Result();
        res.y = new double[o.length];
        res.minAbsF = new double[o.length];
        for (int p = 0; p < s.n() * s.c(); p++) {
            int n = (int) (p / s.c());
            double[] u = new double[plane];
            double[] minF = new double[plane];
            java.util.Arrays.fill(minF, Double.POSITIVE_INFINITY);
            for (int k = 0; k < plane; k++) u[k] = gate(o[p * plane + k], alpha, eps);
            double[][] gates = record ? new double[T + 1][] : null;
            if (record) gates[0] = u.clone();
            for (int t = 0; t < T; t++) {
                double[] v = new double[plane];
                for (int k = 0; k < plane; k++) v[k] = 1 - 2 * u[k];
                double[] gv = sm.apply(n, v);
                for (int k = 0; k < plane; k++) {
                    double f = o[p * plane + k] - lambda * gv[k];
                    minF[k] = Math.min(minF[k], Math.abs(f));
                    u[k] = gate(f, alpha, eps);
                }
                if (record) gates[t + 1] = u.clone();
            }
            for (int k = 0; k < plane; k++) {
                res.y[p * plane + k] = o[p * plane + k] * u[k];
                res.minAbsF[p * plane + k] = minF[k];
            }
            if (record) res.gates = gates;
        }
        return res;
    }

    static Result td(float[] o, Shape s, TDLReLU.Settings st, boolean record) {
        int r = st.radius();
        double[] g = gauss1(st.sigma(), r);
        int H = (int) s.h(), W = (int) s.w();
        return iterate(o, s, st.alpha(), st.lambda(), st.iterations(), st.eps(), (n, v) -> blur(v, H, W, g, r), record);
    }

    /** NTD: weights from the guide (channel mean of o when guide == null), as the spec says. */
    static Result ntd(float[] o, float[] guide, long cg, Shape s, TDLReLU.Settings st, int S, int P, double h, int knn) {
        int N = (int) s.n(), C = (int) s.c(), H = (int) s.h(), W = (int) s.w(), plane = H * W;
        int G = guide == null ? 1 : (int) cg;
        double[][] gd = new double[N][G * plane];
        for (int n = 0; n < N; n++) {
            if (guide == null) {
                for (int c = 0; c < C; c++)
                    for (int k = 0; k < plane; k++) gd[n][k] += o[(n * C + c) * plane + k] / (double) C;
            } else {
                for (int k = 0; k < G * plane; k++) gd[n][k] = guide[n * G * plane + k];
            }
        }
        int win = 2 * S + 1;
        double[][][] wts = new double[N][plane][win * win];
        for (int n = 0; n < N; n++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    double[] wx = wts[n][i * W + j];
                    for (int a = -S; a <= S; a++)
                        for (int b = -S; b <= S; b++) {
                            int yi = i + a, yj = j + b, idx = (a + S) * win + (b + S);
                            if (yi < 0 || yi >= H || yj < 0 || yj >= W) { wx[idx] = 0; continue; }
                            double d = 0;
                            for (int c = 0; c < G; c++)
                                for (int di = -P; di <= P; di++)
                                    for (int dj = -P; dj <= P; dj++) {
                                        double gx = gd[n][c * plane + clamp(i + di, H) * W + clamp(j + dj, W)];
                                        double gy = gd[n][c * plane + clamp(yi + di, H) * W + clamp(yj + dj, W)];
                                        d += (gx - gy) * (gx - gy);
                                    }
                            d /= G * (2 * P + 1) * (2 * P + 1);
                            wx[idx] = Math.exp(-d / (h * h));
                        }
                    int self = S * win + S;
                    if (knn > 0 && knn < win * win) {
                        // keep x and the knn-1 largest others; ties to the lower raster index
                        double[] keep = new double[win * win];
                        keep[self] = wx[self];
                        boolean[] used = new boolean[win * win];
                        used[self] = true;
                        for (int m = 0; m < knn - 1; m++) {
                            int best = -1;
                            for (int q = 0; q < win * win; q++)
                                if (!used[q] && (best < 0 || wx[q] > wx[best])) best = q;
                            used[best] = true;
                            keep[best] = wx[best];
                        }
                        System.arraycopy(keep, 0, wx, 0, keep.length);
                    }
                }
        return iterate(o, s, st.alpha(), st.lambda(), st.iterations(), st.eps(), (n, v) -> {
            double[] out = new double[plane];
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    double num = 0, den = 0;
                    double[] wx = wts[n][i * W + j];
                    for (int a = -S; a <= S; a++)
                        for (int b = -S; b <= S; b++) {
                            int yi = i + a, yj = j + b;
                            if (yi < 0 || yi >= H || yj < 0 || yj >= W) continue;
                            double w = wx[(a + S) * win + (b + S)];
                            num += w * v[yi * W + yj];
                            den += w;
                        }
                    out[i * W + j] = num / den;
                }
            return out;
        }, false);
    }

    static int clamp(int v, int n) {
        return v < 0 ? 0 : (v >= n ? n - 1 : v);
    }
}
