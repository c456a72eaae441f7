package dev.spatialact.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

import dev.spatialact.Backend;
import dev.spatialact.FReLU;
import dev.spatialact.LeakyReLU;
import dev.spatialact.NTDLReLU;
import dev.spatialact.NativeOperator;
import dev.spatialact.PReLU;
import dev.spatialact.Shape;
import dev.spatialact.Star;
import dev.spatialact.TDLReLU;
import dev.spatialact.UnaryActivation;

/**
 * Issue "Hardening", item 3 (in-process part): 16 threads share one set of operators (each kind
 * built for the CPU and for the AUTO backend), mixing operators, shapes (from 1 element to planes
 * large enough for the native thread pool) and memory kinds; every result must be bitwise the
 * result a single thread computed before. The native pool serves one caller at a time and runs
 * the others on their own threads, so this also checks that results do not depend on how a call
 * was split into tasks.
 */
class ConcurrencyHardeningTest {
    static final int THREADS = 16;
    static final int ROUNDS = Integer.getInteger("sa.concurrency.rounds", 6);

    /** One unit of work: an operator, a shape, its inputs and the single-thread result. */
    record Job(String name, NativeOperator op, Shape shape, float[] a, float[] b, int[] expected) {}

    static float[] input(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            int k = r.nextInt(500);
            x[i] = k == 0 ? Float.NaN : k == 1 ? Float.POSITIVE_INFINITY : (float) (r.nextDouble() * 8 - 4);
        }
        return x;
    }

    static int[] bits(float[] y) {
        int[] b = new int[y.length];
        for (int i = 0; i < y.length; i++) b[i] = Float.floatToRawIntBits(y[i]);
        return b;
    }

    static float[] values(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return a;
    }

    /** Runs a job on one kind of memory (0 float[], 1 direct FloatBuffer, 2 FloatPointer). */
    static float[] run(Job j, int memory) {
        int n = j.shape().numelInt();
        if (memory == 0) {
            float[] y = new float[n];
            if (j.op() instanceof Star s) s.apply(j.a(), j.b(), y, j.shape());
            else ((UnaryActivation) j.op()).apply(j.a(), y, j.shape());
            return y;
        }
        if (memory == 1) {
            FloatBuffer a = direct(j.a()), y = direct(new float[n]);
            if (j.op() instanceof Star s) s.apply(a, direct(j.b()), y, j.shape());
            else ((UnaryActivation) j.op()).apply(a, y, j.shape());
            float[] out = new float[n];
            y.get(0, out);
            return out;
        }
        try (FloatPointer a = new FloatPointer(j.a()); FloatPointer y = new FloatPointer(n)) {
            if (j.op() instanceof Star s) {
                try (FloatPointer b = new FloatPointer(j.b())) {
                    s.apply(a, b, y, j.shape());
                }
            } else {
                ((UnaryActivation) j.op()).apply(a, y, j.shape());
            }
            float[] out = new float[n];
            y.get(out);
            return out;
        }
    }

    static FloatBuffer direct(float[] a) {
        FloatBuffer b = ByteBuffer.allocateDirect(4 * a.length).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.put(0, a);
        return b;
    }

    @Test
    void sixteenThreadsShareOperatorsAndBackendsBitwise() throws Exception {
        SplittableRandom r = new SplittableRandom(4242);
        List<NativeOperator> ops = new ArrayList<>();
        List<Job> jobs = new ArrayList<>();
        Shape[] shapes = {Shape.of(1, 4, 1, 1), Shape.of(1, 4, 7, 3), Shape.of(2, 4, 33, 65), Shape.of(1, 4, 96, 96),
                Shape.of(1, 4, 300, 110), Shape.of(2, 4, 5, 2500)};
        try {
            for (Backend be : new Backend[] {Backend.CPU, Backend.AUTO}) {
                ops.add(LeakyReLU.builder().alpha(0.2f).backend(be).build());
                ops.add(PReLU.builder().alphas(values(r, 4, 1)).backend(be).build());
                ops.add(FReLU.builder(4).kernelSize(3).weight(values(r, 4 * 9, 0.5)).convBias(values(r, 4, 0.1))
                        .batchNorm(values(r, 4, 1.5), values(r, 4, 0.2), values(r, 4, 0.2), new float[] {0.5f, 1f, 2f, 0.9f})
                        .backend(be).build());
                ops.add(FReLU.builder(4).kernelSize(7).weight(values(r, 4 * 49, 0.3)).backend(be).build());
                ops.add(FReLU.lightBuilder(4).kernelSize(5).weight(values(r, 4 * 5, 0.5)).weightVertical(values(r, 4 * 5, 0.5))
                        .backend(be).build());
                ops.add(Star.builder().act(Star.Act.RELU6).backend(be).build());
                ops.add(Star.builder().act(Star.Act.LEAKY_RELU).alpha(0.1f).backend(be).build());
                ops.add(TDLReLU.builder().lambda(0.5f).sigma(1.2f).iterations(4).backend(be).build());
                ops.add(TDLReLU.builder().lambda(0.3f).sigma(0.8f).iterations(3).epsilon(0.05f).backend(be).build());
                ops.add(NTDLReLU.builder().lambda(0.4f).search(2).iterations(3).backend(be).build());
            }
            // Single-threaded references.
            for (NativeOperator op : ops) {
                for (Shape s : shapes) {
                    if (op instanceof NTDLReLU && s.numel() > 100_000) continue;  // keep the run short
                    int n = s.numelInt();
                    float[] a = input(r, n), b = input(r, n);
                    Job j0 = new Job(op.name(), op, s, a, b, null);
                    jobs.add(new Job(op + " " + s, op, s, a, b, bits(run(j0, 0))));
                }
            }
            // 16 threads, each a different shuffled order of every job, memory kind by turn.
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            CountDownLatch start = new CountDownLatch(1);
            AtomicLong calls = new AtomicLong();
            long t0 = System.nanoTime();
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    final int id = t;
                    fs.add(pool.submit(() -> {
                        List<Job> mine = new ArrayList<>(jobs);
                        start.await();
                        for (int round = 0; round < ROUNDS; round++) {
                            Collections.shuffle(mine, new java.util.Random(id * 1000L + round));
                            for (int k = 0; k < mine.size(); k++) {
                                Job j = mine.get(k);
                                int memory = (id + round + k) % 3;
                                int[] got = bits(run(j, memory));
                                calls.incrementAndGet();
                                if (!Arrays.equals(j.expected(), got))
                                    throw new AssertionError("thread " + id + " round " + round + ": " + j.name() + " on memory kind "
                                            + memory + " differs from the single-thread result");
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : fs) f.get();
            } finally {
                pool.shutdown();
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf("concurrency: %d threads, %d jobs (%d operators x shapes), %d calls, all bitwise equal, %d ms%n",
                    THREADS, jobs.size(), ops.size(), calls.get(), ms);
            assertEquals((long) THREADS * ROUNDS * jobs.size(), calls.get());
            assertTrue(jobs.size() > 100);
        } finally {
            for (NativeOperator op : ops) op.close();
        }
    }
}
