package dev.spatialact;

import java.nio.FloatBuffer;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import dev.spatialact.internal.SpatialActNative.sa_params;
import dev.spatialact.internal.SpatialActNative.sa_shape;

/**
 * An activation y = f(x) on an NCHW float32 tensor, on every kind of memory:
 * {@code float[]}, direct native-order {@link FloatBuffer} (from its position), JavaCPP
 * {@link FloatPointer} (from its position), the library's {@link DeviceTensor}s, and raw device
 * addresses from other CUDA code with a stream. The caller owns the output; arguments are checked
 * before any native work, and a rejected call leaves the output untouched.
 */
public abstract class UnaryActivation extends NativeOperator {

    UnaryActivation(String name, Backend backend, sa_params params, float[] alphas, float[] weight, float[] bias) {
        super(name, backend, params, alphas, weight, bias);
    }

    // The four native calls an operator provides.
    abstract int cpu(float[] x, float[] y, sa_shape s, sa_params p);

    abstract int cpu(FloatBuffer x, FloatBuffer y, sa_shape s, sa_params p);

    abstract int cpu(FloatPointer x, FloatPointer y, sa_shape s, sa_params p);

    abstract int cuda(long x, long y, sa_shape s, sa_params p, long stream);

    /** True if y may be the same memory as x (in place); operators with a stencil say no. */
    boolean allowsInPlace() {
        return false;
    }

    /** Operator-specific shape checks (e.g. the channel count of per-channel parameters). */
    void checkShape(Shape shape) {}

    private Shape checked(Shape shape) {
        Checks.shape(shape);
        checkShape(shape);
        return shape;
    }

    /** y = f(x); x and y hold shape.numel() elements. */
    public void apply(float[] x, float[] y, Shape shape) {
        checked(shape);
        Checks.array(x, "x", shape);
        Checks.array(y, "y", shape);
        if (!allowsInPlace()) Checks.distinct(y, "y", x, "x");
        if (stagesHostData()) {
            stage(shape, x, y);
            return;
        }
        runHost(shape, (s, p) -> cpu(x, y, s, p));
    }

    /** Returns a new array y = f(x). */
    public float[] apply(float[] x, Shape shape) {
        checked(shape);
        Checks.array(x, "x", shape);
        float[] y = new float[x.length];
        apply(x, y, shape);
        return y;
    }

    /** y = f(x) on direct buffers in native byte order, from their positions (which stay unchanged). */
    public void apply(FloatBuffer x, FloatBuffer y, Shape shape) {
        checked(shape);
        Checks.buffer(x, "x", shape, false);
        Checks.buffer(y, "y", shape, true);
        if (stagesHostData()) {
            stage(shape, x, y);
            return;
        }
        runHost(shape, (s, p) -> cpu(x, y, s, p));
    }

    /** y = f(x) on JavaCPP host pointers, from their positions. */
    public void apply(FloatPointer x, FloatPointer y, Shape shape) {
        checked(shape);
        Checks.pointer(x, "x", shape);
        Checks.pointer(y, "y", shape);
        if (stagesHostData()) {
            stage(shape, x, y);
            return;
        }
        runHost(shape, (s, p) -> cpu(x, y, s, p));
    }

    /** y = f(x) on the GPU, on the given stream (null: the default stream). Asynchronous. */
    public void apply(DeviceTensor x, DeviceTensor y, CudaStream stream) {
        if (x == null || y == null) throw SpatialActException.invalid((x == null ? "x" : "y") + " is null");
        Shape shape = checked(x.shape());
        if (!y.shape().equals(shape)) throw SpatialActException.invalid("y has shape " + y.shape() + "; x has " + shape);
        if (x.device() != y.device())
            throw SpatialActException.invalid("x is on device " + x.device() + ", y on device " + y.device());
        if (stream != null && stream.device() != x.device())
            throw SpatialActException.invalid("stream is on device " + stream.device() + ", the tensors on " + x.device());
        x.enter();
        try {
            y.enter();
            try {
                long st = stream == null ? 0 : stream.handle();
                runDevice(x.device(), shape, st, (s, p, strm) -> cuda(x.address(), y.address(), s, p, strm));
            } finally {
                y.exit();
            }
        } finally {
            x.exit();
        }
    }

    /** y = f(x) on the GPU on the default stream. Asynchronous. */
    public void apply(DeviceTensor x, DeviceTensor y) {
        apply(x, y, null);
    }

    /**
     * y = f(x) on raw device memory from other CUDA code (for example cudaMalloc'd Pointers and a
     * cudaStream_t of org.bytedeco.cuda): addresses of float32 NCHW tensors on GPU {@code device},
     * and the stream handle (0: the default stream). Asynchronous on that stream.
     */
    public void applyDevice(int device, long x, long y, Shape shape, long stream) {
        checked(shape);
        Checks.address(x, "x");
        Checks.address(y, "y");
        runDevice(device, shape, stream, (s, p, st) -> cuda(x, y, s, p, st));
    }

    /** As {@link #applyDevice(int, long, long, Shape, long)}, with JavaCPP Pointers (positions in floats). */
    public void applyDevice(int device, Pointer x, Pointer y, Shape shape, Pointer stream) {
        if (x == null || y == null) throw SpatialActException.invalid((x == null ? "x" : "y") + " is null");
        applyDevice(device, x.address() + 4 * x.position(), y.address() + 4 * y.position(), shape,
                stream == null ? 0 : stream.address());
    }

    /** Host data through the GPU: upload, run, download (backend CUDA on host memory). */
    private void stage(Shape shape, Object x, Object y) {
        int device = 0;
        try (DeviceTensor dx = DeviceTensor.allocate(device, shape); DeviceTensor dy = DeviceTensor.allocate(device, shape)) {
            dx.uploadAny(x);
            apply(dx, dy, null);
            dy.downloadAny(y);
        }
    }
}
