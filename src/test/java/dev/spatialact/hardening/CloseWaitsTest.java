package dev.spatialact.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

import dev.spatialact.Backend;
import dev.spatialact.Shape;
import dev.spatialact.SpatialActException;
import dev.spatialact.TDLReLU;

/**
 * Issue "Hardening II", item 3: close() keeps its promise. The README says close() during a call
 * waits for the call; the documented use is to close the operator and then free the buffers the
 * call was using. Here: a long TD call on FloatPointers runs on one thread, the operator is
 * closed on another, and when close() returns the output must already be complete (before the
 * fix close() returned at once, with the output still being written, and freeing the buffers
 * then crashed the JVM). The buffers are freed right after close() returns.
 */
class CloseWaitsTest {
    static final Shape S = Shape.of(1, 32, 256, 256);
    static final int ITERATIONS = 100;  // a call of roughly 0.1 - 0.5 s on 2 cores

    @Test
    void closeDuringACallWaitsForTheCall() throws Exception {
        int n = S.numelInt();
        float[] x = new float[n];
        Random r = new Random(20261201L);
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        float[] want = new float[n];
        try (TDLReLU ref = TDLReLU.builder().lambda(0.5f).iterations(ITERATIONS).backend(Backend.CPU).build()) {
            ref.apply(x, want, S);
        }
        for (int attempt = 0; attempt < 8; attempt++) {
            TDLReLU op = TDLReLU.builder().lambda(0.5f).iterations(ITERATIONS).backend(Backend.CPU).build();
            FloatPointer xp = new FloatPointer(x), yp = new FloatPointer(n);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread call = new Thread(() -> {
                try {
                    op.apply(xp, yp, S);
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            call.start();
            Thread.sleep(20 + 10 * attempt);
            op.close();
            // close() has returned: the call must be over, its output complete.
            float[] got = new float[n];
            yp.get(got);
            call.join();
            if (failure.get() instanceof SpatialActException e && e.code() == SpatialActException.Code.CLOSED) {
                xp.close();
                yp.close();
                continue;  // closed before the call had entered: try again, a little later
            }
            assertEquals(null, failure.get(), "the call failed");
            int wrong = 0;
            for (int i = 0; i < n; i++) if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(want[i])) wrong++;
            assertEquals(0, wrong, "close() returned while the call was still writing its output");
            xp.close();  // the documented use: free the buffers once close() has returned
            yp.close();
            assertTrue(op.isClosed());
            return;
        }
        fail("the call never started before close() in 8 attempts");
    }

    @Test
    void anInterruptedCloseReturnsAndTheCallStillFreesTheOperator() throws Exception {
        TDLReLU op = TDLReLU.builder().iterations(ITERATIONS).backend(Backend.CPU).build();
        int n = S.numelInt();
        FloatPointer xp = new FloatPointer(n), yp = new FloatPointer(n);
        Thread call = new Thread(() -> {
            try {
                op.apply(xp, yp, S);
            } catch (SpatialActException e) {
                // CLOSED if close() came first: fine here
            }
        });
        call.start();
        Thread.sleep(20);
        Thread.currentThread().interrupt();
        op.close();  // returns at once: interrupted
        assertTrue(Thread.interrupted(), "close() keeps the interrupt status");
        assertTrue(op.isClosed());
        call.join();
        assertTrue(op.close(1000), "after the call, the operator is freed");
        xp.close();
        yp.close();
    }
}
