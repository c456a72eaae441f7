package dev.spatialact;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.SpatialActNative;

/**
 * Star, the element-wise product fusion: y = act(a) * b, with act identity (default), relu,
 * relu6 or leaky_relu(alpha). a (in0), b (in1) and y have one shape; y may be a or b (in
 * place). Every kind of memory, through {@link TwoInputOperator}.
 */
public final class Star extends NativeOperator implements TwoInputOperator {
    /** The activation applied to a. */
    public enum Act {
        /** act(a) = a: y = a * b (the default). */
        IDENTITY(SpatialActNative.SA_ACT_IDENTITY),
        /** act(a) = max(a, 0); NaN stays NaN (as in every act). */
        RELU(SpatialActNative.SA_ACT_RELU),
        /** act(a) = min(max(a, 0), 6). */
        RELU6(SpatialActNative.SA_ACT_RELU6),
        /** act(a) = a {@code > 0} ? a : alpha * a, alpha from {@link Builder#alpha}. */
        LEAKY_RELU(SpatialActNative.SA_ACT_LEAKY_RELU);

        final int code;

        Act(int code) {
            this.code = code;
        }
    }

    private final Act act;

    private Star(Act act, float alpha, Backend backend) {
        super("Star(" + act.name().toLowerCase() + (act == Act.LEAKY_RELU ? ", alpha=" + alpha : "") + ")",
                SpatialActNative.SA_OP_STAR, backend, Native.newParams().act(act.code).alpha(alpha), null, null, null);
        this.act = act;
    }

    /** {@return a builder of y = a * b (act IDENTITY, alpha 0.01) on the AUTO backend} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * y = act(a) * b on the AUTO backend (LEAKY_RELU with alpha 0.01).
     *
     * @param act the activation applied to a; not null
     * @return the operator; the caller closes it
     * @throws SpatialActException INVALID_ARGUMENT if act is null; BACKEND_UNAVAILABLE if the
     *     native library cannot be loaded
     */
    public static Star of(Act act) {
        return builder().act(act).build();
    }

    /** {@return the activation applied to a} */
    public Act act() {
        return act;
    }

    /** Builder of a {@link Star}: the activation, its slope and the backend. */
    public static final class Builder extends OperatorBuilder<Builder> {
        private Act act = Act.IDENTITY;
        private float alpha = LeakyReLU.DEFAULT_ALPHA;

        private Builder() {}

        /**
         * Sets the activation applied to a.
         *
         * @param act the activation; default IDENTITY; null is rejected when built
         * @return this builder
         */
        public Builder act(Act act) {
            this.act = act;
            return this;
        }

        /**
         * Sets the slope of LEAKY_RELU (checked when built).
         *
         * @param alpha the slope; finite whatever the act, default 0.01
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
         * @throws SpatialActException INVALID_ARGUMENT if act or the backend is null, or alpha is
         *     not finite; BACKEND_UNAVAILABLE if the native library cannot be loaded, or the
         *     backend is CUDA and no GPU is usable
         */
        public Star build() {
            if (act == null) throw SpatialActException.invalid("Star: act is null");
            return new Star(act, alpha, backend);
        }
    }

    /**
     * y = act(a) * b into a new array.
     *
     * @param a the activated input, shape.numel() elements
     * @param b the multiplier, shape.numel() elements
     * @param shape the shape of a, b and y
     * @return y, a new array
     * @throws SpatialActException as {@link #apply(float[], float[], float[], Shape)}
     */
    public float[] apply(float[] a, float[] b, Shape shape) {
        Checks.array(a, "a", Checks.shape(shape));
        float[] y = new float[a.length];
        apply(a, b, y, shape);
        return y;
    }
}
