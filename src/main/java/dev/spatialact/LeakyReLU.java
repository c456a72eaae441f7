package dev.spatialact;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.SpatialActNative;

/**
 * LeakyReLU, y = x > 0 ? x : alpha * x (alpha default 0.01, any finite value). alpha = 0 is ReLU,
 * which maps -inf to 0 as torch.relu does; NaN stays NaN. y may be the same array or buffer as x
 * (in place).
 */
public final class LeakyReLU extends UnaryActivation {
    public static final float DEFAULT_ALPHA = 0.01f;
    private final float alpha;

    private LeakyReLU(float alpha, Backend backend) {
        super(alpha == 0f ? "ReLU" : "LeakyReLU(alpha=" + alpha + ")", SpatialActNative.SA_OP_LEAKY_RELU, backend,
                Native.newParams().alpha(alpha), null, null, null);
        this.alpha = alpha;
    }

    /** LeakyReLU with this slope on the AUTO backend. */
    public static LeakyReLU of(float alpha) {
        return builder().alpha(alpha).build();
    }

    /** ReLU (alpha = 0) on the AUTO backend. */
    public static LeakyReLU relu() {
        return builder().alpha(0f).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public float alpha() {
        return alpha;
    }

    public static final class Builder extends OperatorBuilder<Builder> {
        private float alpha = DEFAULT_ALPHA;

        private Builder() {}

        /** Slope for x {@code <= 0}; finite. Default 0.01; 0 gives ReLU. */
        public Builder alpha(float alpha) {
            this.alpha = alpha;
            return this;
        }

        public LeakyReLU build() {
            return new LeakyReLU(alpha, backend);
        }
    }

}
