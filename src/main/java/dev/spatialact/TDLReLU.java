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
    public static final float DEFAULT_ALPHA = 0.01f, DEFAULT_LAMBDA = 0.1f, DEFAULT_SIGMA = 1.0f, DEFAULT_EPS = 0f;
    public static final int DEFAULT_ITERATIONS = 5;

    private final Settings settings;

    private TDLReLU(Settings s, Backend backend) {
        super("TD-LReLU(" + s + ")", SpatialActNative.SA_OP_TD_LRELU, backend, s.toParams(), null, null, null);
        this.settings = s;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The parameters (radius resolved: ceil(3 sigma) when not given). */
    public Settings settings() {
        return settings;
    }

    /** TD parameters, shared with {@link NTDLReLU}. Ranges as in the spec; checked natively when built (sa_check_params). */
    public static class Settings {
        float alpha = DEFAULT_ALPHA, lambda = DEFAULT_LAMBDA, sigma = DEFAULT_SIGMA, eps = DEFAULT_EPS;
        int radius = 0, iterations = DEFAULT_ITERATIONS;

        public float alpha() { return alpha; }
        public float lambda() { return lambda; }
        public float sigma() { return sigma; }
        public float eps() { return eps; }
        public int iterations() { return iterations; }

        /** The Gaussian radius used: the given one, or ceil(3 sigma) (the native rule, sa_td_radius). */
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

    /** Builder; the setters of {@link NTDLReLU.Builder} extend it. */
    @SuppressWarnings("unchecked")
    public abstract static class AbstractBuilder<B extends AbstractBuilder<B>> extends OperatorBuilder<B> {

        abstract Settings settings();

        /** Leak of the gate, in [0, 1); default 0.01. */
        public B alpha(float v) { settings().alpha = v; return (B) this; }
        /** Weight of the spatial regulariser, >= 0; default 0.1 (the paper sweeps 0.1 to 0.7). */
        public B lambda(float v) { settings().lambda = v; return (B) this; }
        /** Gaussian sigma, > 0; default 1. */
        public B sigma(float v) { settings().sigma = v; return (B) this; }
        /** Gaussian radius, >= 1 (max 32); default ceil(3 sigma). */
        public B radius(int v) {
            // 0 means "ceil(3 sigma)" in the native block; this API spells that as not calling radius().
            if (v < 1) throw SpatialActException.invalid("radius = " + v + " must be >= 1");
            settings().radius = v;
            return (B) this;
        }
        /** Iterations T, in [0, 1000]; default 5. */
        public B iterations(int v) { settings().iterations = v; return (B) this; }
        /** Gate smoothing: 0 = hard gate (default), > 0 = sigmoid of width eps. */
        public B epsilon(float v) { settings().eps = v; return (B) this; }
    }

    public static final class Builder extends AbstractBuilder<Builder> {
        private final Settings s = new Settings();

        private Builder() {}

        @Override Settings settings() { return s; }

        public TDLReLU build() {
            return new TDLReLU(s.copy(), backend);
        }
    }

}
