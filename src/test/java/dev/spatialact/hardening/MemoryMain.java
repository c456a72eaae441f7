package dev.spatialact.hardening;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import dev.spatialact.Backend;
import dev.spatialact.DeviceTensor;
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
 * The memory checks of {@link MemoryHardeningTest}, in a child JVM with a fixed, pre-touched heap
 * (so that the resident set measures native memory, not heap growth). Prints key=value lines.
 * <ul>
 * <li>{@code cycles N}: N create / use / close cycles over every operator kind (host FloatPointers
 * of the calls are created and closed in the cycle too); VmRSS after 1,000 and after N cycles.</li>
 * <li>{@code unclosed N}: N FReLU operators (C = 64, k = 7: 12.5 KB of native weights each) used
 * once and dropped without close(); VmRSS sampled every 1,000, then after a GC. JavaCPP's
 * deallocators (phantom references, no finalizer) must free them.</li>
 * <li>{@code device N}: N DeviceTensor allocate / upload / apply / download / close cycles (GPU
 * hosts only).</li>
 * </ul>
 */
public final class MemoryMain {
    private MemoryMain() {}

    /** VmRSS of this process, in kB. */
    static long rssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    /** RSS after a full GC and a moment for JavaCPP's deallocator thread. */
    static long settledRssKb() throws InterruptedException {
        System.gc();
        Thread.sleep(50);
        System.gc();
        Thread.sleep(50);
        return rssKb();
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        int n = Integer.parseInt(args[1]);
        switch (mode) {
            case "cycles" -> cycles(n);
            case "unclosed" -> unclosed(n);
            case "device" -> device(n);
            default -> throw new IllegalArgumentException(mode);
        }
    }

    static float[] ramp(int n, double f) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) Math.sin(f * i) * 2;
        return a;
    }

    static final Shape S = Shape.of(1, 4, 16, 16);
    /** -Dsa.memory.trace=true: RSS every 10,000 cycles as well. */
    static final boolean TRACE = Boolean.getBoolean("sa.memory.trace");

    /** Builds operator number i of the rotation (every kind, both FReLU variants). */
    static NativeOperator create(int i) {
        return switch (i % 8) {
            case 0 -> LeakyReLU.of(0.1f);
            case 1 -> PReLU.of(0.1f, 0.2f, 0.3f, 0.4f);
            case 2 -> FReLU.builder(4).kernelSize(3).weight(ramp(36, 0.1)).convBias(ramp(4, 0.3))
                    .batchNorm(ramp(4, 0.2), ramp(4, 0.4), ramp(4, 0.5), new float[] {1, 2, 3, 4}).build();
            case 3 -> FReLU.lightBuilder(4).kernelSize(5).weight(ramp(20, 0.1)).weightVertical(ramp(20, 0.2)).build();
            case 4 -> Star.of(Star.Act.RELU6);
            case 5 -> TDLReLU.builder().iterations(2).build();
            case 6 -> NTDLReLU.builder().search(1).iterations(1).build();
            default -> FReLU.builder(4).kernelSize(7).weight(ramp(196, 0.05)).build();
        };
    }

    static void use(NativeOperator op, int i, float[] x, float[] y) {
        if (i % 2 == 0) {
            if (op instanceof Star s) s.apply(x, x, y, S);
            else ((UnaryActivation) op).apply(x, y, S);
            return;
        }
        try (FloatPointer px = new FloatPointer(x); FloatPointer py = new FloatPointer(y.length)) {
            if (op instanceof Star s) s.apply(px, px, py, S);
            else ((UnaryActivation) op).apply(px, py, S);
        }
    }

    static void cycles(int n) throws Exception {
        float[] x = ramp(S.numelInt(), 0.07), y = new float[S.numelInt()];
        long t0 = System.nanoTime();
        for (int i = 1; i <= n; i++) {
            try (NativeOperator op = create(i)) {
                use(op, i, x, y);
            }
            if (i == 1000 || i == n || (TRACE && i % 10000 == 0)) {
                long rss = settledRssKb();
                System.out.println("rss." + i + "=" + rss);
                System.out.println("javacppBytes." + i + "=" + Pointer.totalBytes());
                System.out.println("millis." + i + "=" + (System.nanoTime() - t0) / 1_000_000);
            }
        }
        System.out.println("cycles=" + n);
    }

    static void unclosed(int n) throws Exception {
        final int c = 64, k = 7;
        float[] w = ramp(c * k * k, 0.01);
        Shape s = Shape.of(1, c, 4, 4);
        float[] x = ramp(s.numelInt(), 0.3), y = new float[s.numelInt()];
        long before = settledRssKb();
        long peak = before;
        long t0 = System.nanoTime();
        List<Long> samples = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            FReLU op = FReLU.builder(c).kernelSize(k).weight(w).build();  // never closed
            op.apply(x, y, s);
            if (i % 1000 == 0) {
                long rss = rssKb();
                peak = Math.max(peak, rss);
                if (i % 10000 == 0) samples.add(rss);
            }
        }
        long loopMs = (System.nanoTime() - t0) / 1_000_000;
        long after = settledRssKb();
        // JavaCPP frees phantom-reachable pointers on its deallocator thread: give it a moment.
        for (int i = 0; i < 50 && Pointer.totalBytes() > (1 << 20); i++) {
            System.gc();
            Thread.sleep(20);
        }
        System.out.println("rss.before=" + before);
        System.out.println("rss.peak=" + peak);
        System.out.println("rss.after=" + after);
        System.out.println("rss.samples=" + samples);
        System.out.println("javacppBytes.after=" + Pointer.totalBytes());
        System.out.println("nativeBytesPerOperator=" + (4L * (c * k * k + c)));
        System.out.println("millis=" + loopMs);
        System.out.println("unclosed=" + n);
    }

    static void device(int n) throws Exception {
        if (!Backend.CUDA.isAvailable()) {
            System.out.println("skipped=" + Backend.CUDA.unavailableReason());
            return;
        }
        float[] x = ramp(S.numelInt(), 0.07);
        long t0 = System.nanoTime();
        try (LeakyReLU op = LeakyReLU.of(0.1f)) {
            for (int i = 1; i <= n; i++) {
                try (DeviceTensor dx = DeviceTensor.upload(0, S, x); DeviceTensor dy = DeviceTensor.allocate(0, S)) {
                    op.apply(dx, dy);
                    dy.download();
                }
                if (i == 1000 || i == n) {
                    System.out.println("rss." + i + "=" + settledRssKb());
                    System.out.println("millis." + i + "=" + (System.nanoTime() - t0) / 1_000_000);
                }
            }
        }
        System.out.println("cycles=" + n);
    }
}
