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
 * the output untouched; below the budget the same call runs. (NTD-LReLU's workspace is
 * (2S+1)^2 weights per pixel: 49 x 4 bytes x H x W with S = 3, here 196 MiB for 1024 x 1024.)
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
            SpatialAct.setCpuWorkspaceLimit(64L << 20);
            assertEquals(64L << 20, SpatialAct.cpuWorkspaceLimit());
            SpatialActException e = assertThrows(SpatialActException.class, () -> op.apply(x, y, s));
            assertEquals(SpatialActException.Code.OUT_OF_MEMORY, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("workspace budget of 64.0 MiB"), e.getMessage());
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
