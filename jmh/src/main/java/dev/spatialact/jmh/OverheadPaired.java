package dev.spatialact.jmh;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;

import org.bytedeco.javacpp.FloatPointer;

import dev.spatialact.Backend;
import dev.spatialact.LeakyReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialAct;
import dev.spatialact.internal.Native;
import dev.spatialact.internal.SpatialActNative;
import dev.spatialact.internal.SpatialActNative.sa_params;
import dev.spatialact.internal.SpatialActNative.sa_shape;

/**
 * A paired, interleaved check of the API overhead, for machines too noisy for the difference of
 * two separate JMH scores ({@link OverheadBench}): each thread alternates short blocks of
 * kernel-alone calls and public-API calls on the same FloatPointers (the order flips every round)
 * and reports the median of the per-round differences, so load that drifts over seconds cancels.
 * Not a JMH benchmark; JMH's numbers stay the reference.
 * <pre>java -cp target/benchmarks.jar dev.spatialact.jmh.OverheadPaired [shape=1x8x32x32] [threads=2] [rounds=400] [calls=2000]</pre>
 */
public final class OverheadPaired {
    private OverheadPaired() {}

    public static void main(String[] args) throws Exception {
        Shape shape = Shape.parse(args.length > 0 ? args[0] : "1x8x32x32");
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 400;
        int calls = args.length > 3 ? Integer.parseInt(args[3]) : 2000;
        SpatialAct.setCpuThreads(1);
        LeakyReLU op = LeakyReLU.builder().alpha(Data.ALPHA).backend(Backend.CPU).build();
        sa_params params = Native.newParams().alpha(Data.ALPHA);
        CyclicBarrier start = new CyclicBarrier(threads);
        List<double[][]> results = new ArrayList<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            double[][] r = new double[2][rounds];  // [0] kernel, [1] api: us per call
            results.add(r);
            final long seed = 7919L * (t + 1);
            ts.add(new Thread(() -> {
                int n = shape.numelInt();
                FloatPointer x = new FloatPointer(Data.gaussian(n, seed)), y = new FloatPointer(n);
                sa_shape ns = new sa_shape().n(shape.n()).c(shape.c()).h(shape.h()).w(shape.w());
                try {
                    start.await();
                    long end = System.nanoTime() + 3_000_000_000L;  // warm-up: both paths compiled
                    while (System.nanoTime() < end) {
                        for (int i = 0; i < calls; i++) SpatialActNative.sa_cpu_forward(SpatialActNative.SA_OP_LEAKY_RELU, x, (FloatPointer) null, y, ns, params);
                        for (int i = 0; i < calls; i++) op.apply(x, y, shape);
                    }
                    int sink = 0;
                    for (int k = 0; k < rounds; k++) {
                        for (int half = 0; half < 2; half++) {
                            boolean api = ((k + half) & 1) == 1;
                            long t0 = System.nanoTime();
                            if (api) for (int i = 0; i < calls; i++) op.apply(x, y, shape);
                            else for (int i = 0; i < calls; i++) sink += SpatialActNative.sa_cpu_forward(SpatialActNative.SA_OP_LEAKY_RELU, x, (FloatPointer) null, y, ns, params);
                            r[api ? 1 : 0][k] = (System.nanoTime() - t0) / 1e3 / calls;
                        }
                    }
                    if (sink != 0) throw new IllegalStateException("kernel status " + sink);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                } finally {
                    x.close();
                    y.close();
                    ns.close();
                }
            }));
        }
        ts.forEach(Thread::start);
        for (Thread t : ts) t.join();
        System.out.printf("OverheadPaired shape=%s threads=%d rounds=%d calls/block=%d (us per call)%n", shape, threads, rounds, calls);
        double[] all = new double[0];
        for (int t = 0; t < threads; t++) {
            double[][] r = results.get(t);
            double[] d = new double[rounds];
            for (int k = 0; k < rounds; k++) d[k] = r[1][k] - r[0][k];
            all = concat(all, d);
            System.out.printf("thread %d: kernel alone median %.3f, API median %.3f, API - kernel: median %+.3f (p10 %+.3f, p90 %+.3f)%n",
                    t, median(r[0]), median(r[1]), median(d), pct(d, 10), pct(d, 90));
        }
        System.out.printf("all threads: API - kernel median %+.3f us (p10 %+.3f, p90 %+.3f); bar <= 2 us: %s%n",
                median(all), pct(all, 10), pct(all, 90), median(all) <= 2.0 ? "pass" : "MISS");
        op.close();
        params.close();
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
