package dev.spatialact;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

/** Threads sharing one operator get exactly the results of a single thread. */
class ConcurrencyTest {
    static final int THREADS = 8, ROUNDS = 25;

    @Test
    void eightThreadsShareOneFrelu() throws Exception {
        SplittableRandom r = new SplittableRandom(99);
        Shape[] shapes = {Shape.of(1, 4, 64, 64), Shape.of(2, 4, 17, 300), Shape.of(1, 4, 1, 1), Shape.of(1, 4, 256, 256)};
        Ref.FreluParams p = Ref.randomFrelu(r, 4, 3, false, true, true);
        float[][] inputs = new float[shapes.length][];
        float[][] expected = new float[shapes.length][];
        try (FReLU op = p.build(Backend.CPU); Star star = Star.of(Star.Act.RELU6)) {
            for (int i = 0; i < shapes.length; i++) {
                inputs[i] = Ref.input(r, shapes[i].numelInt(), true);
                expected[i] = op.apply(inputs[i], shapes[i]);
            }
            float[] sa = Ref.input(r, 1 << 20, true), sb = Ref.input(r, 1 << 20, true);
            Shape ss = Shape.of(1, 1, 1024, 1024);
            float[] starExpected = star.apply(sa, sb, ss);
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    final int id = t;
                    fs.add(pool.submit(() -> {
                        for (int round = 0; round < ROUNDS; round++) {
                            int i = (id + round) % shapes.length;
                            assertArrayEquals(expected[i], op.apply(inputs[i], shapes[i]), "thread " + id + " round " + round);
                            if (round % 5 == 0) assertArrayEquals(starExpected, star.apply(sa, sb, ss));
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) f.get();
            } finally {
                pool.shutdown();
            }
        }
    }
}
