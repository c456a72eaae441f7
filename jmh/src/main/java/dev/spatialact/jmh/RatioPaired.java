package dev.spatialact.jmh;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;

import dev.spatialact.Backend;
import dev.spatialact.FReLU;
import dev.spatialact.LeakyReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialAct;

/**
 * A paired, interleaved check of the throughput ratios of {@link ActivationBench} (float[],
 * out-of-place), for machines too noisy for ratios of separate JMH scores: each thread runs one
 * call of each of the plain Java loop, the native LeakyReLU and FReLU(k=3) per round, in an order
 * that rotates every round, and the ratios are taken from the median call times, so load that
 * drifts over seconds hits all three alike. Not a JMH benchmark; JMH's numbers stay the reference.
 * <pre>java -cp target/benchmarks.jar dev.spatialact.jmh.RatioPaired [shape=1x64x256x256] [threads=2] [rounds=300]</pre>
 */
public final class RatioPaired {
    private RatioPaired() {}

    private static final String[] NAMES = {"javaLeakyRelu", "leakyRelu", "frelu"};

    public static void main(String[] args) throws Exception {
        Shape shape = Shape.parse(args.length > 0 ? args[0] : "1x64x256x256");
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 300;
        SpatialAct.setCpuThreads(1);
        int n = shape.numelInt();
        LeakyReLU leaky = LeakyReLU.builder().alpha(Data.ALPHA).backend(Backend.CPU).build();
        FReLU frelu = Data.frelu((int) shape.c(), 3, 11);
        CyclicBarrier start = new CyclicBarrier(threads);
        List<double[][]> results = new ArrayList<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            double[][] r = new double[3][rounds];  // us per call
            results.add(r);
            final long seed = 7919L * (t + 1);
            ts.add(new Thread(() -> {
                float[] x = Data.gaussian(n, seed), y = new float[n];
                try {
                    start.await();
                    long end = System.nanoTime() + 3_000_000_000L;  // warm-up
                    while (System.nanoTime() < end) for (int b = 0; b < 3; b++) call(b, x, y, shape, leaky, frelu);
                    for (int k = 0; k < rounds; k++) {
                        for (int j = 0; j < 3; j++) {
                            int b = (k + j) % 3;
                            long t0 = System.nanoTime();
                            call(b, x, y, shape, leaky, frelu);
                            r[b][k] = (System.nanoTime() - t0) / 1e3;
                        }
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }));
        }
        ts.forEach(Thread::start);
        for (Thread t : ts) t.join();
        double[][] all = new double[3][0];
        for (double[][] r : results) for (int b = 0; b < 3; b++) all[b] = concat(all[b], r[b]);
        System.out.printf("RatioPaired shape=%s threads=%d rounds=%d, float[] out-of-place (median us per call; elements/s per thread)%n",
                shape, threads, rounds);
        double[] med = new double[3];
        for (int b = 0; b < 3; b++) {
            med[b] = median(all[b]);
            System.out.printf("%-14s median %10.1f us  (min %10.1f, p10 %10.1f, p90 %10.1f)  %.3g elements/s%n", NAMES[b],
                    med[b], pct(all[b], 0), pct(all[b], 10), pct(all[b], 90), n / (med[b] * 1e-6));
        }
        System.out.printf("from the p10 times (least disturbed calls): FReLU / LeakyReLU %.2fx, LeakyReLU / Java loop %.2fx%n",
                pct(all[1], 10) / pct(all[2], 10), pct(all[0], 10) / pct(all[1], 10));
        double fr = med[1] / med[2], lj = med[0] / med[1];
        System.out.printf("FReLU / LeakyReLU throughput %.2fx (bar >= 0.5: %s); LeakyReLU / Java loop %.2fx (bar >= 1.5: %s)%n",
                fr, fr >= 0.5 ? "pass" : "MISS", lj, lj >= 1.5 ? "pass" : "MISS");
        leaky.close();
        frelu.close();
    }

    private static void call(int b, float[] x, float[] y, Shape s, LeakyReLU leaky, FReLU frelu) {
        switch (b) {
            case 0 -> Data.javaLeakyRelu(x, y, Data.ALPHA);
            case 1 -> leaky.apply(x, y, s);
            default -> frelu.apply(x, y, s);
        }
    }

    private static double[] concat(double[] a, double[] b) {
        double[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static double median(double[] a) {
        return pct(a, 50);
    }

    private static double pct(double[] a, int p) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s[(int) Math.min(s.length - 1, Math.round(p / 100.0 * (s.length - 1)))];
    }
}
