package dev.spatialact.hardening;

import java.util.zip.CRC32;

import dev.spatialact.Backend;
import dev.spatialact.FReLU;
import dev.spatialact.LeakyReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialActException;
import dev.spatialact.internal.NativeLoader;

/**
 * A tiny program for the loading tests ({@link NativeLoadingTest}), run in child JVMs.
 * <ul>
 * <li>{@code apply [startAtMillis]}: waits until the given wall-clock time (so that several JVMs
 * load at once), loads the library, applies a fixed FReLU to a fixed input and prints
 * {@code checksum=<crc32 of the output's bits>}; exit 0.</li>
 * <li>{@code fail}: expects the library not to load; prints the exception's code, message and
 * cause chain as key=value lines, checks that a second use fails the same way and that
 * Backend.CPU reports itself unavailable; exit 0 if so, 3 if the library loaded, 4 on an
 * exception of another type.</li>
 * </ul>
 */
public final class LoadAndApplyMain {
    private LoadAndApplyMain() {}

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "apply";
        if (mode.equals("fail")) {
            System.exit(fail());
        }
        if (args.length > 1) {
            long wait = Long.parseLong(args[1]) - System.currentTimeMillis();
            if (wait > 0) Thread.sleep(wait);
        }
        System.out.println("checksum=" + checksum());
        System.out.println("cpu=" + Backend.describe().lines().findFirst().orElse(""));
    }

    /** FReLU (C = 3, k = 5, conv bias, raw batch norm) over a deterministic 2x3x37x53 input. */
    static String checksum() {
        int c = 3, k = 5;
        float[] w = new float[c * k * k];
        for (int i = 0; i < w.length; i++) w[i] = (float) Math.sin(0.37 * i) * 0.3f;
        float[] bias = {0.1f, -0.2f, 0.05f}, gamma = {1.2f, 0.8f, 1.0f}, beta = {0.0f, 0.1f, -0.1f};
        float[] mean = {0.01f, -0.02f, 0.0f}, var = {0.9f, 1.1f, 1.0f};
        Shape s = Shape.of(2, c, 37, 53);
        float[] x = new float[s.numelInt()];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.cos(0.011 * i * i) * 2f;
        try (FReLU op = FReLU.builder(c).kernelSize(k).weight(w).convBias(bias).batchNorm(gamma, beta, mean, var)
                .backend(Backend.CPU).build()) {
            float[] y = op.apply(x, s);
            CRC32 crc = new CRC32();
            for (float v : y) {
                int b = Float.floatToRawIntBits(v);
                crc.update(b);
                crc.update(b >>> 8);
                crc.update(b >>> 16);
                crc.update(b >>> 24);
            }
            return String.format("%08x", crc.getValue());
        }
    }

    static int fail() {
        try {
            LeakyReLU.of(0.1f).close();
            System.out.println("loaded=true");
            return 3;
        } catch (SpatialActException e) {
            System.out.println("code=" + e.code());
            System.out.println("message=" + e.getMessage().replace('\n', ' '));
            StringBuilder chain = new StringBuilder();
            for (Throwable t = e.getCause(); t != null && t != t.getCause(); t = t.getCause()) {
                if (chain.length() > 0) chain.append(" <- ");
                chain.append(t.getClass().getName());
            }
            System.out.println("causes=" + chain);
            // The failure is kept: a second use fails the same way, with no fallback.
            try {
                FReLU.builder(1).weight(new float[9]).build().close();
                System.out.println("second=loaded");
                return 3;
            } catch (SpatialActException e2) {
                System.out.println("second=" + e2.code() + (e2.getMessage().equals(e.getMessage()) ? " same message" : " other message"));
            }
            System.out.println("cpuAvailable=" + Backend.CPU.isAvailable());
            System.out.println("loaderFailure=" + (NativeLoader.failure() != null));
            return 0;
        } catch (Throwable t) {
            System.out.println("wrongType=" + t);
            t.printStackTrace(System.out);
            return 4;
        }
    }
}
