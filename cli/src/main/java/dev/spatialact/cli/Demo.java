package dev.spatialact.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.IntFunction;

import dev.spatialact.Backend;
import dev.spatialact.CudaStream;
import dev.spatialact.DeviceTensor;
import dev.spatialact.NativeOperator;
import dev.spatialact.OperatorKind;
import dev.spatialact.Shape;
import dev.spatialact.SpatialAct;
import dev.spatialact.SpatialActException;
import dev.spatialact.SpatialActException.Code;
import dev.spatialact.Star;
import dev.spatialact.io.FReLUWeights;
import dev.spatialact.io.Npy;

/**
 * {@code demo}: every operator on a built-in synthetic example, pictures of channel 0 before and
 * after, and a throughput table. Needs no input files and no network.
 *
 * <p>The example: a deterministic 3-channel test pattern ({@link #testImage}: gradients, a disc,
 * a rectangle, a triangle, a checkerboard, a grating, a line and a little noise), turned into a
 * C-channel feature map with positive and negative values by fixed pseudo-random 3x3
 * convolutions ({@link #features}), each channel normalised to mean 0 and standard deviation 1.
 */
final class Demo {
    private Demo() {}

    static final List<String> OPTIONS = List.of("out", "backend", "size", "channels", "bench", "runs", "no-bench");
    static final String DEFAULT_BENCH = "1x64x256x256";

    /** An operator of the demo: file key, and a maker for a channel count. */
    record DemoOp(String key, IntFunction<NativeOperator> make, boolean optional) {}

    static int run(Args a, PrintStream out) {
        a.allowOnly(OPTIONS, "demo");
        if (a.positional.size() > 1) throw new UsageException("demo takes no argument '" + a.positional.get(1) + "'");
        Path dir = Path.of(a.get("out", "demo-out"));
        int size = a.getInt("size", 256);
        if (size < 8 || size > 4096) throw new UsageException("--size " + size + " must be in [8, 4096]");
        int channels = a.getInt("channels", 8);
        if (channels < 1 || channels > 1024) throw new UsageException("--channels " + channels + " must be in [1, 1024]");
        Shape bench;
        try {
            bench = Shape.parse(a.get("bench", DEFAULT_BENCH));
        } catch (SpatialActException e) {
            throw new UsageException("--bench: " + e.getMessage());
        }
        int runs = a.getInt("runs", 20);
        if (runs < 1) throw new UsageException("--runs " + runs + " must be >= 1");
        Backend backend = a.backend(Backend.best());
        backend.requireAvailable();
        out.println("spatialact demo");
        out.println("backend: " + describe(backend));

        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new SpatialActException(Code.IO, dir + ": cannot create the output folder: " + e, e);
        }

        // ---- the example ------------------------------------------------------------------------
        float[] image = testImage(size);
        float[] x = features(image, size, channels, 7L);
        float[] x2 = features(image, size, channels, 8L);
        Shape shape = Shape.of(1, channels, size, size);
        out.printf(Locale.ROOT, "example: synthetic %dx%d RGB test pattern -> feature map %s (fixed random 3x3 convs, "
                + "per-channel mean 0, std 1)%n", size, size, shape);

        List<DemoOp> ops = operators(backend);
        List<String> written = new ArrayList<>();
        List<float[]> outputs = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        int d = displaySize(size);
        for (DemoOp op : ops) {
            NativeOperator o;
            float[] y;
            try {
                o = op.make().apply(channels);
            } catch (RuntimeException e) {
                if (!op.optional()) throw e;
                out.println("skipped " + op.key() + ": " + e.getMessage());
                continue;
            }
            try (NativeOperator oo = o) {
                y = run(oo, x, x2, shape);
            } catch (RuntimeException e) {
                if (!op.optional()) throw e;
                out.println("skipped " + op.key() + ": " + e.getMessage());
                continue;
            }
            String label = o.name();
            boolean star = o instanceof Star;
            List<float[]> panels = new ArrayList<>(star ? List.of(x, x2, y) : List.of(x, y));
            List<String> names = star
                    ? List.of("a = input x", "b = second input", "y = " + ((Star) o).act().name().toLowerCase(Locale.ROOT).replace('_', '-') + "(a) * b")
                    : List.of("input x", "output y");
            Path png = dir.resolve(String.format(Locale.ROOT, "%02d-%s.png", outputs.size() + 1, op.key()));
            figure(label + " on " + backend, panels, names, size, d).writePng(png);
            written.add(png.getFileName().toString());
            outputs.add(y);
            labels.add(label);
        }
        Path overview = dir.resolve("overview.png");
        overview(image, x, outputs, labels, size, channels, backend).writePng(overview);
        written.add(overview.getFileName().toString());

