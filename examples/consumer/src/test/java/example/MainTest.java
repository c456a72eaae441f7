package example;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The user's code from a JUnit test, with nothing but spatialact-platform on the class path. */
class MainTest {
    @TempDir
    Path tmp;

    @Test
    void freluFromAStateDictFolder() throws Exception {
        float[] y = Main.frelu(tmp);
        assertEquals(16 * 32 * 32, y.length);
        for (float v : y) assertTrue(Float.isFinite(v));
        assertArrayEquals(y, Main.frelu(tmp), "the same folder gives the same result");
    }

    @Test
    void tdOnDirectBuffersFromManyThreads() throws Exception {
        List<float[]> four = Main.tdBatch(4), one = Main.tdBatch(1);
        assertEquals(8, four.size());
        for (int i = 0; i < 8; i++) assertArrayEquals(one.get(i), four.get(i), "sample " + i);
    }
}
