package dev.spatialact;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.SpatialActNative;
import dev.spatialact.internal.SpatialActNative.sa_params;

/**
 * TD-LReLU, the threshold-dynamics regularised Leaky ReLU (after Liu et al., Inverse Problems and
 * Imaging 2024). The paper's full text was not available to the project: this is the formulation
 * of the project's spec (docs/TD-LReLU.md), built from the abstract, the authors' public
 * soft-threshold-dynamics layer and the threshold-dynamics literature.
 * <pre>
 *   u0 = gate(o);  f_t = o - lambda * G_sigma * (1 - 2 u_t);  u_{t+1} = gate(f_t);  y = o * u_T
 *   gate(f) = alpha + (1 - alpha) * H(f),  H = [f > 0] (eps = 0, hard) or sigmoid((1-alpha) f / eps)
 * </pre>
 * G_sigma is a Gaussian truncated to radius r and normalised, zero padding; each (n, c) plane is
 * independent. lambda = 0 or T = 0 is LeakyReLU. y must not overlap o.
 */
public final class TDLReLU extends UnaryActivation {
    /**
     * The defaults of the spec: alpha (the gate's leak) 0.01, lambda 0.1, sigma 1, eps 0 (the
     * hard gate).
     */
    public static final float DEFAULT_ALPHA = 0.01f, DEFAULT_LAMBDA = 0.1f, DEFAULT_SIGMA = 1.0f, DEFAULT_EPS = 0f;
    /** The default number of iterations T, 5. */
    public static final int DEFAULT_ITERATIONS = 5;

    private final Settings settings;

    private TDLReLU(Settings s, Backend backend) {
        super("TD-LReLU(" + s + ")", SpatialActNative.SA_OP_TD_LRELU, backend, s.toParams(), null, null, null);
        this.settings = s;
    }

    /** {@return a builder with the default parameters on the AUTO backend} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the parameters (a copy of the builder's; {@link Settings#radius()} resolves the radius)} */
    public Settings settings() {
        return settings;
    }

    /** TD parameters, shared with {@link NTDLReLU}. Ranges as in the spec; checked natively when built (sa_check_params). */
    public static class Settings {
        float alpha = DEFAULT_ALPHA, lambda = DEFAULT_LAMBDA, sigma = DEFAULT_SIGMA, eps = DEFAULT_EPS;
        int radius = 0, iterations = DEFAULT_ITERATIONS;

        /** {@return the leak of the gate, in [0, 1)} */
        public float alpha() { return alpha; }
        /** {@return the weight of the spatial regulariser, {@code >= 0}} */
        public float lambda() { return lambda; }
        /** {@return the Gaussian sigma, {@code > 0} (unused by NTD-LReLU)} */
        public float sigma() { return sigma; }
        /** {@return the gate smoothing: 0 for the hard gate, else the sigmoid's width} */
        public float eps() { return eps; }
        /** {@return the number of iterations T} */
        public int iterations() { return iterations; }

        /**
         * The Gaussian radius used: the given one, or ceil(3 sigma) (the native rule, sa_td_radius).
         *
         * @return the radius, at least 1
         * @throws SpatialActException BACKEND_UNAVAILABLE if the native library cannot be loaded
         */
        public int radius() {
            try (sa_params p = toParams()) {
                return SpatialActNative.sa_td_radius(p);
            }
        }

        Settings copy() {
            Settings c = new Settings();
            c.alpha = alpha; c.lambda = lambda; c.sigma = sigma; c.eps = eps; c.radius = radius; c.iterations = iterations;
            return c;
        }

        sa_params toParams() {
            return Native.newParams().alpha(alpha).lambda(lambda).sigma(sigma).eps(eps).radius(radius).iterations(iterations);
        }

        @Override public String toString() {
            return "alpha=" + alpha + ", lambda=" + lambda + ", sigma=" + sigma + ", r=" + radius() + ", T=" + iterations
                    + (eps > 0 ? ", eps=" + eps : "");
        }
    }

    /**
     * The setters of the TD parameters, shared by {@link Builder} and {@link NTDLReLU.Builder}.
     * Each value is checked when the operator is built (INVALID_ARGUMENT naming it), except the
     * radius, checked here.
     *
     * @param <B> the concrete builder type, which the setters return
     */
    @SuppressWarnings("unchecked")
    public abstract static class AbstractBuilder<B extends AbstractBuilder<B>> extends OperatorBuilder<B> {

        abstract Settings settings();

        /**
         * Sets the leak of the gate.
         *
         * @param v in [0, 1); default 0.01
         * @return this builder
         */
        public B alpha(float v) { settings().alpha = v; return (B) this; }
        /**
         * Sets the weight of the spatial regulariser.
         *
         * @param v finite, {@code >= 0}; default 0.1 (the paper sweeps 0.1 to 0.7); 0 with the
         *     hard gate gives LeakyReLU
         * @return this builder
         */
        public B lambda(float v) { settings().lambda = v; return (B) this; }
        /**
         * Sets the Gaussian sigma (TD-LReLU; NTD-LReLU ignores it).
         *
         * @param v finite, {@code > 0}; default 1
         * @return this builder
         */
        public B sigma(float v) { settings().sigma = v; return (B) this; }
        /**
         * Sets the Gaussian radius; without it the radius is ceil(3 sigma), which must then be at
         * most 32.
         *
         * @param v in [1, 32] (above 32 is rejected when built)
         * @return this builder
         * @throws SpatialActException INVALID_ARGUMENT if v is below 1
         */
        public B radius(int v) {
            // 0 means "ceil(3 sigma)" in the native block; this API spells that as not calling radius().
            if (v < 1) throw SpatialActException.invalid("radius = " + v + " must be >= 1");
            settings().radius = v;
            return (B) this;
        }
        /**
         * Sets the number of iterations T.
         *
         * @param v in [0, 1000]; default 5; 0 with the hard gate gives LeakyReLU
         * @return this builder
         */
        public B iterations(int v) { settings().iterations = v; return (B) this; }
        /**
         * Sets the gate smoothing.
         *
         * @param v finite, {@code >= 0}: 0 is the hard gate (default), above 0 a sigmoid of width v
         * @return this builder
         */
        public B epsilon(float v) { settings().eps = v; return (B) this; }
    }

    /** Builder of a {@link TDLReLU}: the TD parameters of {@link AbstractBuilder} and the backend. */
    public static final class Builder extends AbstractBuilder<Builder> {
        private final Settings s = new Settings();

        private Builder() {}

        @Override Settings settings() { return s; }

        /**
         * Builds the operator.
         *
         * @return the operator; the caller closes it
         * @throws SpatialActException INVALID_ARGUMENT if a parameter is out of its range (the
         *     message names it) or the backend is null; BACKEND_UNAVAILABLE if the native library
         *     cannot be loaded, or the backend is CUDA and no GPU is usable
         */
        public TDLReLU build() {
            return new TDLReLU(s.copy(), backend);
        }
    }

}
