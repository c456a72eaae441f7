package dev.spatialact;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.SpatialActNative;

/** PReLU: LeakyReLU with one slope per channel; the input's C must equal the number of slopes. */
public final class PReLU extends UnaryActivation {
    private final int channels;

    private PReLU(float[] alphas, Backend backend) {
        super("PReLU(C=" + alphas.length + ")", SpatialActNative.SA_OP_LEAKY_RELU, backend, Native.newParams(), alphas, null, null);
        this.channels = alphas.length;
    }

    /** PReLU with these per-channel slopes (finite) on the AUTO backend. */
    public static PReLU of(float... alphas) {
        return builder().alphas(alphas).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public int channels() {
        return channels;
    }

    @Override
    void checkShape(Shape shape) {
        if (shape.c() != channels)
            throw SpatialActException.invalid("PReLU has " + channels + " slopes; shape " + shape + " has " + shape.c() + " channels");
    }

    public static final class Builder extends OperatorBuilder<Builder> {
        private float[] alphas;

        private Builder() {}

        public Builder alphas(float... alphas) {
            this.alphas = alphas;
            return this;
        }

        public PReLU build() {
            if (alphas == null) throw SpatialActException.invalid("PReLU: alphas is null");
            if (alphas.length == 0) throw SpatialActException.invalid("PReLU: alphas is empty");
            return new PReLU(Checks.finiteArray(alphas, "alphas", alphas.length), backend);
        }
    }

}
