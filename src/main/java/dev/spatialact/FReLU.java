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
    /** The default kernel size k, 3 (the paper's). */
    public static final int DEFAULT_KERNEL_SIZE = 3;
    /** The default batch-norm eps, 1e-5 (PyTorch's BatchNorm2d default). */
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

    /**
     * A builder of the k x k FReLU.
     *
     * @param channels C, the channels of the inputs it takes; at least 1
     * @return the builder (k = 3, no batch norm, AUTO backend; the weight is required)
     * @throws SpatialActException INVALID_ARGUMENT if channels is below 1
     */
    public static Builder builder(int channels) {
        return new Builder(channels, false);
    }

    /**
     * A builder of the light FReLU (1 x k + k x 1).
     *
     * @param channels C, the channels of the inputs it takes; at least 1
     * @return the builder (k = 3, no batch norm, AUTO backend; both weights are required)
     * @throws SpatialActException INVALID_ARGUMENT if channels is below 1
     */
    public static Builder lightBuilder(int channels) {
        return new Builder(channels, true);
    }

    /** {@return C, the channels every input must have} */
    public int channels() { return channels; }
    /** {@return the kernel size k} */
    public int kernelSize() { return k; }
    /** {@return true for the light variant (1 x k + k x 1), false for k x k} */
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

    /**
     * Builder of an {@link FReLU}: the kernel size, the weights, the optional conv bias and batch
     * norm, and the backend. The setters keep the arrays given; {@link #build()} checks and folds
     * them into the operator's own copies.
     */
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

        /**
         * Sets the kernel size (checked when built).
         *
         * @param k odd, in [1, 7]; default 3
         * @return this builder
         */
        public Builder kernelSize(int k) {
            this.k = k;
            return this;
        }

        /**
         * Sets the depthwise conv weights (required).
         *
         * @param w C x k x k values (PyTorch's C x 1 x k x k flattened); light: the 1 x k
         *     weights, C x k values; each finite
         * @return this builder
         */
        public Builder weight(float[] w) {
            this.weight = w;
            return this;
        }

        /**
         * Sets the k x 1 weights of the light variant (required there, rejected otherwise).
         *
         * @param w C x k values, each finite
         * @return this builder
         */
        public Builder weightVertical(float[] w) {
            this.weight2 = w;
            return this;
        }

        /**
         * Sets the optional conv bias (the MegEngine original has one; k x k variant only, rejected
         * by the light one).
         *
         * @param b C values, each finite; null for none (the default)
         * @return this builder
         */
        public Builder convBias(float[] b) {
            this.convBias = b;
            return this;
        }

        /**
         * Sets raw inference batch norm, folded with {@link #eps} when built (of the 1 x k branch
         * in the light variant). Not together with {@link #foldedBatchNorm}.
         *
         * @param gamma C scales, each finite
         * @param beta C shifts, each finite
         * @param runningMean C means, each finite
         * @param runningVar C variances, each finite and {@code >= 0}
         * @return this builder
         */
        public Builder batchNorm(float[] gamma, float[] beta, float[] runningMean, float[] runningVar) {
            bn1.gamma = gamma; bn1.beta = beta; bn1.mean = runningMean; bn1.var = runningVar;
            return this;
        }

        /**
         * Sets raw batch norm of the k x 1 branch (light variant only). Not together with
         * {@link #foldedBatchNormVertical}.
         *
         * @param gamma C scales, each finite
         * @param beta C shifts, each finite
         * @param runningMean C means, each finite
         * @param runningVar C variances, each finite and {@code >= 0}
         * @return this builder
         */
        public Builder batchNormVertical(float[] gamma, float[] beta, float[] runningMean, float[] runningVar) {
            bn2.gamma = gamma; bn2.beta = beta; bn2.mean = runningMean; bn2.var = runningVar;
            return this;
        }

        /**
         * Sets the eps of raw batch norm (both branches; unused by folded batch norm).
         *
         * @param eps finite and {@code > 0}; default 1e-5
         * @return this builder
         */
        public Builder eps(float eps) {
            bn1.eps = eps;
            bn2.eps = eps;
            return this;
        }

        /**
         * Sets already folded batch norm: T = scale * conv + shift (of the 1 x k branch in the light
         * variant). Not together with {@link #batchNorm}.
         *
         * @param scale C values, each finite
         * @param shift C values, each finite
         * @return this builder
         */
        public Builder foldedBatchNorm(float[] scale, float[] shift) {
            bn1.scale = scale; bn1.shift = shift;
            return this;
        }

        /**
         * Sets folded batch norm of the k x 1 branch (light variant only). Not together with
         * {@link #batchNormVertical}.
         *
         * @param scale C values, each finite
         * @param shift C values, each finite
         * @return this builder
         */
        public Builder foldedBatchNormVertical(float[] scale, float[] shift) {
            bn2.scale = scale; bn2.shift = shift;
            return this;
        }

        /**
         * Checks the parameters, folds the batch norm into the weights (in double, rounded to
         * float once) and builds the operator.
         *
         * @return the operator; the caller closes it
         * @throws SpatialActException INVALID_ARGUMENT if k is not odd in [1, 7], a required array
         *     is missing, an array has the wrong length, a value is not finite (or a variance is
         *     negative, or eps is not {@code > 0}), a folded value overflows float, an array of
         *     the other variant is given, a branch has both raw and folded batch norm, or the
         *     backend is null; BACKEND_UNAVAILABLE if the native library cannot be loaded, or the
         *     backend is CUDA and no GPU is usable
         */
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
