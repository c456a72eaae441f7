package dev.spatialact;

import java.nio.FloatBuffer;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.SpatialActNative;

/**
 * Star, the element-wise product fusion: y = act(a) * b, with act identity (default), relu,
 * relu6 or leaky_relu(alpha). a, b and y have one shape; y may be a or b (in place).
 */
public final class Star extends NativeOperator {
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
        super("Star(" + act.name().toLowerCase() + (act == Act.LEAKY_RELU ? ", alpha=" + alpha : "") + ")", backend,
                Native.newParams().act(act.code).alpha(alpha), null, null, null);
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

    public static final class Builder {
        private Act act = Act.IDENTITY;
        private float alpha = LeakyReLU.DEFAULT_ALPHA;
        private Backend backend = Backend.AUTO;

        private Builder() {}

        public Builder act(Act act) {
            this.act = act;
            return this;
        }

        /** Slope of LEAKY_RELU; finite, default 0.01. */
        public Builder alpha(float alpha) {
            this.alpha = alpha;
            return this;
        }

        public Builder backend(Backend backend) {
            this.backend = backend;
            return this;
        }

        public Star build() {
            if (act == null) throw SpatialActException.invalid("Star: act is null");
            Checks.finite(alpha, "alpha");
            return new Star(act, alpha, backend);
        }
    }

    public void apply(float[] a, float[] b, float[] y, Shape shape) {
        Checks.shape(shape);
        Checks.array(a, "a", shape);
        Checks.array(b, "b", shape);
        Checks.array(y, "y", shape);
        if (stagesHostData()) {
            stage(shape, a, b, y);
            return;
        }
        runHost(shape, (s, p) -> SpatialActNative.sa_cpu_star_forward(a, b, y, s, p));
    }

    public float[] apply(float[] a, float[] b, Shape shape) {
        Checks.shape(shape);
        Checks.array(a, "a", shape);
        float[] y = new float[a.length];
        apply(a, b, y, shape);
        return y;
    }

    public void apply(FloatBuffer a, FloatBuffer b, FloatBuffer y, Shape shape) {
        Checks.shape(shape);
        Checks.buffer(a, "a", shape, false);
        Checks.buffer(b, "b", shape, false);
        Checks.buffer(y, "y", shape, true);
        if (stagesHostData()) {
            stage(shape, a, b, y);
            return;
        }
        runHost(shape, (s, p) -> SpatialActNative.sa_cpu_star_forward(a, b, y, s, p));
    }

    public void apply(FloatPointer a, FloatPointer b, FloatPointer y, Shape shape) {
        Checks.shape(shape);
        Checks.pointer(a, "a", shape);
        Checks.pointer(b, "b", shape);
        Checks.pointer(y, "y", shape);
        if (stagesHostData()) {
            stage(shape, a, b, y);
            return;
        }
        runHost(shape, (s, p) -> SpatialActNative.sa_cpu_star_forward(a, b, y, s, p));
    }

    /** On the GPU, on the given stream (null: default). Asynchronous. */
    public void apply(DeviceTensor a, DeviceTensor b, DeviceTensor y, CudaStream stream) {
        if (a == null || b == null || y == null) throw SpatialActException.invalid("a, b or y is null");
        Shape shape = a.shape();
        if (!b.shape().equals(shape) || !y.shape().equals(shape))
            throw SpatialActException.invalid("shapes differ: a " + shape + ", b " + b.shape() + ", y " + y.shape());
        if (a.device() != b.device() || a.device() != y.device())
            throw SpatialActException.invalid("a, b and y are not on one GPU");
        a.enter();
        try {
            b.enter();
            try {
                y.enter();
                try {
                    long st = stream == null ? 0 : stream.handle();
                    runDevice(a.device(), shape, st,
                            (s, p, strm) -> SpatialActNative.sa_cuda_star_forward(a.address(), b.address(), y.address(), s, p, strm));
                } finally {
                    y.exit();
                }
            } finally {
                b.exit();
            }
        } finally {
            a.exit();
        }
    }

    /** On raw device memory of GPU {@code device} from other CUDA code, on stream (0: default). */
    public void applyDevice(int device, long a, long b, long y, Shape shape, long stream) {
        Checks.shape(shape);
        Checks.address(a, "a");
        Checks.address(b, "b");
        Checks.address(y, "y");
        runDevice(device, shape, stream, (s, p, st) -> SpatialActNative.sa_cuda_star_forward(a, b, y, s, p, st));
    }

    /** As above with JavaCPP Pointers (positions in floats). */
    public void applyDevice(int device, Pointer a, Pointer b, Pointer y, Shape shape, Pointer stream) {
        if (a == null || b == null || y == null) throw SpatialActException.invalid("a, b or y is null");
        applyDevice(device, a.address() + 4 * a.position(), b.address() + 4 * b.position(), y.address() + 4 * y.position(),
                shape, stream == null ? 0 : stream.address());
    }

    private void stage(Shape shape, Object a, Object b, Object y) {
        try (DeviceTensor da = DeviceTensor.allocate(0, shape); DeviceTensor db = DeviceTensor.allocate(0, shape);
                DeviceTensor dy = DeviceTensor.allocate(0, shape)) {
            da.uploadAny(a);
            db.uploadAny(b);
            apply(da, db, dy, null);
            dy.downloadAny(y);
        }
    }
}
