package dev.spatialact;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Long calls (issue "Hardening II", item 4). On float[] a call whose estimated cost exceeds one
 * critical region's budget runs as runs of samples, runs of channels, or (one sample or channel
 * too long) through native copies: each way gives the bits of the single call, for every operator
 * of the table and NTD with a guide. A long call is cancelled by interrupting its thread, on
 * float[] (every way of splitting) and on FloatBuffers: CANCELLED, the interrupt status kept, the
 * inputs untouched. No timing is asserted here; the GC stall a long call causes is measured by
 * {@code dev.spatialact.jmh.GcStall} (docs/HARDENING.md).
 */
class LongCallsTest {
    static final long SEED = 20261201L;
    static final Shape SHAPE = Shape.of(3, 4, 17, 19);
    private final double savedBudget = NativeOperator.criticalCost;

    @AfterEach
    void restore() {
        NativeOperator.criticalCost = savedBudget;
        Thread.interrupted();
    }

    static float[] data(Random r, long n) {
        return OperatorTableTest.data(r, (int) n);
    }

    /** The operators under test: the table's samples, and NTD with a two-channel guide. */
    static List<NativeOperator> operators() {
        List<NativeOperator> ops = new ArrayList<>();
        for (OperatorKind k : OperatorKind.values()) ops.add(k.sample((int) SHAPE.c(), Backend.CPU));
        ops.add(NTDLReLU.builder().guideChannels(2).backend(Backend.CPU).build());
        return ops;
    }

    static float[][] inputs(NativeOperator op, Random r) {
        int given = op instanceof NTDLReLU && op.guideChannels() == 0 ? 1 : op.operands.inputs.length;
        float[][] in = new float[given][];
        for (int i = 0; i < given; i++) in[i] = data(r, op.operands.inputShape(i, SHAPE, op.guideChannels()).numel());
        return in;
    }

    @Test
    void splitCallsGiveTheBitsOfOneCall() {
        for (NativeOperator op : operators()) {
            try (op) {
                float[][] in = inputs(op, new Random(SEED));
                float[] whole = new float[(int) SHAPE.numel()];
                NativeOperator.criticalCost = Double.MAX_VALUE;
                op.forward(SHAPE, whole, in);
                long plane = SHAPE.h() * SHAPE.w(), sample = SHAPE.c() * plane;
                // elements per region: 2 samples, 1 sample, 3 channels, 2 channels, 1 element (copies)
                for (long elements : new long[] {2 * sample, sample, 3 * plane, 2 * plane, 1}) {
                    NativeOperator.criticalCost = elements * op.costPerElement;
                    float[] y = new float[whole.length];
                    java.util.Arrays.fill(y, OperatorTableTest.SENTINEL);
                    op.forward(SHAPE, y, in);
                    assertArrayEquals(whole, y, op.name() + " split into regions of " + elements + " elements (seed " + SEED + ")");
                }
            }
        }
    }

    @Test
    void inPlaceSplitCalls() {
        try (LeakyReLU op = LeakyReLU.builder().alpha(0.1f).backend(Backend.CPU).build()) {
            float[] x = data(new Random(SEED), SHAPE.numel()), want = new float[x.length];
            op.apply(x, want, SHAPE);
            for (long elements : new long[] {SHAPE.numel() / 3, 1}) {
                float[] y = x.clone();
                NativeOperator.criticalCost = elements * op.costPerElement;
                op.apply(y, y, SHAPE);
                assertArrayEquals(want, y, "in place, regions of " + elements);
            }
        }
    }

    /** A TD call of many seconds, interrupted after 100 ms: CANCELLED, input untouched. */
    void cancelled(String what, Runnable call, float[] input) {
        float[] before = input.clone();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                call.run();
            } catch (Throwable e) {
                thrown.set(e);
            }
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        });
        t.start();
        try {
            Thread.sleep(100);
            t.interrupt();
            t.join(60_000);
        } catch (InterruptedException e) {
            fail(e);
        }
        assertFalse(t.isAlive(), what + ": still running 60 s after the interrupt");
        Throwable e = thrown.get();
        assertTrue(e instanceof SpatialActException, what + ": expected CANCELLED, got " + e);
        assertEquals(SpatialActException.Code.CANCELLED, ((SpatialActException) e).code(), what + ": " + e.getMessage());
        assertTrue(e.getMessage().contains("interrupted"), e.getMessage());
        assertTrue(stillInterrupted.get(), what + ": the interrupt status stays set");
        assertArrayEquals(before, input, what + ": input untouched");
    }

    /**
     * 200 x the iterations of a plain TD call, soft gate: seconds, if it were not cancelled (the
     * hard form stops at its fixed point, a few iterations in, whatever T says).
     */
    static TDLReLU longTd() {
        return TDLReLU.builder().iterations(1000).epsilon(0.05f).backend(Backend.CPU).build();
    }

    @Test
    void interruptCancelsLongCalls() {
        Shape s = Shape.of(4, 8, 256, 256);
        float[] x = data(new Random(SEED), s.numel()), y = new float[x.length];
        try (TDLReLU op = longTd()) {
            NativeOperator.criticalCost = Double.MAX_VALUE;
            cancelled("float[] in one region", () -> op.apply(x, y, s), x);
            for (long elements : new long[] {s.numel() / 2, 3 * 256 * 256, 1000}) {
                NativeOperator.criticalCost = elements * op.costPerElement;
                cancelled("float[] in regions of " + elements, () -> op.apply(x, y, s), x);
            }
            FloatBuffer xb = OperatorTableTest.buffer(x), yb = OperatorTableTest.buffer(new float[x.length]);
            float[] view = new float[x.length];
            cancelled("FloatBuffer", () -> op.apply(xb, yb, s), x);
            xb.duplicate().get(view);
            assertArrayEquals(x, view, "FloatBuffer input untouched");
        }
    }

    @Test
    void anInterruptedThreadIsCancelledBeforeWork() {
        Shape s = Shape.of(1, 8, 256, 256);
        float[] x = data(new Random(SEED), s.numel()), y = new float[x.length];
        java.util.Arrays.fill(y, OperatorTableTest.SENTINEL);
        try (TDLReLU op = longTd()) {
            Thread.currentThread().interrupt();
            SpatialActException e = assertThrows(SpatialActException.class, () -> op.apply(x, y, s));
            assertEquals(SpatialActException.Code.CANCELLED, e.code());
            assertTrue(Thread.interrupted(), "interrupt status kept");
            for (float v : y) assertEquals(OperatorTableTest.SENTINEL, v, "nothing written");
            // The thread's next call runs normally.
            try (TDLReLU quick = TDLReLU.builder().backend(Backend.CPU).build()) {
                quick.apply(x, y, s);
            }
        }
    }

    @Test
    void shortCallsIgnoreInterrupts() {
        // A call below the watch threshold is not cancellable: it completes even when interrupted.
        Shape s = Shape.of(1, 2, 8, 8);
        float[] x = data(new Random(SEED), s.numel()), y = new float[x.length];
        try (TDLReLU op = TDLReLU.builder().backend(Backend.CPU).build()) {
            Thread.currentThread().interrupt();
            op.apply(x, y, s);
            assertTrue(Thread.interrupted());
        }
    }
}
