package dev.spatialact;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.SpatialActNative;

/**
 * LeakyReLU, y = x > 0 ? x : alpha * x (alpha default 0.01, any finite value). alpha = 0 is ReLU,
 * which maps -inf to 0 as torch.relu does; NaN stays NaN. y may be the same array or buffer as x
 * (in place).
 */
public final class LeakyReLU extends UnaryActivation {
    /** The default slope, 0.01 (PyTorch's). */
    public static final float DEFAULT_ALPHA = 0.01f;
    private final float alpha;

    private LeakyReLU(float alpha, Backend backend) {
        super(alpha == 0f ? "ReLU" : "LeakyReLU(alpha=" + alpha + ")", SpatialActNative.SA_OP_LEAKY_RELU, backend,
                Native.newParams().alpha(alpha), null, null, null);
        this.alpha = alpha;
    }

    /**
     * LeakyReLU with this slope on the AUTO backend.
     *
     * @param alpha the slope for x {@code <= 0}; finite (0 gives ReLU)
     * @return the operator; the caller closes it
     * @throws SpatialActException INVALID_ARGUMENT if alpha is not finite; BACKEND_UNAVAILABLE if
     *     the native library cannot be loaded
     */
    public static LeakyReLU of(float alpha) {
        return builder().alpha(alpha).build();
    }

    /**
     * ReLU (alpha = 0) on the AUTO backend.
     *
     * @return the operator; the caller closes it
     * @throws SpatialActException BACKEND_UNAVAILABLE if the native library cannot be loaded
     */
    public static LeakyReLU relu() {
        return builder().alpha(0f).build();
    }

    /** {@return a builder with the default slope, 0.01, on the AUTO backend} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the slope for x {@code <= 0} (0 for ReLU)} */
    public float alpha() {
        return alpha;
    }

    /** Builder of a {@link LeakyReLU}: the slope and the backend. */
    public static final class Builder extends OperatorBuilder<Builder> {
        private float alpha = DEFAULT_ALPHA;

        private Builder() {}

        /**
         * Sets the slope for x {@code <= 0} (checked when built).
         *
         * @param alpha the slope; finite. Default 0.01; 0 gives ReLU
         * @return this builder
         */
        public Builder alpha(float alpha) {
            this.alpha = alpha;
            return this;
        }

        /**
         * Builds the operator.
         *
         * @return the operator; the caller closes it
         * @throws SpatialActException INVALID_ARGUMENT if alpha is not finite or the backend is
         *     null; BACKEND_UNAVAILABLE if the native library cannot be loaded, or the backend is
         *     CUDA and no GPU is usable
         */
        public LeakyReLU build() {
            return new LeakyReLU(alpha, backend);
        }
    }

}
