package dev.spatialact;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.function.Consumer;

import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad input gets the library's exception with a message naming the problem, before any native
 * work, and the caller's output stays untouched.
 */
class BadInputTest {
    static final float SENTINEL = 12345.5f;
    static final Shape S = Shape.of(2, 3, 4, 5);

    static SpatialActException expect(SpatialActException.Code code, String fragment, Executable e) {
        SpatialActException ex = assertThrows(SpatialActException.class, e);
        assertEquals(code, ex.code(), ex.getMessage());
        assertTrue(ex.getMessage().toLowerCase().contains(fragment.toLowerCase()),
                "message '" + ex.getMessage() + "' should mention '" + fragment + "'");
        return ex;
    }

    static float[] filled(int n) {
        float[] a = new float[n];
        Arrays.fill(a, SENTINEL);
        return a;
    }

    static FloatBuffer directFilled(int n) {
        FloatBuffer b = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < n; i++) b.put(i, SENTINEL);
        return b;
    }

    static void assertUntouched(float[] y) {
        for (float v : y) assertEquals(SENTINEL, v, 0f, "output was touched");
    }

    static void assertUntouched(FloatBuffer y) {
        for (int i = 0; i < y.capacity(); i++) assertEquals(SENTINEL, y.get(i), 0f, "output was touched");
    }

    static FReLU frelu3() {
        float[] w = new float[3 * 9];
        Arrays.fill(w, 0.1f);
        return FReLU.builder(3).weight(w).build();
    }

    @Test
    void shapes() {
        expect(SpatialActException.Code.INVALID_ARGUMENT, "dimension < 1", () -> Shape.of(0, 1, 1, 1));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "dimension < 1", () -> Shape.of(1, -3, 1, 1));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "too large", () -> Shape.of(1L << 40, 1L << 20, 1, 1));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "NxCxHxW", () -> Shape.parse("1x2x3"));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "NxCxHxW", () -> Shape.parse("1x2x3x4x"));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "NxCxHxW", () -> Shape.parse("\uFF11x2x3x4"));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "NxCxHxW", () -> Shape.parse("1x2x-3x4"));
        assertEquals(Shape.of(1, 2, 3, 4), Shape.parse(" 1X2x3x4 "));
    }

    @Test
    void wrongLengthsNullsAndShapes() {
        try (LeakyReLU op = LeakyReLU.of(0.1f); FReLU fr = frelu3()) {
            for (UnaryActivation a : new UnaryActivation[] {op, fr}) {
                float[] y = filled(S.numelInt());
                expect(SpatialActException.Code.INVALID_ARGUMENT, "x has 119 elements", () -> a.apply(new float[119], y, S));
                expect(SpatialActException.Code.INVALID_ARGUMENT, "y has 121", () -> a.apply(new float[120], filled(121), S));
                expect(SpatialActException.Code.INVALID_ARGUMENT, "x is null", () -> a.apply((float[]) null, y, S));
                expect(SpatialActException.Code.INVALID_ARGUMENT, "y is null", () -> a.apply(new float[120], (float[]) null, S));
                expect(SpatialActException.Code.INVALID_ARGUMENT, "shape is null", () -> a.apply(new float[120], y, null));
                assertUntouched(y);
            }
            float[] y = filled(4 * 5 * 2 * 2);
            expect(SpatialActException.Code.INVALID_ARGUMENT, "has 3 channels", () -> fr.apply(new float[80], y, Shape.of(2, 2, 4, 5)));
            assertUntouched(y);
        }
    }

    @Test
    void buffers() {
        try (LeakyReLU op = LeakyReLU.of(0.1f)) {
            int n = S.numelInt();
            FloatBuffer y = directFilled(n);
            FloatBuffer x = directFilled(n);
            expect(SpatialActException.Code.INVALID_ARGUMENT, "not a direct", () -> op.apply(FloatBuffer.allocate(n), y, S));
            FloatBuffer bigEndian = ByteBuffer.allocateDirect(4 * n).asFloatBuffer();
            expect(SpatialActException.Code.INVALID_ARGUMENT, "byte order", () -> op.apply(bigEndian, y, S));
            expect(SpatialActException.Code.INVALID_ARGUMENT, "read-only", () -> op.apply(x, directFilled(n).asReadOnlyBuffer(), S));
            FloatBuffer shortY = directFilled(n);
            shortY.position(1);
            expect(SpatialActException.Code.INVALID_ARGUMENT, "remaining", () -> op.apply(x, shortY, S));
            assertUntouched(shortY);
            assertUntouched(y);
        }
    }

    @Test
    void pointers() {
        try (LeakyReLU op = LeakyReLU.of(0.1f); FloatPointer x = new FloatPointer(S.numel()); FloatPointer y = new FloatPointer(S.numel())) {
            for (int i = 0; i < S.numel(); i++) y.put(i, SENTINEL);
            expect(SpatialActException.Code.INVALID_ARGUMENT, "elements from its position", () -> op.apply(x, new FloatPointer(10), S));
            y.position(2);
            expect(SpatialActException.Code.INVALID_ARGUMENT, "elements from its position", () -> op.apply(x, y, S));
            y.position(0);
            FloatPointer closed = new FloatPointer(S.numel());
            closed.close();
            expect(SpatialActException.Code.INVALID_ARGUMENT, "NULL pointer", () -> op.apply(closed, y, S));
            // A pointer JavaCPP did not allocate (a raw address), with or without a limit: its
            // extent is unknown, so it is refused (without a limit the size check was skipped
            // and the kernel wrote past the memory: a JVM crash). Vouched for, it runs.
            try (FloatPointer z = new FloatPointer(S.numel())) {
                for (int i = 0; i < S.numel(); i++) z.put(i, SENTINEL);
                FloatPointer raw = new FloatPointer(new org.bytedeco.javacpp.Pointer() { { address = z.address(); } });
                assertEquals(0, raw.limit());
                expect(SpatialActException.Code.INVALID_ARGUMENT, "cannot check", () -> op.apply(x, raw, S));
                raw.limit(S.numel());
                expect(SpatialActException.Code.INVALID_ARGUMENT, "cannot check", () -> op.apply(x, raw, S));
                for (int i = 0; i < S.numel(); i++) assertEquals(SENTINEL, z.get(i), 0f, "output was touched");
                expect(SpatialActException.Code.INVALID_ARGUMENT, "uncheckedPointer", () -> op.apply(x, SpatialAct.uncheckedPointer(raw, S.numel() - 1), S));
                op.apply(x, SpatialAct.uncheckedPointer(raw, S.numel()), S);  // vouched for, it runs
                op.apply(x, SpatialAct.uncheckedPointer(z.address(), S.numel()), S);
            }
            for (int i = 0; i < S.numel(); i++) assertEquals(SENTINEL, y.get(i), 0f);
        }
    }

    /**
     * Pointers whose counts lie: made from a pointer of another element size (JavaCPP's copy
     * constructor copies the counts, so a FloatPointer of a 4n-byte BytePointer says 4n floats),
     * or with a limit beyond the allocation. Checked against the allocation they were made from,
     * through every copy; the output untouched. The allocation records must be readable.
     */
    @Test
    void pointerExtents() {
        assertTrue(dev.spatialact.internal.Extents.available(), "JavaCPP's allocation records cannot be read");
        final long n = S.numel();
        try (LeakyReLU op = LeakyReLU.of(0.1f); FloatPointer x = new FloatPointer(n); FloatPointer y = new FloatPointer(n);
                org.bytedeco.javacpp.BytePointer bytes = new org.bytedeco.javacpp.BytePointer(4 * n - 4);
                org.bytedeco.javacpp.BytePointer enough = new org.bytedeco.javacpp.BytePointer(4 * n)) {
            for (int i = 0; i < n; i++) y.put(i, SENTINEL);
            FloatPointer cast = new FloatPointer(bytes);  // says 4n - 4 floats; has n - 1
            assertTrue(cast.limit() >= n);
            expect(SpatialActException.Code.INVALID_ARGUMENT, "another element size", () -> op.apply(x, cast, S));
            expect(SpatialActException.Code.INVALID_ARGUMENT, "reaches past", () -> op.apply(cast, y, S));
            expect(SpatialActException.Code.INVALID_ARGUMENT, "reaches past", () -> op.apply(x, new FloatPointer(new FloatPointer(bytes)), S));
            FloatPointer tooLong = new FloatPointer(n - 1);
            tooLong.limit(10 * n).capacity(10 * n);
            expect(SpatialActException.Code.INVALID_ARGUMENT, "reaches past", () -> op.apply(x, tooLong, S));
            FloatPointer shifted = new FloatPointer(n);
            shifted.position(1).limit(n + 1);
            expect(SpatialActException.Code.INVALID_ARGUMENT, "reaches past", () -> op.apply(x, shifted, S));
            FloatPointer view = new FloatPointer(n + 3).getPointer(3);  // a view of a JavaCPP allocation
            for (int i = 0; i < n; i++) assertEquals(SENTINEL, y.get(i), 0f, "output was touched");
            // Made from allocations that do hold n floats, they run.
            op.apply(x, new FloatPointer(enough), S);
            op.apply(x, view, S);
            java.nio.FloatBuffer fb = java.nio.ByteBuffer.allocateDirect((int) (4 * n)).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
            op.apply(x, new FloatPointer(fb), S);
            java.nio.FloatBuffer small = java.nio.ByteBuffer.allocateDirect((int) (4 * n - 4)).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
            FloatPointer fromSmall = new FloatPointer(small);
            fromSmall.limit(n).capacity(n);
            expect(SpatialActException.Code.INVALID_ARGUMENT, "reaches past", () -> op.apply(x, fromSmall, S));
            tooLong.close();
            shifted.close();
        }
    }

    @Test
    void aliasing() {
        try (FReLU fr = frelu3()) {
            float[] x = filled(S.numelInt());
            expect(SpatialActException.Code.INVALID_ARGUMENT, "aliases", () -> fr.apply(x, x, S));
            assertUntouched(x);
            // Overlapping views of one direct buffer: y starts 7 floats after x.
            FloatBuffer all = directFilled(S.numelInt() + 7);
            FloatBuffer xb = all.duplicate();
            FloatBuffer yb = all.duplicate();
            yb.position(7);
            expect(SpatialActException.Code.INVALID_ARGUMENT, "overlaps", () -> fr.apply(xb, yb, S));
            assertUntouched(all);
        }
        try (Star st = Star.of(Star.Act.RELU); FloatPointer p = new FloatPointer(S.numel() + 3)) {
            for (int i = 0; i < S.numel() + 3; i++) p.put(i, SENTINEL);
            FloatPointer a = new FloatPointer(p).position(0), y = new FloatPointer(p).position(3);
            FloatPointer b = new FloatPointer(S.numel());
            expect(SpatialActException.Code.INVALID_ARGUMENT, "overlaps", () -> st.apply(a, b, y, S));
            for (int i = 0; i < S.numel() + 3; i++) assertEquals(SENTINEL, p.get(i), 0f);
            b.close();
        }
    }

    @Test
    void badParameters() {
        float[] w9 = new float[9];
        Arrays.fill(w9, 0.1f);
        float[] one = {1f};
        Consumer<FReLU.Builder> build = b -> b.build().close();
        expect(SpatialActException.Code.INVALID_ARGUMENT, "k = 4", () -> build.accept(FReLU.builder(1).kernelSize(4).weight(new float[16])));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "k = 9", () -> build.accept(FReLU.builder(1).kernelSize(9).weight(new float[81])));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "k = 0", () -> build.accept(FReLU.builder(1).kernelSize(0).weight(w9)));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "weight has 9 values; expected 18", () -> build.accept(FReLU.builder(2).weight(w9)));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "weight is null", () -> build.accept(FReLU.builder(1)));
        float[] nanW = w9.clone();
        nanW[4] = Float.NaN;
        expect(SpatialActException.Code.INVALID_ARGUMENT, "weight[4] = NaN", () -> build.accept(FReLU.builder(1).weight(nanW)));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "eps = 0.0", () -> build.accept(FReLU.builder(1).weight(w9).batchNorm(one, one, one, one).eps(0f)));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "eps = -1.0", () -> build.accept(FReLU.builder(1).weight(w9).batchNorm(one, one, one, one).eps(-1f)));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "running_var[0] = -1",
                () -> build.accept(FReLU.builder(1).weight(w9).batchNorm(one, one, one, new float[] {-1f})));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "channels = 0", () -> FReLU.builder(0));
        // Finite batch-norm parameters can still fold to infinite values: rejected, naming the source values.
        float[] huge = {3e38f}, zero = {0f};
        expect(SpatialActException.Code.INVALID_ARGUMENT, "gamma = 3.0E38, running_var = 0.0",
                () -> build.accept(FReLU.builder(1).weight(w9).batchNorm(huge, zero, zero, zero)));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "folded shift of channel 0 is not finite",
                () -> build.accept(FReLU.builder(1).weight(w9).foldedBatchNorm(new float[] {1f}, huge).convBias(huge)));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "folded weight of channel 0",
                () -> build.accept(FReLU.builder(1).weight(new float[] {3e38f, 1, 1, 1, 1, 1, 1, 1, 1}).foldedBatchNorm(new float[] {10f}, zero)));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "not both",
                () -> build.accept(FReLU.builder(1).weight(w9).batchNorm(one, one, one, one).foldedBatchNorm(one, one)));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "alpha = NaN", () -> LeakyReLU.of(Float.NaN));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "alpha = Infinity", () -> LeakyReLU.of(Float.POSITIVE_INFINITY));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "alphas[1] = NaN", () -> PReLU.of(0.1f, Float.NaN));
        expect(SpatialActException.Code.INVALID_ARGUMENT, "alphas is empty", () -> PReLU.of());
        expect(SpatialActException.Code.INVALID_ARGUMENT, "act is null", () -> Star.builder().act(null).build());
        expect(SpatialActException.Code.INVALID_ARGUMENT, "backend is null", () -> LeakyReLU.builder().backend(null).build());
    }

    @Test
    void closedObjects() {
        LeakyReLU op = LeakyReLU.of(0.1f);
        op.close();
        op.close();  // idempotent
        assertTrue(op.isClosed());
        float[] y = filled(S.numelInt());
        expect(SpatialActException.Code.CLOSED, "closed", () -> op.apply(new float[120], y, S));
        assertUntouched(y);
        Star st = Star.of(Star.Act.IDENTITY);
        st.close();
        expect(SpatialActException.Code.CLOSED, "closed", () -> st.apply(new float[120], new float[120], y, S));
        assertUntouched(y);
    }

    @Test
    void cudaWithoutGpuSaysWhy() {
        org.junit.jupiter.api.Assumptions.assumeFalse(Backend.CUDA.isAvailable(), "a GPU is present");
        SpatialActException e = expect(SpatialActException.Code.BACKEND_UNAVAILABLE, "CUDA",
                () -> LeakyReLU.builder().backend(Backend.CUDA).build());
        assertTrue(e.getMessage().length() > 20);
        expect(SpatialActException.Code.BACKEND_UNAVAILABLE, "unavailable", () -> DeviceTensor.allocate(S));
        try (LeakyReLU op = LeakyReLU.of(0.1f)) {
            expect(SpatialActException.Code.BACKEND_UNAVAILABLE, "unavailable", () -> op.applyDevice(0, 1L << 20, 2L << 20, S, 0));
        }
        try (LeakyReLU op = LeakyReLU.builder().backend(Backend.CPU).build()) {
            expect(SpatialActException.Code.INVALID_ARGUMENT, "CPU backend", () -> op.applyDevice(0, 1L << 20, 2L << 20, S, 0));
        }
        assertEquals(Backend.CPU, Backend.best());
    }

    @Test
    void nativeMessagesCarryTheEntryPoint() {
        // A check only the native side makes (partial overlap of raw memory) comes back with its message.
        try (LeakyReLU op = LeakyReLU.of(0.1f); FloatPointer p = new FloatPointer(S.numel() + 1)) {
            FloatPointer x = new FloatPointer(p).position(0), y = new FloatPointer(p).position(1);
            SpatialActException e = expect(SpatialActException.Code.INVALID_ARGUMENT, "sa_cpu_leaky_relu_forward", () -> op.apply(x, y, S));
            assertEquals(1, e.nativeStatus());
        }
        assertArrayEquals(new float[] {1f}, new float[] {1f});
    }
}
