package dev.spatialact;

import java.nio.FloatBuffer;

import org.bytedeco.javacpp.FloatPointer;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.NativeLoader;
import dev.spatialact.internal.SpatialActNative;
import dev.spatialact.internal.SpatialActNative.sa_params;
import dev.spatialact.internal.SpatialActNative.sa_shape;

/**
 * FReLU, the funnel activation: y = max(x, T(x)), in one fused pass over the tensor.
 * <ul>
 * <li>{@link #builder(int)}: T = BN(depthwise k x k conv(x) + optional conv bias), zero padding k/2;</li>
 * <li>{@link #lightBuilder(int)}: T = BN1(conv 1xk (x)) + BN2(conv kx1 (x)), no conv bias.</li>
 * </ul>
 * Batch norm is inference-mode: give the raw parameters (gamma, beta, running mean and variance,
 * eps) or an already folded per-channel scale and shift; without either, BN is the identity.
 * The fold s = gamma / sqrt(var + eps), t = beta + s (b - mean) is done once (native
 * sa_frelu_fold_bn), and s is multiplied into the weights. max propagates NaN as torch.maximum does. y must not overlap x.
 * Weights from PyTorch: {@link dev.spatialact.io.FReLUWeights}.
 */
public final class FReLU extends UnaryActivation {
    public static final int DEFAULT_KERNEL_SIZE = 3;
    public static final float DEFAULT_EPS = 1e-5f;

    private final int channels, k;
    private final boolean light;

    private FReLU(int channels, int k, boolean light, float[] weight, float[] bias, Backend backend) {
        super((light ? "FReLU-light(k=" : "FReLU(k=") + k + ", C=" + channels + ")", backend,
                Native.newParams().k(k).variant(light ? SpatialActNative.SA_FRELU_LIGHT : SpatialActNative.SA_FRELU_FULL),
                null, weight, bias);
        this.channels = channels;
        this.k = k;
        this.light = light;
    }

    /** A builder of the k x k FReLU over {@code channels} channels. */
    public static Builder builder(int channels) {
        return new Builder(channels, false);
    }

    /** A builder of the light FReLU (1xk + kx1) over {@code channels} channels. */
    public static Builder lightBuilder(int channels) {
        return new Builder(channels, true);
    }

    public int channels() { return channels; }
    public int kernelSize() { return k; }
    public boolean isLight() { return light; }

    @Override
    void checkShape(Shape shape) {
        if (shape.c() != channels)
            throw SpatialActException.invalid(name() + " has " + channels + " channels; shape " + shape + " has " + shape.c());
    }

    /** Inference batch norm of one branch: raw or folded. */
    private static final class Bn {
        float[] gamma, beta, mean, var, scale, shift;
        float eps = DEFAULT_EPS;
    }

    public static final class Builder {
        private final int channels;
        private final boolean light;
        private int k = DEFAULT_KERNEL_SIZE;
        private float[] weight, weight2, convBias;
        private final Bn bn1 = new Bn(), bn2 = new Bn();
        private Backend backend = Backend.AUTO;

        private Builder(int channels, boolean light) {
            if (channels < 1) throw SpatialActException.invalid("FReLU: channels = " + channels + " must be >= 1");
            this.channels = channels;
            this.light = light;
        }

        /** Odd kernel size in [1, 7]; default 3. */
        public Builder kernelSize(int k) {
            this.k = k;
            return this;
        }

        /** Depthwise weights, C x k x k (PyTorch's C x 1 x k x k); light: the 1 x k weights, C x k. */
        public Builder weight(float[] w) {
            this.weight = w;
            return this;
        }

        /** Light variant only: the k x 1 weights, C x k. */
        public Builder weightVertical(float[] w) {
            this.weight2 = w;
            return this;
        }

        /** Optional conv bias, C values (the MegEngine original has one; k x k variant only). */
        public Builder convBias(float[] b) {
            this.convBias = b;
            return this;
        }

        /** Raw inference batch norm (of the 1 x k branch in the light variant). */
        public Builder batchNorm(float[] gamma, float[] beta, float[] runningMean, float[] runningVar) {
            bn1.gamma = gamma; bn1.beta = beta; bn1.mean = runningMean; bn1.var = runningVar;
            return this;
        }

        /** Light variant only: raw batch norm of the k x 1 branch. */
        public Builder batchNormVertical(float[] gamma, float[] beta, float[] runningMean, float[] runningVar) {
            bn2.gamma = gamma; bn2.beta = beta; bn2.mean = runningMean; bn2.var = runningVar;
            return this;
        }

        /** Batch norm eps (both branches); default 1e-5, must be > 0. */
        public Builder eps(float eps) {
            bn1.eps = eps;
            bn2.eps = eps;
            return this;
        }

        /** Already folded batch norm: T = scale * conv + shift (of the 1 x k branch in the light variant). */
        public Builder foldedBatchNorm(float[] scale, float[] shift) {
            bn1.scale = scale; bn1.shift = shift;
            return this;
        }

        /** Light variant only: folded batch norm of the k x 1 branch. */
        public Builder foldedBatchNormVertical(float[] scale, float[] shift) {
            bn2.scale = scale; bn2.shift = shift;
            return this;
        }

