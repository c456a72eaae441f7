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

    /**
     * PReLU with these per-channel slopes on the AUTO backend.
     *
     * @param alphas the slope of each channel (copied); at least one, each finite
     * @return the operator; the caller closes it
     * @throws SpatialActException INVALID_ARGUMENT if alphas is null, empty or not finite;
     *     BACKEND_UNAVAILABLE if the native library cannot be loaded
     */
    public static PReLU of(float... alphas) {
        return builder().alphas(alphas).build();
    }

    /** {@return a builder with no slopes yet (set them with {@link Builder#alphas})} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the number of slopes: the C that every input must have} */
    public int channels() {
        return channels;
    }

    @Override
    void checkShape(Shape shape) {
        if (shape.c() != channels)
            throw SpatialActException.invalid("PReLU has " + channels + " slopes; shape " + shape + " has " + shape.c() + " channels");
    }

    /** Builder of a {@link PReLU}: the slopes (required) and the backend. */
    public static final class Builder extends OperatorBuilder<Builder> {
        private float[] alphas;

        private Builder() {}

        /**
         * Sets the per-channel slopes (checked and copied when built).
         *
         * @param alphas one slope per channel; at least one, each finite
         * @return this builder
         */
        public Builder alphas(float... alphas) {
            this.alphas = alphas;
            return this;
        }

        /**
         * Builds the operator.
         *
         * @return the operator; the caller closes it
         * @throws SpatialActException INVALID_ARGUMENT if the slopes are unset, empty or not
         *     finite, or the backend is null; BACKEND_UNAVAILABLE if the native library cannot
         *     be loaded, or the backend is CUDA and no GPU is usable
         */
        public PReLU build() {
            if (alphas == null) throw SpatialActException.invalid("PReLU: alphas is null");
            if (alphas.length == 0) throw SpatialActException.invalid("PReLU: alphas is empty");
            return new PReLU(Checks.finiteArray(alphas, "alphas", alphas.length), backend);
        }
    }

}
