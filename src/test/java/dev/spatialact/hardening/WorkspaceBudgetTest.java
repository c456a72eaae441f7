package dev.spatialact.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

import dev.spatialact.Backend;
import dev.spatialact.NTDLReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialAct;
import dev.spatialact.SpatialActException;

/**
 * Issue "Hardening II", item 5 (the budget): a CPU workspace that does not fit the configurable
 * budget fails with OUT_OF_MEMORY before anything is allocated, naming the budget, and leaves
 * the output untouched; below the budget the same call runs. (NTD-LReLU's workspace is one
 * tile task's: (2S+1)^2 weights per pixel of a tile and its halo, planned to stay within 16 MiB
 * whatever H x W; a 4 MiB budget is below it.)
 */
class WorkspaceBudgetTest {
    @Test
    void aWorkspaceOverTheBudgetIsAnExceptionNotTheOomKiller() {
        long before = SpatialAct.cpuWorkspaceLimit();
        assertTrue(before > 0, "a default budget exists");
        Shape s = Shape.of(1, 1, 1024, 1024);
        float[] x = new float[s.numelInt()], y = new float[s.numelInt()];
        for (int i = 0; i < x.length; i++) x[i] = (i % 7) - 3.5f;
        Arrays.fill(y, 12345.5f);
        try (NTDLReLU op = NTDLReLU.builder().iterations(1).backend(Backend.CPU).build()) {
            SpatialAct.setCpuWorkspaceLimit(4L << 20);
            assertEquals(4L << 20, SpatialAct.cpuWorkspaceLimit());
            SpatialActException e = assertThrows(SpatialActException.class, () -> op.apply(x, y, s));
            assertEquals(SpatialActException.Code.OUT_OF_MEMORY, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("workspace budget of 4.0 MiB"), e.getMessage());
            for (float v : y) assertEquals(12345.5f, v, "output touched");
            SpatialAct.setCpuWorkspaceLimit(512L << 20);
            op.apply(x, y, s);  // fits: runs
            assertTrue(y[0] != 12345.5f);
        } finally {
            SpatialAct.setCpuWorkspaceLimit(0);
        }
        assertEquals(before, SpatialAct.cpuWorkspaceLimit(), "0 restores the default");
    }
}
