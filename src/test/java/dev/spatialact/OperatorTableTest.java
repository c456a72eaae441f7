package dev.spatialact;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Random;

import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/**
 * Every row of the operator table ({@link OperatorKind}) through the one runner: the same result
 * bit for bit on float[], direct FloatBuffers and FloatPointers (and staged through a GPU where
 * one exists), in place exactly where the native table allows it, and bad operands named and
 * rejected with the output untouched. An operator added to the table is covered here without a
 * new case.
 */
class OperatorTableTest {
    static final long SEED = 20261201L;
    static final float SENTINEL = 12345.5f;
    static final Shape[] SHAPES = {Shape.of(1, 3, 7, 5), Shape.of(2, 3, 1, 1), Shape.of(1, 3, 19, 33)};
    /** CPU vs a CUDA-staged run: the kernels' summation orders may differ in the last bits. */
    static final double GPU_REL_TOL = 1e-6;

    static float[] data(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            float v;
            do v = (float) (4 * r.nextDouble() - 2); while (v == 0f);
            a[i] = v;
        }
        if (n > 3) {
            a[r.nextInt(n)] = Float.NaN;
            a[r.nextInt(n)] = Float.POSITIVE_INFINITY;
            a[r.nextInt(n)] = Float.NEGATIVE_INFINITY;
        }
        return a;
    }

    static FloatBuffer buffer(float[] a) {
        FloatBuffer b = ByteBuffer.allocateDirect(4 * a.length).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.put(a).flip();
        return b;
    }

    static float[] get(FloatBuffer b) {
        float[] a = new float[b.remaining()];
        b.duplicate().get(a);
        return a;
    }

    static float[] filled(int n) {
        float[] a = new float[n];
        Arrays.fill(a, SENTINEL);
        return a;
    }

    @Test
    void everyOperatorOnEveryHostMemoryKind() {
        Random r = new Random(SEED);
        for (OperatorKind k : OperatorKind.values()) {
            for (Shape s : SHAPES) {
                int n = s.numelInt(), nin = k.sampleInputs();
                String what = k + " " + s + " seed " + SEED;
                float[][] in = new float[nin][];
                for (int i = 0; i < nin; i++) in[i] = data(r, n);
                try (NativeOperator op = k.sample((int) s.c(), Backend.CPU)) {
                    float[] want = new float[n];
                    op.forward(s, want, in);

                    FloatBuffer yb = buffer(new float[n]);
                    FloatBuffer[] inb = new FloatBuffer[nin];
                    for (int i = 0; i < nin; i++) inb[i] = buffer(in[i]);
                    op.forward(s, yb, inb);
                    assertArrayEquals(want, get(yb), what + ": FloatBuffer");

                    FloatPointer[] inp = new FloatPointer[nin];
                    for (int i = 0; i < nin; i++) inp[i] = new FloatPointer(in[i]);
                    try (FloatPointer yp = new FloatPointer(n)) {
                        op.forward(s, yp, inp);
                        float[] got = new float[n];
                        yp.get(got);
                        assertArrayEquals(want, got, what + ": FloatPointer");
                    } finally {
                        for (FloatPointer p : inp) p.close();
                    }

                    // In place exactly where the table allows it.
                    for (int i = 0; i < nin; i++) {
                        float[][] args = new float[nin][];
                        for (int j = 0; j < nin; j++) args[j] = in[j].clone();
                        float[] y = args[i];
                        if (k.mayRunInPlace(i)) {
                            op.forward(s, y, args);
                            assertArrayEquals(want, y, what + ": in place on " + k.inputNames().get(i));
                        } else {
                            SpatialActException e = assertThrows(SpatialActException.class, () -> op.forward(s, y, args), what);
                            assertTrue(e.getMessage().contains("aliases " + k.inputNames().get(i)), e.getMessage());
                            assertArrayEquals(in[i], y, what + ": rejected in-place call touched the data");
                        }
                    }

                    // TD and NTD hard gates may flip on the GPU (a flip-fraction tolerance):
                    // their GPU comparison is GpuOperatorTest's and test_td's.
                    boolean td = k.nativeOp() == dev.spatialact.internal.SpatialActNative.SA_OP_TD_LRELU
                            || k.nativeOp() == dev.spatialact.internal.SpatialActNative.SA_OP_NTD_LRELU;
                    if (Backend.CUDA.isAvailable() && !td) {
                        try (NativeOperator g = k.sample((int) s.c(), Backend.CUDA)) {
                            float[] y = new float[n];
                            g.forward(s, y, in);
                            Ref.assertClose(toDouble(want), y, GPU_REL_TOL, SEED, what + ": staged on the GPU");
                        }
                    }
                }
            }
        }
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    @Test
    void everyOperatorNamesItsBadOperands() {
        Shape s = SHAPES[0];
        int n = s.numelInt();
        for (OperatorKind k : OperatorKind.values()) {
            int nin = k.sampleInputs();
            try (NativeOperator op = k.sample((int) s.c(), Backend.CPU)) {
                for (int i = 0; i < nin; i++) {
                    String name = k.inputNames().get(i);
                    float[][] args = new float[nin][];
                    for (int j = 0; j < nin; j++) args[j] = new float[n];
                    float[] y = filled(n);
                    args[i] = null;
                    SpatialActException e = assertThrows(SpatialActException.class, () -> op.forward(s, y, args), k + " null");
                    assertTrue(e.getMessage().contains(name + " is null"), k + ": " + e.getMessage());
                    args[i] = new float[n - 1];
                    e = assertThrows(SpatialActException.class, () -> op.forward(s, y, args), k + " short");
                    assertTrue(e.getMessage().contains(name + " has " + (n - 1) + " elements"), k + ": " + e.getMessage());
                    assertArrayEquals(filled(n), y, k + ": output touched");
                }
                float[][] three = {new float[n], new float[n], new float[n]};
                assertThrows(SpatialActException.class, () -> op.forward(s, new float[n], three), k + ": three inputs");
                if (nin == 1) {
                    SpatialActException e = assertThrows(SpatialActException.class,
                            () -> op.forward(s, new float[n], new float[n], new float[n]), k + ": a second input");
                    assertEquals(SpatialActException.Code.INVALID_ARGUMENT, e.code());
                }
            }
            NativeOperator closed = k.sample((int) s.c(), Backend.CPU);
            closed.close();
            float[][] args = new float[nin][];
            for (int j = 0; j < nin; j++) args[j] = new float[n];
            SpatialActException e = assertThrows(SpatialActException.class, () -> closed.forward(s, new float[n], args));
            assertEquals(SpatialActException.Code.CLOSED, e.code(), k.toString());
        }
    }
}
