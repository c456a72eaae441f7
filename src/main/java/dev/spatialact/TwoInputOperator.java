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

    /** y = f(in0, in1). */
    default void apply(float[] in0, float[] in1, float[] y, Shape shape) {
        op().run(HostMemory.ARRAY, shape, y, 2, in0, in1);
    }

    /** On direct buffers in native byte order, from their positions (which stay unchanged). */
    default void apply(FloatBuffer in0, FloatBuffer in1, FloatBuffer y, Shape shape) {
        op().run(HostMemory.BUFFER, shape, y, 2, in0, in1);
    }

    /** On JavaCPP host pointers, from their positions. */
    default void apply(FloatPointer in0, FloatPointer in1, FloatPointer y, Shape shape) {
        op().run(HostMemory.POINTER, shape, y, 2, in0, in1);
    }

    /** On the GPU, on the given stream (null: the default stream). Asynchronous. */
    default void apply(DeviceTensor in0, DeviceTensor in1, DeviceTensor y, CudaStream stream) {
        op().run(y, stream, 2, in0, in1);
    }

    /** On raw device memory of GPU {@code device} from other CUDA code, on the stream handle (0: default). */
    default void applyDevice(int device, long in0, long in1, long y, Shape shape, long stream) {
        op().runDevice(device, shape, stream, 2, y, in0, in1);
    }

    /** As above with JavaCPP Pointers (positions in floats). */
    default void applyDevice(int device, Pointer in0, Pointer in1, Pointer y, Shape shape, Pointer stream) {
        applyDevice(device, NativeOperator.deviceAddress(in0, op().operands.inputs[0]),
                NativeOperator.deviceAddress(in1, op().operands.inputs[1]), NativeOperator.deviceAddress(y, "y"), shape,
                stream == null ? 0 : stream.address());
    }

    @Override
    void close();
}
