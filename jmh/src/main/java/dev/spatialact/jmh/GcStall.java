package dev.spatialact.jmh;

import java.util.Random;

import dev.spatialact.Backend;
import dev.spatialact.Shape;
import dev.spatialact.TDLReLU;

/**
 * How long a long float[] call stops the rest of the JVM (issue "Hardening II", item 4): one
 * thread runs TD-LReLU (soft gate: every iteration costs the same) on float[] for about the requested seconds while another allocates 1 MiB
 * arrays without pause (keeping 64 alive, so the young generation fills and collects every few
 * milliseconds) and records the longest gap between two allocations. A JNI critical region
 * blocks those collections (JDK 17's GC locker), so an unsplit call stalls the allocator for
 * its whole length. Run with a small heap, and once with {@code -Dspatialact.maxCriticalCost=1e300}
 * (one critical region, the old behaviour) to compare:
 *
 * <pre>java -Xmx512m -cp jmh/target/benchmarks.jar dev.spatialact.jmh.GcStall 10 [1x64x512x512 [T]]</pre>
 *
 * Prints the call's length, the allocations made and the longest stall in milliseconds.
 */
public final class GcStall {
    private GcStall() {}

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 10;
        Shape s = args.length > 1 ? Shape.parse(args[1]) : Shape.of(1, 64, 512, 512);
        float[] x = new float[(int) s.numel()], y = new float[x.length];
        Random r = new Random(20261201L);
        for (int i = 0; i < x.length; i++) x[i] = (float) (2 * r.nextDouble() - 1);
        // Calibrate: iterations for about `seconds` seconds (or as given, to compare two runs).
        int iterations;
        if (args.length > 2) iterations = Integer.parseInt(args[2]);
        else try (TDLReLU probe = TDLReLU.builder().iterations(20).epsilon(0.05f).backend(Backend.CPU).build()) {
            probe.apply(x, y, s);
            long t0 = System.nanoTime();
            probe.apply(x, y, s);
            double per = (System.nanoTime() - t0) / 1e9 / 20;
            iterations = (int) Math.max(1, Math.min(1000, seconds / per));
        }
        final boolean[] done = {false};
        final long[] worst = {0}, count = {0};
        Thread allocator = new Thread(() -> {
            byte[][] keep = new byte[64][];
            long last = System.nanoTime(), max = 0, n = 0;
            while (!done[0]) {
                keep[(int) (n++ & 63)] = new byte[1 << 20];
                long now = System.nanoTime();
                max = Math.max(max, now - last);
                last = now;
            }
            synchronized (worst) {
                worst[0] = max;
                count[0] = n;
            }
        }, "allocator");
        try (TDLReLU op = TDLReLU.builder().iterations(iterations).epsilon(0.05f).backend(Backend.CPU).build()) {
            allocator.start();
            Thread.sleep(200);  // the allocator at full speed before the call
            long t0 = System.nanoTime();
            op.apply(x, y, s);
            double took = (System.nanoTime() - t0) / 1e9;
            done[0] = true;
            allocator.join();
            synchronized (worst) {
                System.out.printf("TD-LReLU(T=%d, eps=0.05) on float[] %s: %.2f s; allocator: %d x 1 MiB, longest stall %.1f ms (maxCriticalCost %s)%n",
                        iterations, s, took, count[0], worst[0] / 1e6, System.getProperty("spatialact.maxCriticalCost", "default"));
            }
        }
    }
}
