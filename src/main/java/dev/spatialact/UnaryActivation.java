package dev.spatialact;

import java.nio.FloatBuffer;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import dev.spatialact.internal.SpatialActNative.sa_params;

/**
 * An activation y = f(x) on an NCHW float32 tensor, on every kind of memory:
 * {@code float[]}, direct native-order {@link FloatBuffer} (from its position), JavaCPP
 * {@link FloatPointer} (from its position), the library's {@link DeviceTensor}s, and raw device
 * addresses from other CUDA code with a stream. The caller owns the output; arguments are checked
 * before any native work, and a rejected call leaves the output untouched. Every method here is
 * one line into the operators' one runner ({@link NativeOperator}).
 */
public abstract class UnaryActivation extends NativeOperator {

    UnaryActivation(String name, int op, Backend backend, sa_params params, float[] alphas, float[] weight, float[] bias) {
        super(name, op, backend, params, alphas, weight, bias);
    }

    /** y = f(x); x and y hold shape.numel() elements. */
    public void apply(float[] x, float[] y, Shape shape) {
        run(HostMemory.ARRAY, shape, y, 1, x, null);
    }

    /** Returns a new array y = f(x). */
    public float[] apply(float[] x, Shape shape) {
        Checks.array(x, operands.inputs[0], Checks.shape(shape));
        float[] y = new float[x.length];
        apply(x, y, shape);
        return y;
    }

    /** y = f(x) on direct buffers in native byte order, from their positions (which stay unchanged). */
    public void apply(FloatBuffer x, FloatBuffer y, Shape shape) {
        run(HostMemory.BUFFER, shape, y, 1, x, null);
    }

    /** y = f(x) on JavaCPP host pointers, from their positions. */
    public void apply(FloatPointer x, FloatPointer y, Shape shape) {
        run(HostMemory.POINTER, shape, y, 1, x, null);
    }

    /** y = f(x) on the GPU, on the given stream (null: the default stream). Asynchronous. */
    public void apply(DeviceTensor x, DeviceTensor y, CudaStream stream) {
        run(y, stream, 1, x, null);
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
        runDevice(device, shape, stream, 1, y, x, 0);
    }

    /** As {@link #applyDevice(int, long, long, Shape, long)}, with JavaCPP Pointers (positions in floats). */
    public void applyDevice(int device, Pointer x, Pointer y, Shape shape, Pointer stream) {
        applyDevice(device, deviceAddress(x, "x"), deviceAddress(y, "y"), shape, stream == null ? 0 : stream.address());
    }
}