        // The example as files, to try `apply` on.
        long[] npyShape = {1, channels, size, size};
        Npy.write(dir.resolve("input.npy"), npyShape, x);
        Npy.write(dir.resolve("input2.npy"), npyShape, x2);
        FReLUWeights.random(channels, 3, false, 11).save(dir.resolve("frelu-weights"));
        written.addAll(List.of("input.npy", "input2.npy", "frelu-weights/"));

        if (!a.flag("no-bench")) benchmark(ops, bench, runs, backend, out);

        out.println();
        out.println("wrote to " + dir.toAbsolutePath().normalize() + ":");
        out.println("  " + String.join(", ", written));
        out.println("try: java -jar cli/target/spatialact-cli.jar apply frelu --input " + dir.resolve("input.npy") + " --weights "
                + dir.resolve("frelu-weights") + " --out y.npy");
        return 0;
    }

    static String describe(Backend b) {
        String cpu = "CPU (" + SpatialAct.cpuIsa() + ", " + SpatialAct.cpuThreads() + " threads)";
        return switch (b) {
            case CUDA -> "CUDA (GPU 0: " + SpatialAct.cudaDeviceName(0) + ")";
            case CPU -> cpu + (Backend.CUDA.isAvailable() ? "" : "; CUDA unavailable: " + Backend.CUDA.unavailableReason());
            case AUTO -> "AUTO: host data runs on " + cpu;
        };
    }

    /**
     * The operators of the demo: every row of the library's operator table, in order, as its
     * sample instance (star with relu, hence its key). TD and NTD are optional: on a backend that
     * cannot run them the demo says so and goes on.
     */
    static List<DemoOp> operators(Backend backend) {
        List<DemoOp> l = new ArrayList<>();
        for (OperatorKind k : OperatorKind.values()) {
            String key = k == OperatorKind.STAR ? "star-relu" : k.cliName();
            boolean optional = k == OperatorKind.TD_LRELU || k == OperatorKind.NTD_LRELU;
            l.add(new DemoOp(key, c -> k.sample(c, backend), optional));
        }
        return l;
    }

    /** y = op(x) or op(x, x2), as many inputs as the operator takes. */
    private static float[] run(NativeOperator op, float[] x, float[] x2, Shape shape) {
        float[] y = new float[x.length];
        if (op instanceof Star) op.forward(shape, y, x, x2);
        else op.forward(shape, y, x);
        return y;
    }

    // ---- the synthetic example -------------------------------------------------------------------

    /** A deterministic 3 x size x size RGB test pattern, values in [0, 1]. */
    static float[] testImage(int size) {
        int p = size * size;
        float[] img = new float[3 * p];
        SplittableRandom noise = new SplittableRandom(1234);
        for (int yy = 0; yy < size; yy++) {
            for (int xx = 0; xx < size; xx++) {
                double u = (xx + 0.5) / size, v = (yy + 0.5) / size;
                // background: gradients
                double r = 0.15 + 0.55 * u, g = 0.15 + 0.55 * v, b = 0.45 + 0.25 * Math.sin(2 * Math.PI * (u - v));
                // grating (top right)
                if (u > 0.55 && v < 0.45 && u < 0.95 && v > 0.05) {
                    double s = 0.5 + 0.5 * Math.sin(2 * Math.PI * 10 * (u + 0.3 * v));
                    r = g = b = 0.1 + 0.8 * s;
                }
                // disc
                if (sq(u - 0.28) + sq(v - 0.3) < sq(0.17)) {
                    r = 0.9;
                    g = 0.25;
                    b = 0.1;
                }
                // ring around it
                double rad = Math.sqrt(sq(u - 0.28) + sq(v - 0.3));
                if (rad > 0.2 && rad < 0.215) r = g = b = 0.05;
                // rectangle
                if (u > 0.55 && u < 0.9 && v > 0.55 && v < 0.85) {
                    r = 0.1;
                    g = 0.3;
                    b = 0.85;
                }
                // checkerboard inside the rectangle's corner
                if (u > 0.62 && u < 0.82 && v > 0.62 && v < 0.78) {
                    boolean on = ((int) Math.floor((u - 0.62) / 0.04) + (int) Math.floor((v - 0.62) / 0.04)) % 2 == 0;
                    r = g = b = on ? 0.95 : 0.05;
                }
                // triangle (bottom left)
                if (v > 0.58 && v < 0.92 && Math.abs(u - 0.27) < (v - 0.58) * 0.55) {
                    r = 0.95;
                    g = 0.85;
                    b = 0.2;
                }
                // a thin diagonal line
                if (Math.abs((u - 0.05) - (v - 0.45) * 0.9) < 0.006 && u < 0.5 && v > 0.45) r = g = b = 1.0;
                int i = yy * size + xx;
                img[i] = (float) clamp01(r + 0.03 * gauss(noise));
                img[p + i] = (float) clamp01(g + 0.03 * gauss(noise));
                img[2 * p + i] = (float) clamp01(b + 0.03 * gauss(noise));
            }
        }
        return img;
    }

    /**
     * C feature channels of the image: out[c] = sum over RGB of a fixed pseudo-random 3x3 conv
     * (zero padding), then normalised to mean 0 and standard deviation 1 per channel. The weights
     * are a random mix of a smoothing and an edge (Sobel-like) filter, so channels show regions
     * and edges, with both signs.
     */
    static float[] features(float[] image, int size, int channels, long seed) {
        int p = size * size;
        float[] out = new float[channels * p];
        SplittableRandom r = new SplittableRandom(seed);
        double[] smooth = {1, 2, 1, 2, 4, 2, 1, 2, 1};
        double[] sobelX = {-1, 0, 1, -2, 0, 2, -1, 0, 1};
        double[] sobelY = {-1, -2, -1, 0, 0, 0, 1, 2, 1};
        for (int c = 0; c < channels; c++) {
            double[][] w = new double[3][9];
            for (int ci = 0; ci < 3; ci++) {
                double a = gauss(r) / 16, bx = gauss(r) / 4, by = gauss(r) / 4;
                for (int t = 0; t < 9; t++) w[ci][t] = a * smooth[t] + bx * sobelX[t] + by * sobelY[t] + 0.05 * gauss(r);
            }
            double sum = 0, sum2 = 0;
            for (int yy = 0; yy < size; yy++) {
                for (int xx = 0; xx < size; xx++) {
                    double acc = 0;
                    for (int ci = 0; ci < 3; ci++)
                        for (int dy = -1; dy <= 1; dy++) {
                            int sy = yy + dy;
                            if (sy < 0 || sy >= size) continue;
                            for (int dx = -1; dx <= 1; dx++) {
                                int sx = xx + dx;
                                if (sx < 0 || sx >= size) continue;
                                acc += w[ci][(dy + 1) * 3 + dx + 1] * image[ci * p + sy * size + sx];
                            }
                        }
                    out[c * p + yy * size + xx] = (float) acc;
                    sum += acc;
                    sum2 += acc * acc;
                }
            }
            double mean = sum / p, std = Math.sqrt(Math.max(0, sum2 / p - mean * mean));
            double inv = std > 1e-12 ? 1 / std : 1;
            for (int i = c * p; i < (c + 1) * p; i++) out[i] = (float) ((out[i] - mean) * inv);
        }
        return out;
    }

    private static double sq(double v) {
        return v * v;
    }

    private static double clamp01(double v) {
        return Math.max(0, Math.min(1, v));
    }

    private static double gauss(SplittableRandom r) {
        double u1 = 1.0 - r.nextDouble(), u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    // ---- figures ---------------------------------------------------------------------------------

    static final int MARGIN = 16, GAP = 16;

    /** Pixels a size x size plane is drawn at: at least 192 (integer upscaling), at most 512. */
    static int displaySize(int size) {
        if (size > 512) return 512;
        if (size >= 192) return size;
        return size * (int) Math.ceil(192.0 / size);
    }

    /** One symmetric colour scale: the 99.5th percentile of |v| over channel 0 of all the arrays. */
    static float scale(List<float[]> arrays, int planeSize) {
        int n = 0;
        float[] all = new float[arrays.size() * planeSize];
        for (float[] a : arrays)
            for (int i = 0; i < planeSize; i++) {
                float v = Math.abs(a[i]);
                if (!Float.isNaN(v)) all[n++] = v;
            }
        if (n == 0) return 1f;
        Arrays.sort(all, 0, n);
        float s = all[Math.min(n - 1, (int) Math.floor(0.995 * (n - 1)))];
        if (!(s > 0) || Float.isInfinite(s)) s = all[n - 1] > 0 && !Float.isInfinite(all[n - 1]) ? all[n - 1] : 1f;
        return s;
    }

    /** Panels of channel 0 side by side (input | output, or a | b | y), one colour scale, a colour bar. */
    static Canvas figure(String title, List<float[]> panels, List<String> names, int size, int d) {
        int n = panels.size();
        int titleH = Canvas.textHeight(2) + 12, labelH = Canvas.textHeight(2) + 8, barH = 12 + 4 + Canvas.textHeight(1);
        int w = 2 * MARGIN + n * d + (n - 1) * GAP;
        int h = MARGIN + titleH + labelH + d + GAP + barH + MARGIN;
        Canvas cv = new Canvas(w, h);
        cv.textWrap(title + ", channel 0", MARGIN, MARGIN, w - 2 * MARGIN, 2, Canvas.TEXT);
        float s = scale(panels, size * size);
        int y0 = MARGIN + titleH + labelH;
        for (int i = 0; i < n; i++) {
            int x0 = MARGIN + i * (d + GAP);
            cv.textWrap(names.get(i), x0, MARGIN + titleH, d, 2, Canvas.TEXT);
            cv.plane(panels.get(i), 0, size, size, x0, y0, d, d, s);
        }
        int barW = Math.min(w - 2 * MARGIN, 384);
        cv.colourBar((w - barW) / 2, y0 + d + GAP, barW, s);
        return cv;
    }

    /** A grid: the RGB example, the input's channel 0, then every operator's output channel 0; one scale. */
    static Canvas overview(float[] image, float[] x, List<float[]> outputs, List<String> labels, int size, int channels, Backend b) {
        int t = Math.min(displaySize(size), 256);
        int cells = 2 + outputs.size(), cols = Math.min(4, cells), rows = (cells + cols - 1) / cols;
        int titleH = Canvas.textHeight(2) + 12, labelH = Canvas.textHeight(1) * 2 + 10, barH = 12 + 4 + Canvas.textHeight(1);
        int w = 2 * MARGIN + cols * t + (cols - 1) * GAP;
        int h = MARGIN + titleH + rows * (labelH + t + GAP) + barH + MARGIN;
        Canvas cv = new Canvas(w, h);
        cv.textFit("spatialact demo: channel 0 of 1x" + channels + "x" + size + "x" + size + " on " + b, MARGIN, MARGIN,
                w - 2 * MARGIN, 2, Canvas.TEXT);
        List<float[]> scaled = new ArrayList<>();
        scaled.add(x);
        scaled.addAll(outputs);
        float s = scale(scaled, size * size);
        for (int i = 0; i < cells; i++) {
            int x0 = MARGIN + (i % cols) * (t + GAP), y0 = MARGIN + titleH + (i / cols) * (labelH + t + GAP);
            String label = i == 0 ? "example image (RGB)" : i == 1 ? "input x" : labels.get(i - 2);
            cv.textWrap(label, x0, y0, t, 2, Canvas.TEXT);
            if (i == 0) cv.image(image, size, size, x0, y0 + labelH, t, t);
            else cv.plane(i == 1 ? x : outputs.get(i - 2), 0, size, size, x0, y0 + labelH, t, t, s);
        }
        int barW = Math.min(w - 2 * MARGIN, 384);
        cv.colourBar((w - barW) / 2, MARGIN + titleH + rows * (labelH + t + GAP), barW, s);
        return cv;
    }

    // ---- throughput ------------------------------------------------------------------------------

    static void benchmark(List<DemoOp> ops, Shape shape, int runs, Backend backend, PrintStream out) {
        if (shape.c() > Integer.MAX_VALUE) throw new UsageException("--bench: too many channels");
        int c = (int) shape.c();
        int n = shape.numelInt();
        float[] host = new float[n];
        SplittableRandom r = new SplittableRandom(99);
        for (int i = 0; i < n; i++) host[i] = (float) (2 * r.nextDouble() - 1);
        boolean device = backend == Backend.CUDA;
        int warmup = Math.min(3, runs);
        out.println();
        out.printf(Locale.ROOT, "throughput on %s, %s memory: per operator, warm-up (at least %d runs and %d ms), then the median of %d runs%n",
                shape, device ? "GPU (DeviceTensor, each run synchronised)" : "host (direct FloatBuffer)", warmup, WARMUP_MS, runs);
        // One operator at a time. (Taking turns was tried: an operator right after a slow one then
        // pays for the caches and the CPU threads the slow one left cold, e.g. 10 ms instead of 1.3.)
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"operator", "shape", "median ms", "GB/s", "vs LeakyReLU"});
        double base = Double.NaN;
        try (Buffers buf = device ? Buffers.device(shape, host) : Buffers.host(shape, host)) {
            for (DemoOp op : ops) {
                NativeOperator o;
                try {
                    o = op.make().apply(c);
                } catch (RuntimeException e) {
                    if (!op.optional()) throw e;
                    rows.add(new String[] {op.key(), "skipped: " + e.getMessage()});
                    continue;
                }
                try (NativeOperator oo = o) {
                    long start = System.nanoTime();
                    for (int i = 0; i < 1000 && (i < warmup || System.nanoTime() - start < WARMUP_MS * 1_000_000L); i++) buf.run(oo);
                    double[] t = new double[runs];
                    for (int i = 0; i < runs; i++) {
                        long t0 = System.nanoTime();
                        buf.run(oo);
                        t[i] = (System.nanoTime() - t0) / 1e6;
                    }
                    double ms = median(t);
                    long bytes = (oo instanceof Star ? 3L : 2L) * 4L * shape.numel();
                    double gbs = bytes / (ms * 1e6);
                    if (Double.isNaN(base)) base = ms;
                    rows.add(new String[] {oo.name(), shape.toString(), String.format(Locale.ROOT, "%.3f", ms),
                            String.format(Locale.ROOT, "%.1f", gbs), String.format(Locale.ROOT, "%.2fx", ms / base)});
                } catch (RuntimeException e) {
                    if (!op.optional()) throw e;
                    rows.add(new String[] {op.key(), "skipped: " + e.getMessage()});
                }
            }
        }
        int[] width = new int[5];
        for (String[] row : rows)
            if (row.length == 5) for (int i = 0; i < 5; i++) width[i] = Math.max(width[i], row[i].length());
        for (String[] row : rows) {
            if (row.length != 5) {
                out.println(pad(row[0], width[0], false) + "  " + row[1]);
                continue;
            }
            out.println(pad(row[0], width[0], false) + "  " + pad(row[1], width[1], false) + "  " + pad(row[2], width[2], true) + "  "
                    + pad(row[3], width[3], true) + "  " + pad(row[4], width[4], true));
        }
        out.println("GB/s counts the bytes an ideal kernel moves: input read + output written once (star: a, b read, y written);");
        out.println("\"vs LeakyReLU\" is median time / LeakyReLU's median time (1.00x = as fast as the baseline).");
    }

    /** Minimum warm-up time per operator in the throughput runs. */
    static final int WARMUP_MS = 100;

    static double median(double[] v) {
        double[] t = v.clone();
        Arrays.sort(t);
        int n = t.length;
        return n % 2 == 1 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    }

    private static String pad(String s, int w, boolean right) {
        String p = " ".repeat(Math.max(0, w - s.length()));
        return right ? p + s : s + p;
    }

    /** Input and output memory of the benchmark: host direct buffers or GPU tensors. */
    private abstract static class Buffers implements AutoCloseable {
        abstract void run(NativeOperator op);

        @Override
        public abstract void close();

        static Buffers host(Shape shape, float[] data) {
            int n = shape.numelInt();
            FloatBuffer x = direct(n).put(data).flip(), x2 = direct(n).put(data).flip(), y = direct(n);
            return new Buffers() {
                void run(NativeOperator op) {
                    if (op instanceof Star) op.forward(shape, y, x, x2);
                    else op.forward(shape, y, x);
                }

                public void close() {}
            };
        }

        static Buffers device(Shape shape, float[] data) {
            DeviceTensor x = DeviceTensor.upload(0, shape, data);
            DeviceTensor x2 = DeviceTensor.upload(0, shape, data);
            DeviceTensor y = DeviceTensor.allocate(0, shape);
            CudaStream stream = CudaStream.create(0);
            return new Buffers() {
                void run(NativeOperator op) {
                    if (op instanceof Star) op.forward(y, stream, x, x2);
                    else op.forward(y, stream, x);
                    stream.synchronize();
                }

                public void close() {
                    stream.close();
                    y.close();
                    x2.close();
                    x.close();
                }
            };
        }

        private static FloatBuffer direct(int n) {
            return ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asFloatBuffer();
        }
    }
}