        public Builder backend(Backend backend) {
            this.backend = backend;
            return this;
        }

        public FReLU build() {
            if (k < 1 || k > SpatialActNative.SA_FRELU_MAX_K || k % 2 == 0)
                throw SpatialActException.invalid("FReLU: kernel size k = " + k + " must be odd and in [1, " + SpatialActNative.SA_FRELU_MAX_K + "]");
            NativeLoader.ensureLoaded();
            final int C = channels;
            if (!light) {
                float[] w = Checks.finiteArray(weight, "weight", (long) C * k * k);
                if (weight2 != null) throw SpatialActException.invalid("FReLU: weightVertical is for the light variant only");
                if (bn2.gamma != null || bn2.scale != null)
                    throw SpatialActException.invalid("FReLU: a vertical batch norm is for the light variant only");
                double[][] st = fold(bn1, convBias, C, "");
                float[] wf = new float[w.length];
                for (int c = 0; c < C; c++)
                    for (int i = 0; i < k * k; i++) wf[c * k * k + i] = (float) (st[0][c] * w[c * k * k + i]);
                float[] bias = new float[C];
                for (int c = 0; c < C; c++) bias[c] = (float) st[1][c];
                return new FReLU(C, k, false, wf, bias, backend);
            }
            if (convBias != null) throw SpatialActException.invalid("FReLU light has no conv bias");
            float[] wh = Checks.finiteArray(weight, "weight (1 x k)", (long) C * k);
            float[] wv = Checks.finiteArray(weight2, "weightVertical (k x 1)", (long) C * k);
            double[][] st1 = fold(bn1, null, C, "");
            double[][] st2 = fold(bn2, null, C, "Vertical");
            float[] wf = new float[2 * C * k];
            float[] bias = new float[C];
            for (int c = 0; c < C; c++) {
                for (int i = 0; i < k; i++) {
                    wf[c * 2 * k + i] = (float) (st1[0][c] * wh[c * k + i]);
                    wf[c * 2 * k + k + i] = (float) (st2[0][c] * wv[c * k + i]);
                }
                bias[c] = (float) (st1[1][c] + st2[1][c]);
            }
            return new FReLU(C, k, true, wf, bias, backend);
        }

        /** {scale[C], shift[C]} of one branch, in double. */
        private static double[][] fold(Bn bn, float[] convBias, int C, String which) {
            double[] s = new double[C], t = new double[C];
            float[] b = convBias == null ? null : Checks.finiteArray(convBias, "convBias", C);
            boolean raw = bn.gamma != null || bn.beta != null || bn.mean != null || bn.var != null;
            if (raw && bn.scale != null)
                throw SpatialActException.invalid("FReLU: give raw batchNorm" + which + " or foldedBatchNorm" + which + ", not both");
            if (raw) {
                float[] g = Checks.finiteArray(bn.gamma, "batchNorm" + which + " gamma", C);
                float[] be = Checks.finiteArray(bn.beta, "batchNorm" + which + " beta", C);
                float[] m = Checks.finiteArray(bn.mean, "batchNorm" + which + " running_mean", C);
                float[] v = Checks.finiteArray(bn.var, "batchNorm" + which + " running_var", C);
                if (!(bn.eps > 0f) || !Float.isFinite(bn.eps))
                    throw SpatialActException.invalid("FReLU: eps = " + bn.eps + " must be finite and > 0");
                // The fold itself is the native sa_frelu_fold_bn (double inside), shared by every caller.
                float[] sf = new float[C], tf = new float[C];
                Native.check(SpatialActNative.sa_frelu_fold_bn(C, g, be, m, v, b, bn.eps, sf, tf));
                for (int c = 0; c < C; c++) {
                    s[c] = sf[c];
                    t[c] = tf[c];
                }
            } else if (bn.scale != null || bn.shift != null) {
                float[] sc = Checks.finiteArray(bn.scale, "foldedBatchNorm" + which + " scale", C);
                float[] sh = Checks.finiteArray(bn.shift, "foldedBatchNorm" + which + " shift", C);
                for (int c = 0; c < C; c++) {
                    s[c] = sc[c];
                    t[c] = sh[c] + (b == null ? 0.0 : sc[c] * (double) b[c]);
                }
            } else {
                for (int c = 0; c < C; c++) {
                    s[c] = 1.0;
                    t[c] = b == null ? 0.0 : b[c];
                }
            }
            return new double[][] {s, t};
        }
    }

    @Override int cpu(float[] x, float[] y, sa_shape s, sa_params p) { return SpatialActNative.sa_cpu_frelu_forward(x, y, s, p); }
    @Override int cpu(FloatBuffer x, FloatBuffer y, sa_shape s, sa_params p) { return SpatialActNative.sa_cpu_frelu_forward(x, y, s, p); }
    @Override int cpu(FloatPointer x, FloatPointer y, sa_shape s, sa_params p) { return SpatialActNative.sa_cpu_frelu_forward(x, y, s, p); }
    @Override int cuda(long x, long y, sa_shape s, sa_params p, long stream) { return SpatialActNative.sa_cuda_frelu_forward(x, y, s, p, stream); }
}
