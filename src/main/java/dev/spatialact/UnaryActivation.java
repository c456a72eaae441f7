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

    /**
     * y = f(x) on arrays. y may be x where the operator says so (in place).
     *
     * @param x the input, shape.numel() elements
     * @param y the output, shape.numel() elements
     * @param shape the shape of x and y
     * @throws SpatialActException as listed in {@link NativeOperator}
     */
    public void apply(float[] x, float[] y, Shape shape) {
        run(HostMemory.ARRAY, shape, y, 1, x, null);
    }

    /**
     * y = f(x) into a new array.
     *
     * @param x the input, shape.numel() elements
     * @param shape the shape of x
     * @return y, a new array
     * @throws SpatialActException as listed in {@link NativeOperator}
     */
    public float[] apply(float[] x, Shape shape) {
        Checks.array(x, operands.inputs[0], Checks.shape(shape));
        float[] y = new float[x.length];
        apply(x, y, shape);
        return y;
    }

    /**
     * y = f(x) on direct buffers in native byte order, from their positions (which stay
     * unchanged).
     *
     * @param x the input, at least shape.numel() elements remaining
     * @param y the output, at least shape.numel() elements remaining, writable
     * @param shape the shape of x and y
     * @throws SpatialActException as listed in {@link NativeOperator}
     */
    public void apply(FloatBuffer x, FloatBuffer y, Shape shape) {
        run(HostMemory.BUFFER, shape, y, 1, x, null);
    }

    /**
     * y = f(x) on JavaCPP host pointers, from their positions.
     *
     * @param x the input: shape.numel() floats inside the allocation it was made from (or
     *     vouched for with {@link SpatialAct#uncheckedPointer})
     * @param y the output, likewise
     * @param shape the shape of x and y
     * @throws SpatialActException as listed in {@link NativeOperator}
     */
    public void apply(FloatPointer x, FloatPointer y, Shape shape) {
        run(HostMemory.POINTER, shape, y, 1, x, null);
    }

    /**
     * y = f(x) on the GPU, on the given stream. Asynchronous: synchronize the stream
     * ({@link CudaStream#synchronize()}) before reading y on the host; a download after a call on
     * the default stream waits for it.
     *
     * @param x the input; its shape is the call's
     * @param y the output, of x's shape, on x's GPU
     * @param stream a stream of that GPU, or null for the default stream
     * @throws SpatialActException as listed in {@link NativeOperator}
     */
    public void apply(DeviceTensor x, DeviceTensor y, CudaStream stream) {
        run(y, stream, 1, x, null);
    }

    /**
     * y = f(x) on the GPU on the default stream. Asynchronous.
     *
     * @param x the input; its shape is the call's
     * @param y the output, of x's shape, on x's GPU
     * @throws SpatialActException as listed in {@link NativeOperator}
     */
    public void apply(DeviceTensor x, DeviceTensor y) {
        apply(x, y, null);
    }

    /**
     * y = f(x) on raw device memory from other CUDA code (for example cudaMalloc'd Pointers and a
     * cudaStream_t of org.bytedeco.cuda): addresses of float32 NCHW tensors on GPU {@code device},
     * and the stream handle (0: the default stream). Asynchronous on that stream.
     *
     * @param device the GPU the memory is on
     * @param x the device address of the input
     * @param y the device address of the output (may be x where the operator runs in place)
     * @param shape the shape of x and y; the memory must hold shape.numel() floats (not checked)
     * @param stream the cudaStream_t of that GPU as an address, or 0 for the default stream
     * @throws SpatialActException as listed in {@link NativeOperator}; INVALID_ARGUMENT also for
     *     an address of 0 or a device that does not exist
     */
    public void applyDevice(int device, long x, long y, Shape shape, long stream) {
        runDevice(device, shape, stream, 1, y, x, 0);
    }

    /**
     * As {@link #applyDevice(int, long, long, Shape, long)}, with JavaCPP Pointers to device
     * memory (positions count floats).
     *
     * @param device the GPU the memory is on
     * @param x the input; its address plus 4 bytes per position
     * @param y the output, likewise
     * @param shape the shape of x and y; not checked against the memory
     * @param stream the cudaStream_t as a Pointer, or null for the default stream
     * @throws SpatialActException as {@link #applyDevice(int, long, long, Shape, long)};
     *     INVALID_ARGUMENT also if x or y is null
     */
    public void applyDevice(int device, Pointer x, Pointer y, Shape shape, Pointer stream) {
        applyDevice(device, deviceAddress(x, "x"), deviceAddress(y, "y"), shape, stream == null ? 0 : stream.address());
    }
}
