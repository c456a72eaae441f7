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
        IDENTITY(SpatialActNative.SA_ACT_IDENTITY), RELU(SpatialActNative.SA_ACT_RELU),
        RELU6(SpatialActNative.SA_ACT_RELU6), LEAKY_RELU(SpatialActNative.SA_ACT_LEAKY_RELU);

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

    public static Builder builder() {
        return new Builder();
    }

    /** y = act(a) * b on the AUTO backend. */
    public static Star of(Act act) {
        return builder().act(act).build();
    }

    public Act act() {
        return act;
    }

    public static final class Builder extends OperatorBuilder<Builder> {
        private Act act = Act.IDENTITY;
        private float alpha = LeakyReLU.DEFAULT_ALPHA;

        private Builder() {}

        public Builder act(Act act) {
            this.act = act;
            return this;
        }

        /** Slope of LEAKY_RELU; finite (whatever the act), default 0.01. */
        public Builder alpha(float alpha) {
            this.alpha = alpha;
            return this;
        }

        public Star build() {
            if (act == null) throw SpatialActException.invalid("Star: act is null");
            return new Star(act, alpha, backend);
        }
    }

    /** Returns a new array y = act(a) * b. */
    public float[] apply(float[] a, float[] b, Shape shape) {
        Checks.array(a, "a", Checks.shape(shape));
        float[] y = new float[a.length];
        apply(a, b, y, shape);
        return y;
    }
}
