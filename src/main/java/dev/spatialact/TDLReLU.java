package dev.spatialact;

import java.nio.FloatBuffer;

import org.bytedeco.javacpp.FloatPointer;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.SpatialActNative;
import dev.spatialact.internal.SpatialActNative.sa_params;
import dev.spatialact.internal.SpatialActNative.sa_shape;

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
        super("TD-LReLU(" + s + ")", backend, s.toParams(), null, null, null);
        this.settings = s;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The parameters (radius resolved: ceil(3 sigma) when not given). */
    public Settings settings() {
        return settings;
    }

    /** TD parameters, shared with {@link NTDLReLU}. Ranges as in the spec; checked in {@link #validate()}. */
    public static class Settings {
        float alpha = DEFAULT_ALPHA, lambda = DEFAULT_LAMBDA, sigma = DEFAULT_SIGMA, eps = DEFAULT_EPS;
        int radius = 0, iterations = DEFAULT_ITERATIONS;

        public float alpha() { return alpha; }
        public float lambda() { return lambda; }
        public float sigma() { return sigma; }
        public float eps() { return eps; }
        public int iterations() { return iterations; }

        /** The Gaussian radius used: the given one, or ceil(3 sigma). */
        public int radius() {
            return radius > 0 ? radius : (int) Math.max(1, Math.ceil(3.0 * sigma));
        }

        void validate() {
            if (!(alpha >= 0f && alpha < 1f)) throw SpatialActException.invalid("alpha = " + alpha + " must be in [0, 1)");
            if (!(lambda >= 0f) || !Float.isFinite(lambda)) throw SpatialActException.invalid("lambda = " + lambda + " must be finite and >= 0");
            if (!(sigma > 0f) || !Float.isFinite(sigma)) throw SpatialActException.invalid("sigma = " + sigma + " must be finite and > 0");
            if (!(eps >= 0f) || !Float.isFinite(eps)) throw SpatialActException.invalid("eps = " + eps + " must be finite and >= 0");
            if (radius < 0) throw SpatialActException.invalid("radius = " + radius + " must be >= 1 (or 0 for ceil(3 sigma))");
            if (radius() > SpatialActNative.SA_TD_MAX_RADIUS)
                throw SpatialActException.invalid("radius = " + radius() + " exceeds the maximum " + SpatialActNative.SA_TD_MAX_RADIUS
                        + (radius == 0 ? " (ceil(3 sigma) with sigma = " + sigma + ")" : ""));
            if (iterations < 0 || iterations > 1000) throw SpatialActException.invalid("iterations = " + iterations + " must be in [0, 1000]");
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
    public abstract static class AbstractBuilder<B extends AbstractBuilder<B>> {
        Backend backend = Backend.AUTO;

        abstract Settings settings();

        /** Leak of the gate, in [0, 1); default 0.01. */
        public B alpha(float v) { settings().alpha = v; return (B) this; }
        /** Weight of the spatial regulariser, >= 0; default 0.1 (the paper sweeps 0.1 to 0.7). */
        public B lambda(float v) { settings().lambda = v; return (B) this; }
        /** Gaussian sigma, > 0; default 1. */
        public B sigma(float v) { settings().sigma = v; return (B) this; }
        /** Gaussian radius, >= 1 (max 32); default ceil(3 sigma). */
        public B radius(int v) {
            if (v < 1) throw SpatialActException.invalid("radius = " + v + " must be >= 1");
            settings().radius = v;
            return (B) this;
        }
        /** Iterations T, in [0, 1000]; default 5. */
        public B iterations(int v) { settings().iterations = v; return (B) this; }
        /** Gate smoothing: 0 = hard gate (default), > 0 = sigmoid of width eps. */
        public B epsilon(float v) { settings().eps = v; return (B) this; }
        public B backend(Backend b) { backend = b; return (B) this; }
    }

    public static final class Builder extends AbstractBuilder<Builder> {
        private final Settings s = new Settings();

        private Builder() {}

        @Override Settings settings() { return s; }

        public TDLReLU build() {
            s.validate();
            Settings copy = new Settings();
            copy.alpha = s.alpha; copy.lambda = s.lambda; copy.sigma = s.sigma; copy.eps = s.eps;
            copy.radius = s.radius; copy.iterations = s.iterations;
            return new TDLReLU(copy, backend);
        }
    }

    @Override int cpu(float[] x, float[] y, sa_shape s, sa_params p) { return SpatialActNative.sa_cpu_td_lrelu_forward(x, y, s, p); }
    @Override int cpu(FloatBuffer x, FloatBuffer y, sa_shape s, sa_params p) { return SpatialActNative.sa_cpu_td_lrelu_forward(x, y, s, p); }
    @Override int cpu(FloatPointer x, FloatPointer y, sa_shape s, sa_params p) { return SpatialActNative.sa_cpu_td_lrelu_forward(x, y, s, p); }
    @Override int cuda(long x, long y, sa_shape s, sa_params p, long stream) { return SpatialActNative.sa_cuda_td_lrelu_forward(x, y, s, p, stream); }
}
