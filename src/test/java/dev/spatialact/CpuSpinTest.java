package dev.spatialact;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The CPU pool's polling budget (SpatialAct.setCpuSpinMicros): its default, its bounds, and
 * exact results of back-to-back parallel calls whether idle workers poll or block at once.
 * No timing is asserted (the benchmarks measure what polling saves).
 */
class CpuSpinTest {
    @Test
    void budgetBoundsAndResults() {
        assertEquals(200, SpatialAct.cpuSpinMicros(), "default");
        SpatialActException e = assertThrows(SpatialActException.class, () -> SpatialAct.setCpuSpinMicros(1_000_001));
        assertEquals(SpatialActException.Code.INVALID_ARGUMENT, e.code(), e.getMessage());
        assertEquals(200, SpatialAct.cpuSpinMicros(), "unchanged by a rejected value");
        Shape s = Shape.of(1, 4, 128, 128);  // 64 Ki elements: two pool tasks
        float[] x = new float[s.numelInt()], y = new float[x.length];
        Random r = new Random(20261202);
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat() * 6 - 3;
        try (LeakyReLU op = LeakyReLU.builder().alpha(0.1f).backend(Backend.CPU).build()) {
            for (int us : new int[] {0, 200, 1000}) {
                SpatialAct.setCpuSpinMicros(us);
                assertEquals(us, SpatialAct.cpuSpinMicros());
                for (int call = 0; call < 50; call++) {
                    op.apply(x, y, s);
                    for (int i = 0; i < x.length; i += 61)
                        assertEquals(x[i] > 0 ? x[i] : 0.1f * x[i], y[i], "spin " + us + " us, call " + call + ", element " + i);
                }
            }
        } finally {
            SpatialAct.setCpuSpinMicros(-1);
        }
        assertEquals(200, SpatialAct.cpuSpinMicros(), "-1 restores the default");
    }
}
