package dev.spatialact;

import java.nio.FloatBuffer;

import org.bytedeco.javacpp.FloatPointer;

import dev.spatialact.internal.SpatialActNative;
import dev.spatialact.internal.SpatialActNative.sa_params;
import dev.spatialact.internal.SpatialActNative.sa_shape;

/**
 * A kind of host memory an operator takes: how an operand of it is checked, how the native
 * entry point is called on it, and how it is staged through a GPU. One instance per kind; the
 * operators' runner ({@link NativeOperator}) is written once against this.
 */
abstract class HostMemory<T> {
    /**
     * {@code float[]}: pinned (JNI critical region), not copied. A long call is run by
     * {@link NativeOperator} as a sequence of short critical regions (see there); this is one.
     */
    static final HostMemory<float[]> ARRAY = new HostMemory<>() {
        @Override void check(float[] a, String name, Shape s, boolean output) {
            Checks.array(a, name, s);
        }

        // The native overlap check cannot see two uses of one array when the JVM pins arrays by
        // copying them (JNI allows that; -Xcheck:jni does it): the call would run on two copies.
        @Override boolean same(float[] a, float[] b) {
            return a == b;
        }

        @Override int call(int op, float[] in0, float[] in1, float[] y, sa_shape s, sa_params p, long cancel) {
            return SpatialActNative.sa_cpu_forward_at(op, in0, 0, in1, 0, y, 0, s, p, cancel);
        }

        @Override void upload(DeviceTensor d, float[] a) { d.upload(a); }
        @Override void download(DeviceTensor d, float[] a) { d.download(a); }
    };

    /** Direct {@link FloatBuffer} in native byte order, from its position (which stays unchanged). */
    static final HostMemory<FloatBuffer> BUFFER = new HostMemory<>() {
        @Override void check(FloatBuffer b, String name, Shape s, boolean output) {
            Checks.buffer(b, name, s, output);
        }

        @Override int call(int op, FloatBuffer in0, FloatBuffer in1, FloatBuffer y, sa_shape s, sa_params p, long cancel) {
            return SpatialActNative.sa_cpu_forward_cancellable(op, in0, in1, y, s, p, cancel);
        }

        @Override void upload(DeviceTensor d, FloatBuffer b) { d.upload(b); }
        @Override void download(DeviceTensor d, FloatBuffer b) { d.download(b); }
    };

    /** JavaCPP {@link FloatPointer} to host memory, from its position. */
    static final HostMemory<FloatPointer> POINTER = new HostMemory<>() {
        @Override void check(FloatPointer p, String name, Shape s, boolean output) {
            Checks.pointer(p, name, s);
        }

        @Override int call(int op, FloatPointer in0, FloatPointer in1, FloatPointer y, sa_shape s, sa_params p, long cancel) {
            return SpatialActNative.sa_cpu_forward_cancellable(op, in0, in1, y, s, p, cancel);
        }

        @Override void upload(DeviceTensor d, FloatPointer p) { d.upload(p); }
        @Override void download(DeviceTensor d, FloatPointer p) { d.download(p); }
    };

    private HostMemory() {}

    /** Checks one operand (null, size, kind-specific rules); output: it is written. */
    abstract void check(T t, String name, Shape s, boolean output);

    /** True if a and b are one piece of memory that the native overlap check cannot see. */
    boolean same(T a, T b) {
        return false;
    }

    /**
     * The native forward entry point of operator op (SA_OP_*); in1 null where absent; cancel the
     * address of the call's cancel flag (0: none).
     */
    abstract int call(int op, T in0, T in1, T y, sa_shape s, sa_params p, long cancel);

    abstract void upload(DeviceTensor d, T t);

    abstract void download(DeviceTensor d, T t);
}
