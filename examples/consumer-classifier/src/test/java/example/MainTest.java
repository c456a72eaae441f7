package example;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The classifier route from a JUnit test. */
class MainTest {
    @Test
    void runs() {
        float[] y = Main.run();
        for (float v : y) assertTrue(Float.isFinite(v));
        assertArrayEquals(y, Main.run());
    }
}
