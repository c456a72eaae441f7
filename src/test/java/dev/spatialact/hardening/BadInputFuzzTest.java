package dev.spatialact.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * Issue "Hardening", item 1: the seeded bad-input fuzzer ({@link BadInputFuzzMain}) in a child JVM.
 * A crash of the child (signal, hs_err) is counted as a crash instead of killing Surefire.
 * {@code -Dsa.fuzz.seed=N} and {@code -Dsa.fuzz.calls=N} (default 20261122 and 16000: 12000 bad
 * calls and 4000 valid ones) reproduce or extend a run.
 */
class BadInputFuzzTest {
    static final long SEED = Long.getLong("sa.fuzz.seed", 20261122L);
    static final int CALLS = Integer.getInteger("sa.fuzz.calls", 16000);

    @Test
    void tenThousandBadCallsAllRejectedCleanly() {
        ChildJvm.Result r = ChildJvm.run(List.of("-Xmx512m"), ChildJvm.classPath(), BadInputFuzzMain.class,
                List.of(Long.toString(SEED), Integer.toString(CALLS)), 300, "fuzz");
        int crashes = r.crashed() || r.exitCode() < 0 || r.value("bad") == null ? 1 : 0;
        System.out.printf("fuzz summary: seed=%d calls=%s bad=%s valid=%s crashes=%d wrongTypes=%s outputsTouched=%s"
                + " badMessages=%s validFailures=%s time=%s ms (child JVM %d ms)%n", SEED,
                r.value("bad") == null ? "?" : Long.parseLong(r.value("bad")) + Long.parseLong(r.value("valid")),
                r.value("bad"), r.value("valid"), crashes, r.value("wrongTypes"), r.value("outputsTouched"),
                r.value("badMessages"), r.value("validFailures"), r.value("millis"), r.millis());
        assertEquals(0, crashes, "the fuzz JVM crashed or hung (exit " + r.exitCode() + "); rerun with -Dsa.fuzz.seed=" + SEED);
        assertNotNull(r.value("bad"));
        assertEquals("0", r.value("wrongTypes"), "exceptions of another type than SpatialActException");
        assertEquals("0", r.value("outputsTouched"), "rejected calls that wrote to their output");
        assertEquals("0", r.value("badMessages"), "messages that do not name the problem");
        assertEquals("0", r.value("notThrown"), "bad calls that did not throw");
        assertEquals("0", r.value("validFailures"), "valid calls that failed or differ from the float[] path");
        assertEquals(0, r.exitCode());
        assertTrue(Long.parseLong(r.value("bad")) >= Math.min(10_000, CALLS * 3L / 4), "too few bad calls");
        assertTrue(Long.parseLong(r.value("nativeRejected")) > 0, "no call reached the native checks");
        assertFalse(Long.parseLong(r.value("valid")) == 0, "no valid calls");
    }
}
