package dev.spatialact;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.NativeLoader;
import dev.spatialact.internal.SpatialActNative;
import dev.spatialact.internal.SpatialActNative.sa_params;

/**
 * FReLU, the funnel activation: y = max(x, T(x)), in one fused pass over the tensor.
 * <ul>
 * <li>{@link #builder(int)}: T = BN(depthwise k x k conv(x) + optional conv bias), zero padding k/2;</li>
 * <li>{@link #lightBuilder(int)}: T = BN1(conv 1xk (x)) + BN2(conv kx1 (x)), no conv bias.</li>
 * </ul>
 * Batch norm is inference-mode: give the raw parameters (gamma, beta, running mean and variance,
 * eps) or an already folded per-channel scale and shift; without either, BN is the identity.
 * The fold s = gamma / sqrt(var + eps), t = beta + s (b - mean) and the scaling of the weights
 * by s are one native call (sa_frelu_prepare), in double, rounded to float once; it also checks
 * every value. max propagates NaN as torch.maximum does. y must not overlap x.
 * Weights from PyTorch: {@link dev.spatialact.io.FReLUWeights}.
 */
public final class FReLU extends UnaryActivation {
    public static final int DEFAULT_KERNEL_SIZE = 3;
    public static final float DEFAULT_EPS = SpatialActNative.SA_FRELU_DEFAULT_BN_EPS;

    private final int channels, k;
    private final boolean light;

    private FReLU(int channels, int k, boolean light, float[] weight, float[] bias, Backend backend) {
        super((light ? "FReLU-light(k=" : "FReLU(k=") + k + ", C=" + channels + ")", SpatialActNative.SA_OP_FRELU, backend,
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

    /** Inference batch norm of one branch: raw, folded or none (the native preparation decides). */
    private static final class Bn {
        float[] gamma, beta, mean, var, scale, shift;
        float eps = DEFAULT_EPS;

        void checkLengths(int C, String which) {
            if (gamma != null || beta != null || mean != null || var != null) {
                Checks.length(gamma, "batchNorm" + which + " gamma", C);
                Checks.length(beta, "batchNorm" + which + " beta", C);
                Checks.length(mean, "batchNorm" + which + " running_mean", C);
                Checks.length(var, "batchNorm" + which + " running_var", C);
            }
            if (scale != null || shift != null) {
                Checks.length(scale, "foldedBatchNorm" + which + " scale", C);
                Checks.length(shift, "foldedBatchNorm" + which + " shift", C);
            }
        }

        /** The native description; its arrays are copied into the enclosing PointerScope. */
        SpatialActNative.sa_frelu_bn toNative() {
            SpatialActNative.sa_frelu_bn b = new SpatialActNative.sa_frelu_bn();
            b.gamma(addr(gamma)).beta(addr(beta)).running_mean(addr(mean)).running_var(addr(var)).eps(eps)
                    .scale(addr(scale)).shift(addr(shift));
            return b;
        }

        private static long addr(float[] a) {
            return a == null ? 0 : ptr(a).address();
        }
    }

    public static final class Builder extends OperatorBuilder<Builder> {
        private final int channels;
        private final boolean light;
        private int k = DEFAULT_KERNEL_SIZE;
        private float[] weight, weight2, convBias;
        private final Bn bn1 = new Bn(), bn2 = new Bn();

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

        public FReLU build() {
            NativeLoader.ensureLoaded();
            final int C = channels;
            final int variant = light ? SpatialActNative.SA_FRELU_LIGHT : SpatialActNative.SA_FRELU_FULL;
            // The parameter contract (k, variant) first: the array lengths below depend on k.
            try (sa_params p = Native.newParams().k(k).variant(variant)) {
                Native.check(SpatialActNative.sa_check_params(SpatialActNative.SA_OP_FRELU, p));
            }
            // Lengths and presence are Java's to check (C sees pointers); values, ranges, the
            // combinations and the arithmetic are the native preparation's.
            final long taps = light ? k : (long) k * k;
            Checks.length(weight, light ? "weight (1 x k)" : "weight", C * taps);
            if (light) Checks.length(weight2, "weightVertical (k x 1)", C * taps);
            if (convBias != null && !light) Checks.length(convBias, "convBias", C);
            bn1.checkLengths(C, "");
            bn2.checkLengths(C, "Vertical");
            float[] wf = new float[(int) (light ? 2 * C * taps : C * taps)];
            float[] bias = new float[C];
            try (PointerScope scope = new PointerScope()) {
                SpatialActNative.sa_frelu_bn b1 = bn1.toNative(), b2 = bn2.toNative();
                FloatPointer wOut = new FloatPointer(wf.length), bOut = new FloatPointer(C);
                Native.check(SpatialActNative.sa_frelu_prepare(C, k, variant, ptr(weight), ptr(weight2), ptr(convBias),
                        b1, b2, wOut, bOut));
                wOut.get(wf);
                bOut.get(bias);
            }
            return new FReLU(C, k, light, wf, bias, backend);
        }
    }

    /** A host copy of a (may be null), owned by the enclosing PointerScope. */
    private static FloatPointer ptr(float[] a) {
        return a == null ? null : new FloatPointer(a);
    }

}
