package dev.spatialact;

import java.nio.FloatBuffer;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * An operator of two tensor inputs, y = f(in0, in1): {@link Star} (a, b) and {@link NTDLReLU}
 * built with a guide (o, guide). Every kind of memory, as for {@link UnaryActivation}: float[],
 * direct native-order FloatBuffers and JavaCPP FloatPointers (from their positions), the
 * library's {@link DeviceTensor}s, raw device addresses with a stream, and host data staged
 * through a GPU on the CUDA backend. Each method is one line into the operators' one runner;
 * the operator's own class documents its inputs' shapes and which input y may be.
 */
public interface TwoInputOperator extends AutoCloseable {

    private NativeOperator op() {
        return (NativeOperator) this;
    }

    /**
     * y = f(in0, in1) on arrays.
     *
     * @param in0 the first input (a; o), shape.numel() elements
     * @param in1 the second input (b; the guide, N x Cg x H x W)
     * @param y the output, shape.numel() elements
     * @param shape the shape of in0 and y
     * @throws SpatialActException as listed in {@link NativeOperator}
     */
    default void apply(float[] in0, float[] in1, float[] y, Shape shape) {
        op().run(HostMemory.ARRAY, shape, y, 2, in0, in1);
    }

    /**
     * y = f(in0, in1) on direct buffers in native byte order, from their positions (which stay
     * unchanged).
     *
     * @param in0 the first input, at least shape.numel() elements remaining
     * @param in1 the second input, at least its own shape's elements remaining
     * @param y the output, at least shape.numel() elements remaining, writable
     * @param shape the shape of in0 and y
     * @throws SpatialActException as listed in {@link NativeOperator}
     */
    default void apply(FloatBuffer in0, FloatBuffer in1, FloatBuffer y, Shape shape) {
        op().run(HostMemory.BUFFER, shape, y, 2, in0, in1);
    }

    /**
     * y = f(in0, in1) on JavaCPP host pointers, from their positions, each inside the allocation
     * it was made from (or vouched for with {@link SpatialAct#uncheckedPointer}).
     *
     * @param in0 the first input
     * @param in1 the second input
     * @param y the output
     * @param shape the shape of in0 and y
     * @throws SpatialActException as listed in {@link NativeOperator}
     */
    default void apply(FloatPointer in0, FloatPointer in1, FloatPointer y, Shape shape) {
        op().run(HostMemory.POINTER, shape, y, 2, in0, in1);
    }

    /**
     * y = f(in0, in1) on the GPU, on the given stream. Asynchronous.
     *
     * @param in0 the first input; its shape is the call's
     * @param in1 the second input, on in0's GPU
     * @param y the output, of in0's shape, on in0's GPU
     * @param stream a stream of that GPU, or null for the default stream
     * @throws SpatialActException as listed in {@link NativeOperator}
     */
    default void apply(DeviceTensor in0, DeviceTensor in1, DeviceTensor y, CudaStream stream) {
        op().run(y, stream, 2, in0, in1);
    }

    /**
     * y = f(in0, in1) on raw device memory of GPU {@code device} from other CUDA code.
     * Asynchronous on the stream.
     *
     * @param device the GPU the memory is on
     * @param in0 the device address of the first input
     * @param in1 the device address of the second input
     * @param y the device address of the output
     * @param shape the shape of in0 and y; not checked against the memory
     * @param stream the cudaStream_t as an address, or 0 for the default stream
     * @throws SpatialActException as listed in {@link NativeOperator}; INVALID_ARGUMENT also for
     *     an address of 0 or a device that does not exist
     */
    default void applyDevice(int device, long in0, long in1, long y, Shape shape, long stream) {
        op().runDevice(device, shape, stream, 2, y, in0, in1);
    }

    /**
     * As {@link #applyDevice(int, long, long, long, Shape, long)} with JavaCPP Pointers to device
     * memory (positions count floats).
     *
     * @param device the GPU the memory is on
     * @param in0 the first input
     * @param in1 the second input
     * @param y the output
     * @param shape the shape of in0 and y; not checked against the memory
     * @param stream the cudaStream_t as a Pointer, or null for the default stream
     * @throws SpatialActException as {@link #applyDevice(int, long, long, long, Shape, long)};
     *     INVALID_ARGUMENT also if a Pointer is null
     */
    default void applyDevice(int device, Pointer in0, Pointer in1, Pointer y, Shape shape, Pointer stream) {
        applyDevice(device, NativeOperator.deviceAddress(in0, op().operands.inputs[0]),
                NativeOperator.deviceAddress(in1, op().operands.inputs[1]), NativeOperator.deviceAddress(y, "y"), shape,
                stream == null ? 0 : stream.address());
    }

    /** As {@link NativeOperator#close()}: frees the operator; throws no checked exception. */
    @Override
    void close();
}
