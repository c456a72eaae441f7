package dev.spatialact.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import dev.spatialact.Backend;
import dev.spatialact.LeakyReLU;
import dev.spatialact.NTDLReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialActException;
import dev.spatialact.SpatialActException.Code;
import dev.spatialact.TDLReLU;

/**
 * {@code study}: the activation-level version of two claims of the TD-LReLU paper (Liu et al.,
 * IPI 2024), on built-in piecewise-constant test images and Gaussian noise: that the gate of
 * TD-LReLU (a regularised segmentation of the pre-activation) is far more robust to noise than
 * the gate of LeakyReLU (a thresholding), and that it gets smoother as lambda grows.
 *
 * <p>For each test image (blobs, bars, corners, texture; {@link #testImages}) and noise level
 * delta (standard deviation on the 0..255 scale), the noisy image is clipped to [0, 255] and
 * normalised to the pre-activation {@code o = (noisy - 127.5) / 127.5}, so the clean foreground is
 * exactly {@code clean > 127.5}, i.e. o > 0 without noise. Every operator runs once over all
 * images and noise levels as one N x 1 x H x W call; its gate is recovered from y = o * u as
 * u = y / o and thresholded at (1 + alpha) / 2 ({@link #gate}). Scores against the clean
 * foreground ({@link Scores}): IoU, boundary length and the fraction of isolated flipped pixels.
 *
 * <p>Java use: {@code Study.Result r = Study.run(Study.Options.defaults(), null);} then
 * {@code r.rows()}, {@code r.csv()}, {@code r.table()}, or {@link #write} for the files.
 */
public final class Study {
    private Study() {}

    /** The methods, as the CSV and the table name them. */
    public static final String LEAKY = "LeakyReLU", TD = "TD-LReLU", NTD = "NTD-LReLU", NTD_GUIDE = "NTD-LReLU+guide";

    /**
     * What to run. {@link #defaults()} is the study of the docs; {@link #quick()} a smaller one for
     * tests. Images are size x size; deltas the noise levels (0 = clean, kept as the reference);
     * lambdas the TD sweep (0 is LeakyReLU); lambda the default lambda of TD and NTD; gridDelta
     * the noise level of the gate-image grid; guideSigma the Gaussian blur of the noisy image that
     * is NTD's caller-given guide.
     */
    public record Options(int size, double[] deltas, float[] lambdas, float lambda, float alpha, float sigma, int iterations,
            int search, int patch, float h, float guideSigma, double gridDelta, long seed, Backend backend) {

        public Options {
            if (size < 96 || size > 1024) throw new IllegalArgumentException("size " + size + " must be in [96, 1024]");
            if (deltas.length == 0 || lambdas.length == 0) throw new IllegalArgumentException("no deltas or no lambdas");
            deltas = deltas.clone();
            lambdas = lambdas.clone();
            for (double d : deltas) if (!(d >= 0 && d <= 1000)) throw new IllegalArgumentException("delta " + d + " must be in [0, 1000]");
            for (int i = 0; i < lambdas.length; i++)
                if (!(lambdas[i] >= 0) || i > 0 && !(lambdas[i] > lambdas[i - 1]))
                    throw new IllegalArgumentException("lambdas must be >= 0 and increasing: " + Arrays.toString(lambdas));
            if (!(guideSigma > 0)) throw new IllegalArgumentException("guide sigma " + guideSigma + " must be > 0");
            if (backend == null) throw new IllegalArgumentException("backend is null");
        }

        /**
         * The default study: 4 images of 160 x 160; delta 0, 10, 20, 30, 40, 50, 100 (seed 1); TD
         * with alpha 0.01, sigma 1 (r = 3), T = 5, hard gate, lambda 0 .. 4 (default 1); NTD with
         * S = 3, P = 1, h = 0.25, lambda 1; the guide blurred with sigma 1; the grid at delta 50.
         */
        public static Options defaults() {
            return new Options(160, new double[] {0, 10, 20, 30, 40, 50, 100},
                    new float[] {0f, 0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 1f, 1.5f, 2f, 3f, 4f}, 1f, 0.01f, 1f, 5,
                    3, 1, 0.25f, 1f, 50, 1L, Backend.AUTO);
        }

        /** A small instance (images of 96 x 96, the same noise levels, five lambdas) for tests. */
        public static Options quick() {
            Options d = defaults();
            return new Options(96, d.deltas, new float[] {0f, 0.1f, 0.5f, 1f, 2f}, d.lambda, d.alpha, d.sigma, d.iterations,
                    d.search, d.patch, d.h, d.guideSigma, d.gridDelta, d.seed, d.backend);
        }

        public Options withSeed(long s) {
            return new Options(size, deltas, lambdas, lambda, alpha, sigma, iterations, search, patch, h, guideSigma, gridDelta, s, backend);
        }

        public Options withSize(int s) {
            return new Options(s, deltas, lambdas, lambda, alpha, sigma, iterations, search, patch, h, guideSigma, gridDelta, seed, backend);
        }

        public Options withDeltas(double... d) {
            return new Options(size, d, lambdas, lambda, alpha, sigma, iterations, search, patch, h, guideSigma, gridDelta, seed, backend);
        }

        public Options withLambdas(float... l) {
            return new Options(size, deltas, l, lambda, alpha, sigma, iterations, search, patch, h, guideSigma, gridDelta, seed, backend);
        }

        public Options withLambda(float l) {
            return new Options(size, deltas, lambdas, l, alpha, sigma, iterations, search, patch, h, guideSigma, gridDelta, seed, backend);
        }

        public Options withBackend(Backend b) {
            return new Options(size, deltas, lambdas, lambda, alpha, sigma, iterations, search, patch, h, guideSigma, gridDelta, seed, b);
        }

        public Options withNtd(int s, int p, float hh, float gs) {
            return new Options(size, deltas, lambdas, lambda, alpha, sigma, iterations, s, p, hh, gs, gridDelta, seed, backend);
        }

        public Options withTd(float a, float sg, int t) {
            return new Options(size, deltas, lambdas, lambda, a, sg, t, search, patch, h, guideSigma, gridDelta, seed, backend);
        }

        public Options withGridDelta(double d) {
            return new Options(size, deltas, lambdas, lambda, alpha, sigma, iterations, search, patch, h, guideSigma, d, seed, backend);
        }

        @Override public double[] deltas() { return deltas.clone(); }
        @Override public float[] lambdas() { return lambdas.clone(); }
    }

    /** Scores of one gate against the clean foreground. */
    public record Scores(long intersection, long union, long boundary, long isolated, long errors, long pixels) {
        /** Intersection over union of the gate's foreground and the clean foreground (1 if both are empty). */
        public double iou() { return union == 0 ? 1 : (double) intersection / union; }
        /** Isolated flipped pixels as a fraction of all pixels. */
        public double isolatedFraction() { return (double) isolated / pixels; }
        /** Pixels whose gate differs from the clean label, as a fraction of all pixels. */
        public double errorFraction() { return (double) errors / pixels; }

        Scores plus(Scores o) {
            return new Scores(intersection + o.intersection, union + o.union, boundary + o.boundary, isolated + o.isolated,
                    errors + o.errors, pixels + o.pixels);
        }
    }

    /** One result: a method (at a lambda; NaN for LeakyReLU) on one image or on all (image "all", pooled) at one delta. */
    public record Row(double delta, String method, float lambda, String image, Scores scores, long cleanBoundary) {}

    /** A test image: its name and its clean values on the 0..255 scale, size x size. */
    public record TestImage(String name, float[] clean) {}

    /** A column of the gate grid: its label, the method and lambda of its rows, and the gate of each image. */
    public record GridColumn(String label, String method, float lambda, boolean[][] gates) {}

    /**
     * The outcome: every row (per image and pooled), the images, the grid's noise level, the noisy
     * images and the gates at it, whether NTD with o itself as the caller's guide gave exactly the
     * default guide's output, and the seconds taken.
     */
    public record Result(Options options, List<Row> rows, List<TestImage> images, double gridDelta, float[][] gridNoisy,
            List<GridColumn> grid, boolean ownGuideIdentical, double seconds) {

        /** The row of a method at a delta on an image ("all": pooled); lambda is ignored for LeakyReLU. */
        public Row row(String method, float lambda, double delta, String image) {
            for (Row r : rows)
                if (r.image.equals(image) && r.method.equals(method) && r.delta == delta
                        && (method.equals(LEAKY) || Float.compare(r.lambda, lambda) == 0)) return r;
            throw new IllegalArgumentException("no row " + method + " lambda " + lambda + " delta " + delta + " image " + image);
        }

        /** The pooled row of a method at a delta. */
        public Row row(String method, float lambda, double delta) {
            return row(method, lambda, delta, "all");
        }

        /** TD-LReLU's pooled row at a lambda of the sweep; lambda 0 is LeakyReLU's row (TD with lambda 0 is LeakyReLU). */
        public Row sweep(float lambda, double delta) {
            return lambda == 0f ? row(LEAKY, Float.NaN, delta) : row(TD, lambda, delta);
        }

        public String csv() {
            StringBuilder sb = new StringBuilder("delta,method,lambda,image,iou,boundary,clean_boundary,isolated_fraction,error_fraction,"
                    + "intersection,union,isolated,errors,pixels\n");
            for (Row r : rows) {
                Scores s = r.scores;
                sb.append(String.format(Locale.ROOT, "%s,%s,%s,%s,%.6f,%d,%d,%.6f,%.6f,%d,%d,%d,%d,%d%n", num(r.delta), r.method,
                        Float.isNaN(r.lambda) ? "" : num(r.lambda), r.image, s.iou(), s.boundary, r.cleanBoundary, s.isolatedFraction(),
                        s.errorFraction(), s.intersection, s.union, s.isolated, s.errors, s.pixels));
            }
            return sb.toString();
        }

        /** What was run, in a few lines. */
        public String describe() {
            Options o = options;
            List<String> names = new ArrayList<>();
            for (TestImage t : images) names.add(t.name);
            StringBuilder d = new StringBuilder();
            for (double v : o.deltas) d.append(d.length() == 0 ? "" : ", ").append(num(v));
            float lo = Float.NaN;
            for (float l : o.lambdas) if (l > 0 && Float.isNaN(lo)) lo = l;
            int r;
            try (TDLReLU op = TDLReLU.builder().sigma(o.sigma).build()) {
                r = op.settings().radius();
            }
            return "images: " + String.join(", ", names) + ", " + o.size + "x" + o.size + ", piecewise constant on 0..255; "
                    + "clean foreground = value > 127.5\n"
                    + "noise: Gaussian, standard deviation delta = " + d + " on 0..255; one field per image (java.util.Random, seed "
                    + o.seed + ") times delta, clipped to [0, 255]\n"
                    + "pre-activation o = (noisy - 127.5) / 127.5; one " + (images.size() * o.deltas.length) + "x1x" + o.size + "x" + o.size
                    + " call per operator; gate u = y / o, foreground where u > (1 + alpha) / 2\n"
                    + "TD-LReLU: alpha " + num(o.alpha) + ", sigma " + num(o.sigma) + " (r " + r + "), T " + o.iterations
                    + ", hard gate (eps 0), lambda " + num(lo) + " .. " + num(o.lambdas[o.lambdas.length - 1]) + " (0 = LeakyReLU), default "
                    + num(o.lambda) + "\n"
                    + "NTD-LReLU: lambda " + num(o.lambda) + ", S " + o.search + ", P " + o.patch + ", h " + num(o.h) + ", T " + o.iterations
                    + ", hard gate; guide: the default (channel mean of o, i.e. o) and, as the caller's guide (+guide), the noisy image "
                    + "blurred with sigma " + num(o.guideSigma) + ", normalised as o\n"
                    + "check: NTD with o itself passed as the caller's guide " + (ownGuideIdentical ? "gives bit for bit" : "does NOT give")
                    + " the default guide's output\n";
        }

        /** The tables the CLI prints: IoU per delta and method, boundary length and IoU against lambda, isolated flips. */
        public String table() {
            Options o = options;
            double[] deltas = o.deltas;
            String l = num(o.lambda);
            String[] methods = {LEAKY, TD, NTD, NTD_GUIDE};
            String[] heads = {"LeakyReLU", "TD l=" + l, "NTD l=" + l, "NTD+guide l=" + l};
            StringBuilder sb = new StringBuilder();
            sb.append("IoU of the gate with the clean foreground (all images pooled)\n");
            sb.append(line("delta", Arrays.asList(heads)));
            for (double d : deltas) {
                List<String> cells = new ArrayList<>();
                for (String m : methods) cells.add(String.format(Locale.ROOT, "%.3f", row(m, o.lambda, d).scores.iou()));
                sb.append(line(num(d), cells));
            }
            String[] lh = new String[o.lambdas.length + 1];
            for (int i = 0; i < o.lambdas.length; i++) lh[i] = "l=" + num(o.lambdas[i]);
            lh[o.lambdas.length] = "clean";
            sb.append("\nboundary length of TD-LReLU's gate (4-neighbour pairs that differ) against lambda (l=0: LeakyReLU)\n");
            sb.append(line("delta", Arrays.asList(lh)));
            for (double d : deltas) {
                List<String> cells = new ArrayList<>();
                for (float lam : o.lambdas) cells.add(Long.toString(sweep(lam, d).scores.boundary));
                cells.add(Long.toString(row(LEAKY, Float.NaN, d).cleanBoundary));
                sb.append(line(num(d), cells));
            }
            sb.append("\nIoU of TD-LReLU's gate against lambda (l=0: LeakyReLU)\n");
            sb.append(line("delta", Arrays.asList(lh).subList(0, o.lambdas.length)));
            for (double d : deltas) {
                List<String> cells = new ArrayList<>();
                for (float lam : o.lambdas) cells.add(String.format(Locale.ROOT, "%.3f", sweep(lam, d).scores.iou()));
                sb.append(line(num(d), cells));
            }
            sb.append("\nisolated flipped pixels (% of all pixels)\n");
            sb.append(line("delta", Arrays.asList(heads)));
            for (double d : deltas) {
                List<String> cells = new ArrayList<>();
                for (String m : methods)
                    cells.add(String.format(Locale.ROOT, "%.3f", 100 * row(m, o.lambda, d).scores.isolatedFraction()));
                sb.append(line(num(d), cells));
            }
            return sb.toString();
        }

        private static String line(String first, List<String> cells) {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%5s", first));
            for (String c : cells) sb.append(String.format(Locale.ROOT, "  %" + Math.max(7, c.length()) + "s", c));
            return sb.append('\n').toString();
        }
    }

    /** Progress of a run: step done of total, and what was done. */
    @FunctionalInterface
    public interface Progress {
        void step(int done, int total, String what);
    }

    // ---- the run ---------------------------------------------------------------------------------

    /** Runs the study; progress may be null. Writes nothing (see {@link #write}). */
    public static Result run(Options o, Progress progress) {
        long t0 = System.nanoTime();
        int s = o.size, plane = s * s;
        List<TestImage> images = testImages(s);
        int ni = images.size(), nd = o.deltas.length, n = ni * nd;
        Shape shape = Shape.of(n, 1, s, s);
        int gridD = closest(o.deltas, o.gridDelta);

        // Sample (d, i) is plane d * ni + i. One noise field per image (java.util.Random, seeded), times delta.
        float[] x = new float[n * plane], guide = new float[n * plane];
        boolean[][] clean = new boolean[ni][];
        long[] cleanBoundary = new long[ni];
        float[][] noisyGrid = new float[ni][];
        for (int i = 0; i < ni; i++) {
            float[] c = images.get(i).clean;
            clean[i] = new boolean[plane];
            for (int p = 0; p < plane; p++) clean[i][p] = c[p] > 127.5f;
            cleanBoundary[i] = boundary(clean[i], s);
            double[] z = new double[plane];
            Random r = new Random(o.seed * 0x9E3779B97F4A7C15L + i);
            for (int p = 0; p < plane; p++) z[p] = r.nextGaussian();
            for (int d = 0; d < nd; d++) {
                int off = (d * ni + i) * plane;
                double[] noisy = new double[plane];
                for (int p = 0; p < plane; p++) noisy[p] = Math.max(0, Math.min(255, c[p] + o.deltas[d] * z[p]));
                for (int p = 0; p < plane; p++) x[off + p] = preActivation(noisy[p]);
                double[] sm = blur(noisy, s, o.guideSigma);
                for (int p = 0; p < plane; p++) guide[off + p] = (float) ((sm[p] - 127.5) / 127.5);
                if (d == gridD) {
                    noisyGrid[i] = new float[plane];
                    for (int p = 0; p < plane; p++) noisyGrid[i][p] = (float) noisy[p];
                }
            }
        }

        Scorer sc = new Scorer(o, images, clean, cleanBoundary, x, gridD);
        boolean tdAtLambda = false;
        for (float lam : o.lambdas) tdAtLambda |= lam == o.lambda;
        List<Float> tdLambdas = new ArrayList<>();
        for (float lam : o.lambdas) if (lam > 0) tdLambdas.add(lam);
        if (!tdAtLambda && o.lambda > 0) tdLambdas.add(o.lambda);
        float maxLambda = o.lambdas[o.lambdas.length - 1];
        int total = 1 + tdLambdas.size() + 3, done = 0;
        float[] y = new float[x.length];

        try (LeakyReLU op = LeakyReLU.builder().alpha(o.alpha).backend(o.backend).build()) {
            op.apply(x, y, shape);
        }
        sc.score(LEAKY, Float.NaN, y, "LeakyReLU");
        report(progress, ++done, total, "LeakyReLU", t0);
        for (float lam : tdLambdas) {
            try (TDLReLU op = TDLReLU.builder().alpha(o.alpha).lambda(lam).sigma(o.sigma).iterations(o.iterations).epsilon(0f)
                    .backend(o.backend).build()) {
                op.apply(x, y, shape);
            }
            sc.score(TD, lam, y, lam == o.lambda || lam == maxLambda ? "TD-LReLU\nl=" + num(lam) : null);
            report(progress, ++done, total, "TD-LReLU lambda " + num(lam), t0);
        }
        float[] yDefault = new float[x.length];
        try (NTDLReLU op = ntd(o, 0)) {
            op.apply(x, yDefault, shape);
        }
        sc.score(NTD, o.lambda, yDefault, "NTD-LReLU\nl=" + num(o.lambda));
        report(progress, ++done, total, "NTD-LReLU, default guide", t0);
        // The "noisy image as the caller's guide": for one channel, o is that image (normalised), and the default guide
        // (the channel mean of o) is o itself, so the two must agree bit for bit. Checked here, not scored twice.
        try (NTDLReLU op = ntd(o, 1)) {
            op.apply(x, x.clone(), y, shape);
        }
        boolean identical = Arrays.equals(y, yDefault);
        report(progress, ++done, total, "NTD-LReLU, o itself as the caller's guide (" + (identical ? "identical" : "DIFFERENT") + ")", t0);
        try (NTDLReLU op = ntd(o, 1)) {
            op.apply(x, guide, y, shape);
        }
        sc.score(NTD_GUIDE, o.lambda, y, "NTD-LReLU\n+guide");
        report(progress, ++done, total, "NTD-LReLU, guide: the blurred noisy image", t0);

        return new Result(o, Collections.unmodifiableList(sc.rows), images, o.deltas[gridD], noisyGrid,
                Collections.unmodifiableList(sc.grid), identical, (System.nanoTime() - t0) / 1e9);
    }

    private static NTDLReLU ntd(Options o, int guideChannels) {
        return NTDLReLU.builder().alpha(o.alpha).lambda(o.lambda).iterations(o.iterations).epsilon(0f).search(o.search).patch(o.patch)
                .h(o.h).guideChannels(guideChannels).backend(o.backend).build();
    }

    private static void report(Progress p, int done, int total, String what, long t0) {
        if (p != null) p.step(done, total, String.format(Locale.ROOT, "%s (%.1f s)", what, (System.nanoTime() - t0) / 1e9));
    }

    /** o = (v - 127.5) / 127.5, with an exact 0 (v = 127.5, never seen with continuous noise) moved to +1e-7 so that y / o is defined. */
    static float preActivation(double v) {
        float o = (float) ((v - 127.5) / 127.5);
        return o == 0f ? 1e-7f : o;
    }

    /** The binary gate of plane off: u = y / o > threshold ((1 + alpha) / 2; y = o * u with u in {alpha, 1}). */
    static boolean[] gate(float[] x, float[] y, int off, int plane, double threshold) {
        boolean[] g = new boolean[plane];
        for (int p = 0; p < plane; p++) {
            float o = x[off + p];
            g[p] = o != 0f && y[off + p] / o > threshold;
        }
        return g;
    }

    /** Scores each output against the clean images, collecting the rows and the grid's columns. */
    private static final class Scorer {
        final Options o;
        final List<TestImage> images;
        final boolean[][] clean;
        final long[] cleanBoundary;
        final float[] x;
        final int gridD;
        final List<Row> rows = new ArrayList<>();
        final List<GridColumn> grid = new ArrayList<>();

        Scorer(Options o, List<TestImage> images, boolean[][] clean, long[] cleanBoundary, float[] x, int gridD) {
            this.o = o;
            this.images = images;
            this.clean = clean;
            this.cleanBoundary = cleanBoundary;
            this.x = x;
            this.gridD = gridD;
        }

        void score(String method, float lambda, float[] y, String gridLabel) {
            int s = o.size, plane = s * s, ni = images.size();
            double th = (1 + o.alpha) / 2;
            long cleanAll = 0;
            for (long b : cleanBoundary) cleanAll += b;
            boolean[][] gates = new boolean[ni][];
            for (int d = 0; d < o.deltas.length; d++) {
                Scores all = new Scores(0, 0, 0, 0, 0, 0);
                for (int i = 0; i < ni; i++) {
                    boolean[] g = gate(x, y, (d * ni + i) * plane, plane, th);
                    Scores sc = scores(g, clean[i], s);
                    rows.add(new Row(o.deltas[d], method, lambda, images.get(i).name, sc, cleanBoundary[i]));
                    all = all.plus(sc);
                    if (d == gridD) gates[i] = g;
                }
                rows.add(new Row(o.deltas[d], method, lambda, "all", all, cleanAll));
            }
            if (gridLabel != null) grid.add(new GridColumn(gridLabel, method, lambda, gates));
        }
    }

    // ---- files and figures -----------------------------------------------------------------------

    /**
     * Writes into dir (created if needed): results.csv, table.txt, iou-vs-delta.png,
     * boundary-vs-lambda.png, iou-vs-lambda.png and gates-deltaD.png. Returns the names written.
     */
    public static List<String> write(Result r, Path dir) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("results.csv"), r.csv(), StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("table.txt"), r.describe() + "\n" + r.table(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new SpatialActException(Code.IO, dir + ": cannot write the results: " + e, e);
        }
        List<String> names = new ArrayList<>(List.of("results.csv", "table.txt"));
        String grid = "gates-delta" + num(r.gridDelta) + ".png";
        Map<String, Canvas> figures = new LinkedHashMap<>();
        figures.put("iou-vs-delta.png", iouVsDelta(r));
        figures.put("boundary-vs-lambda.png", boundaryVsLambda(r));
        figures.put("iou-vs-lambda.png", iouVsLambda(r));
        figures.put(grid, gateGrid(r));
        for (Map.Entry<String, Canvas> e : figures.entrySet()) {
            e.getValue().writePngCompact(dir.resolve(e.getKey()));
            names.add(e.getKey());
        }
        return names;
    }

    static final int PLOT_W = 560, PLOT_H = 360;

    /** IoU against delta, one line per method. */
    static Canvas iouVsDelta(Result r) {
        Options o = r.options;
        double[] d = o.deltas;
        float maxL = o.lambdas[o.lambdas.length - 1];
        String l = num(o.lambda);
        Plot p = new Plot("IoU of the gate with the clean foreground against noise", "noise delta (0..255 scale)", "IoU").xTicks(d);
        p.add(new Plot.Series("LeakyReLU", d, pooled(r, LEAKY, Float.NaN, Scores::iou), Plot.PALETTE[7], false, true));
        p.add(new Plot.Series("TD-LReLU l=" + l, d, pooled(r, TD, o.lambda, Scores::iou), Plot.PALETTE[3], false, true));
        if (maxL != o.lambda && maxL > 0)
            p.add(new Plot.Series("TD-LReLU l=" + num(maxL), d, pooled(r, TD, maxL, Scores::iou), Plot.PALETTE[1], true, true));
        p.add(new Plot.Series("NTD-LReLU l=" + l, d, pooled(r, NTD, o.lambda, Scores::iou), Plot.PALETTE[0], false, true));
        p.add(new Plot.Series("NTD-LReLU+guide l=" + l, d, pooled(r, NTD_GUIDE, o.lambda, Scores::iou), Plot.PALETTE[2], true, true));
        double lo = 1;
        for (Row row : r.rows) if (row.image.equals("all")) lo = Math.min(lo, row.scores.iou());
        p.yRange(Math.max(0, Math.floor(lo * 10 - 0.5) / 10), 1.0);
        p.note(r.images.size() + " images " + o.size + "x" + o.size + " pooled, seed " + o.seed + ". +guide: the blurred noisy image as guide");
        return p.render(PLOT_W, PLOT_H);
    }

    /** Boundary length of TD-LReLU's gate against lambda, one line per delta (log scale), and the clean boundary. */
    static Canvas boundaryVsLambda(Result r) {
        Options o = r.options;
        Plot p = new Plot("Boundary length of the TD-LReLU gate against lambda", "lambda (0 = LeakyReLU)",
                "boundary length (gate changes between 4-neighbours)").logY();
        double[] lx = new double[o.lambdas.length];
        for (int i = 0; i < lx.length; i++) lx[i] = o.lambdas[i];
        for (int k = 0; k < o.deltas.length; k++) {
            double d = o.deltas[k];
            double[] b = new double[lx.length];
            for (int i = 0; i < lx.length; i++) b[i] = r.sweep(o.lambdas[i], d).scores.boundary;
            p.add(new Plot.Series("delta " + num(d), lx, b, Plot.PALETTE[k % Plot.PALETTE.length], false, true));
        }
        double cb = r.row(LEAKY, Float.NaN, o.deltas[0]).cleanBoundary;
        p.add(new Plot.Series("clean foreground", new double[] {lx[0], lx[lx.length - 1]}, new double[] {cb, cb}, Canvas.BLACK, true, false));
        p.note("sum over the " + r.images.size() + " images, seed " + o.seed + ". TD: sigma " + num(o.sigma) + ", T " + o.iterations + ", hard gate");
        return p.render(PLOT_W, PLOT_H);
    }

    /** IoU of TD-LReLU's gate against lambda, one line per delta. */
    static Canvas iouVsLambda(Result r) {
        Options o = r.options;
        Plot p = new Plot("IoU of the TD-LReLU gate against lambda", "lambda (0 = LeakyReLU)", "IoU");
        double[] lx = new double[o.lambdas.length];
        for (int i = 0; i < lx.length; i++) lx[i] = o.lambdas[i];
        double lo = 1;
        for (int k = 0; k < o.deltas.length; k++) {
            double d = o.deltas[k];
            double[] v = new double[lx.length];
            for (int i = 0; i < lx.length; i++) lo = Math.min(lo, v[i] = r.sweep(o.lambdas[i], d).scores.iou());
            p.add(new Plot.Series("delta " + num(d), lx, v, Plot.PALETTE[k % Plot.PALETTE.length], false, true));
        }
        p.yRange(Math.max(0, Math.floor(lo * 10 - 0.5) / 10), 1.0);
        p.note(r.images.size() + " images pooled, seed " + o.seed + ". TD: sigma " + num(o.sigma) + ", T " + o.iterations + ", hard gate");
        return p.render(PLOT_W, PLOT_H);
    }

    static final int TP = 0x262626, TN = 0xffffff, FP = 0xe0453a, FN = 0x3d8fe0;

    /** The gates at the grid's delta: a row per image; columns the noisy image, the clean foreground and each method. */
    static Canvas gateGrid(Result r) {
        Options o = r.options;
        int s = o.size, t = s >= 128 ? s : s * (int) Math.ceil(128.0 / s), gap = 10, m = 16;
        int cols = 2 + r.grid.size(), rows = r.images.size();
        int ch = Canvas.textHeight(2), rowLabelW = Canvas.textWidth("corners", 2) + 16;
        int titleH = ch + 16, headH = 2 * ch + 4 + 10, labelH = ch + 8, legendH = ch + 24;
        int w = 2 * m + rowLabelW + cols * t + (cols - 1) * gap;
        int h = m + titleH + headH + rows * (t + labelH + gap) + legendH + m;
        Canvas cv = new Canvas(w, h);
        cv.textFit("Gates at noise delta " + num(r.gridDelta) + " (seed " + o.seed + "), IoU per image under each", m, m, w - 2 * m, 2,
                Canvas.TEXT);
        int y0 = m + titleH;
        List<String> heads = new ArrayList<>(List.of("noisy\nimage", "clean\nforeground"));
        for (GridColumn c : r.grid) heads.add(c.label);
        for (int c = 0; c < cols; c++) {
            String[] two = heads.get(c).split("\n", 2);
            for (int k = 0; k < two.length; k++)
                cv.textFit(two[k], m + rowLabelW + c * (t + gap), y0 + (two.length == 1 ? ch / 2 + 2 : k * (ch + 4)), t, 2, Canvas.TEXT);
        }
        y0 += headH;
        int plane = s * s;
        for (int i = 0; i < rows; i++) {
            int yy = y0 + i * (t + labelH + gap);
            cv.text(r.images.get(i).name, m, yy + t / 2 - ch / 2, 2, Canvas.TEXT);
            boolean[] clean = new boolean[plane];
            float[] cl = r.images.get(i).clean;
            for (int p = 0; p < plane; p++) clean[p] = cl[p] > 127.5f;
            for (int c = 0; c < cols; c++) {
                int xx = m + rowLabelW + c * (t + gap);
                for (int py = 0; py < t; py++)
                    for (int px = 0; px < t; px++) {
                        int p = (py * s / t) * s + px * s / t;
                        int colour;
                        if (c == 0) {
                            int g = Math.min(255, Math.round(r.gridNoisy[i][p] / 17) * 17);  // 16 grey levels: a small PNG
                            colour = (g << 16) | (g << 8) | g;
                        } else if (c == 1) colour = clean[p] ? TP : TN;
                        else {
                            boolean g = r.grid.get(c - 2).gates[i][p];
                            colour = g ? (clean[p] ? TP : FP) : (clean[p] ? FN : TN);
                        }
                        cv.set(xx + px, yy + py, colour);
                    }
                cv.rect(xx - 1, yy - 1, t + 2, t + 2, Canvas.GREY);
                if (c >= 2) {
                    GridColumn gc = r.grid.get(c - 2);
                    double iou = r.row(gc.method, gc.lambda, r.gridDelta, r.images.get(i).name).scores.iou();
                    String lab = String.format(Locale.ROOT, "IoU %.3f", iou);
                    cv.textFit(lab, xx, yy + t + 5, t, 2, Canvas.TEXT);
                }
            }
        }
        int ly = h - m - legendH + 12, lx = m;
        int[] colours = {TP, FP, FN, TN};
        String[] names = {"foreground (correct)", "false foreground", "missed foreground", "background (correct)"};
        for (int k = 0; k < 4; k++) {
            cv.fillRect(lx, ly, 14, 14, colours[k]);
            cv.rect(lx, ly, 14, 14, Canvas.GREY);
            cv.text(names[k], lx + 20, ly + 1, 2, Canvas.TEXT);
            lx += 20 + Canvas.textWidth(names[k], 2) + 28;
        }
        return cv;
    }

    private static double[] pooled(Result r, String method, float lambda, java.util.function.ToDoubleFunction<Scores> f) {
        double[] v = new double[r.options.deltas.length];
        for (int k = 0; k < v.length; k++) v[k] = f.applyAsDouble(r.row(method, lambda, r.options.deltas[k]).scores);
        return v;
    }

    // ---- command line ----------------------------------------------------------------------------

    static final List<String> OPTIONS = List.of("out", "quick", "seed", "size", "deltas", "lambdas", "lambda", "alpha", "sigma",
            "iterations", "search", "patch", "h", "guide-sigma", "grid-delta", "backend");

    /** The {@code study} command: runs, prints the tables to out and a progress line to err, writes the folder. */
    static int cli(Args a, PrintStream out, PrintStream err) {
        a.allowOnly(OPTIONS, "study");
        if (a.positional.size() > 1) throw new UsageException("study takes no argument '" + a.positional.get(1) + "'");
        Options d = a.flag("quick") ? Options.quick() : Options.defaults();
        Path dir = Path.of(a.get("out", "study-out"));
        Options o;
        try {
            o = new Options(a.getInt("size", d.size), a.has("deltas") ? doubles(a.get("deltas"), "deltas") : d.deltas,
                    a.has("lambdas") ? floats(a.get("lambdas"), "lambdas") : d.lambdas, a.getFloat("lambda", d.lambda),
                    a.getFloat("alpha", d.alpha), a.getFloat("sigma", d.sigma), a.getInt("iterations", d.iterations),
                    a.getInt("search", d.search), a.getInt("patch", d.patch), a.getFloat("h", d.h),
                    a.getFloat("guide-sigma", d.guideSigma), a.has("grid-delta") ? doubles(a.get("grid-delta"), "grid-delta")[0] : d.gridDelta,
                    a.getLong("seed", d.seed), a.backend(d.backend));
        } catch (IllegalArgumentException e) {
            throw new UsageException("study: " + e.getMessage());
        }
        boolean tty = System.console() != null && err == System.err;
        out.println("spatialact study: the gates of LeakyReLU, TD-LReLU and NTD-LReLU under Gaussian noise (activation level, no training)");
        out.println("backend: " + Demo.describe(o.backend == Backend.AUTO ? Backend.AUTO : o.backend));
        Result r = run(o, (done, total, what) -> {
            String line = String.format(Locale.ROOT, "study: %d/%d %s", done, total, what);
            if (tty) err.print("\r" + line + " ".repeat(Math.max(0, 78 - line.length())) + (done == total ? "\n" : ""));
            else err.println(line);
            err.flush();
        });
        out.print(r.describe());
        out.println();
        out.print(r.table());
        List<String> written = write(r, dir);
        out.println();
        out.println("wrote to " + dir.toAbsolutePath().normalize() + ":");
        out.println("  " + String.join(", ", written));
        out.printf(Locale.ROOT, "study took %.1f s (operators and scores; figures and files after)%n", r.seconds);
        return 0;
    }

    static String usage() {
        Options d = Options.defaults(), q = Options.quick();
        return "usage: " + Main.PROG + " study [OPTIONS]\n\n"
                + "  The activation-level version of the TD-LReLU paper's noise-robustness and smoothness claims: built-in\n"
                + "  piecewise-constant test images, Gaussian noise, the gates of LeakyReLU, TD-LReLU (a lambda sweep) and\n"
                + "  NTD-LReLU scored against the clean foreground (IoU, boundary length, isolated flipped pixels). Prints the\n"
                + "  tables, writes results.csv, table.txt and PNG plots into the output folder. See docs/STUDY.md.\n\n"
                + "  --out DIR            output folder (default study-out)\n"
                + "  --quick              a small instance for tests (images " + q.size + "x" + q.size + ", lambdas " + list(q.lambdas) + ")\n"
                + "  --seed N             noise seed (default " + d.seed + ")\n"
                + "  --size N             test image size N x N (default " + d.size + ")\n"
                + "  --deltas D,D,...     noise standard deviations on 0..255 (default " + list(d.deltas) + ")\n"
                + "  --lambdas L,L,...    TD-LReLU's lambda sweep, increasing, 0 = LeakyReLU (default " + list(d.lambdas) + ")\n"
                + "  --lambda L           the default lambda: TD's line in the IoU plot, NTD's lambda (default " + num(d.lambda) + ")\n"
                + "  --alpha A            gate leak (default " + num(d.alpha) + ")\n"
                + "  --sigma S            TD's Gaussian sigma (default " + num(d.sigma) + ")\n"
                + "  --iterations T       TD and NTD iterations (default " + d.iterations + ")\n"
                + "  --search S --patch P --h H   NTD's search and patch radii and weight scale (default " + d.search + ", " + d.patch
                + ", " + num(d.h) + ")\n"
                + "  --guide-sigma G      blur of the noisy image that is NTD's caller-given guide (default " + num(d.guideSigma) + ")\n"
                + "  --grid-delta D       noise level of the gate-image grid (default " + num(d.gridDelta) + ")\n"
                + "  --backend B          auto, cpu or cuda (default auto)\n";
    }

    private static String list(double[] v) {
        StringBuilder sb = new StringBuilder();
        for (double x : v) sb.append(sb.length() == 0 ? "" : ",").append(num(x));
        return sb.toString();
    }

    private static String list(float[] v) {
        StringBuilder sb = new StringBuilder();
        for (float x : v) sb.append(sb.length() == 0 ? "" : ",").append(num(x));
        return sb.toString();
    }

    private static double[] doubles(String v, String name) {
        String[] p = v.split(",");
        double[] d = new double[p.length];
        for (int i = 0; i < p.length; i++) d[i] = Args.parseFloat(name, p[i]);  // the CLI's one number syntax
        return d;
    }

    private static float[] floats(String v, String name) {
        String[] p = v.split(",");
        float[] d = new float[p.length];
        for (int i = 0; i < p.length; i++) d[i] = Args.parseFloat(name, p[i]);
        return d;
    }

    // ---- metrics ---------------------------------------------------------------------------------

    /**
     * The scores of gate g against the clean foreground c on an s x s plane. An isolated flipped
     * pixel: g differs from c there, and every 4-neighbour inside the image has the opposite gate
     * value (a one-pixel island of wrong label; the image border is not a neighbour).
     */
    public static Scores scores(boolean[] g, boolean[] c, int s) {
        long inter = 0, union = 0, isolated = 0, errors = 0;
        for (int i = 0; i < s; i++) {
            for (int j = 0; j < s; j++) {
                int p = i * s + j;
                if (g[p] && c[p]) inter++;
                if (g[p] || c[p]) union++;
                if (g[p] != c[p]) {
                    errors++;
                    boolean v = g[p];
                    if ((i == 0 || g[p - s] != v) && (i == s - 1 || g[p + s] != v) && (j == 0 || g[p - 1] != v)
                            && (j == s - 1 || g[p + 1] != v)) isolated++;
                }
            }
        }
        return new Scores(inter, union, boundary(g, s), isolated, errors, (long) s * s);
    }

    /** Boundary length: the number of 4-neighbour pairs (horizontal and vertical) of the s x s plane whose gates differ. */
    public static long boundary(boolean[] g, int s) {
        long b = 0;
        for (int i = 0; i < s; i++)
            for (int j = 0; j < s; j++) {
                int p = i * s + j;
                if (j + 1 < s && g[p] != g[p + 1]) b++;
                if (i + 1 < s && g[p] != g[p + s]) b++;
            }
        return b;
    }

    // ---- the test images -------------------------------------------------------------------------

    /**
     * The built-in test images, size x size, piecewise constant on the 0..255 scale: foreground
     * levels 150 .. 205 and background levels 45 .. 100 (so the contrast to the threshold 127.5
     * ranges from 22.5 to 82.5). Bars are 2, 3, 4 and 6 pixels wide, the texture's squares 4
     * pixels and its stripes 3, whatever the size.
     */
    public static List<TestImage> testImages(int s) {
        return List.of(new TestImage("blobs", blobs(s)), new TestImage("bars", bars(s)), new TestImage("corners", corners(s)),
                new TestImage("texture", texture(s)));
    }

    static float[] blobs(int s) {
        float[] v = new float[s * s];
        double[][] discs = {  // cx, cy, rx, ry (fractions of s), level
            {0.26, 0.26, 0.16, 0.16, 180}, {0.72, 0.28, 0.13, 0.13, 150}, {0.28, 0.73, 0.09, 0.09, 205},
            {0.70, 0.72, 0.17, 0.11, 165}, {0.50, 0.50, 0.045, 0.045, 180}, {0.10, 0.52, 0.05, 0.12, 150}};
        for (int i = 0; i < s; i++)
            for (int j = 0; j < s; j++) {
                double u = (j + 0.5) / s, w = (i + 0.5) / s;
                float val = u < 0.5 ? 100 : 70;
                for (double[] d : discs) if (sq((u - d[0]) / d[2]) + sq((w - d[1]) / d[3]) < 1) val = (float) d[4];
                v[i * s + j] = val;
            }
        return v;
    }

    static float[] bars(int s) {
        float[] v = new float[s * s];
        int half = s / 2, gap = Math.max(5, s / 20);
        int[] widths = {2, 3, 4, 6};
        for (int i = 0; i < s; i++) for (int j = 0; j < s; j++) v[i * s + j] = i < half ? 100 : 70;
        // horizontal bars (top left) at 180, vertical bars (top right) at 150
        int pos = gap;
        for (int w : widths) {
            fill(v, s, pos, pos + w, gap, half - gap, 180);
            fill(v, s, gap, half - gap, half + pos, half + pos + w, 150);
            pos += w + gap;
        }
        // bottom: two diagonal bars (205, widths 3 and 5 across) and a cross of 3-pixel bars (165)
        for (int i = half; i < s; i++)
            for (int j = 0; j < half; j++) {
                // distance across a 45-degree bar i - j = c is |i - j - c| / sqrt(2)
                double a = (i - half) - j;
                boolean on = Math.abs(a - 0.12 * s) < 1.5 * Math.sqrt(2) || Math.abs(a + 0.12 * s) < 2.5 * Math.sqrt(2);
                if (on && i > half + gap && i < s - gap && j > gap && j < half - gap) v[i * s + j] = 205;
            }
        int ci = half + (s - half) / 2, cj = half + (s - half) / 2, arm = (s - half) / 2 - gap;
        fill(v, s, ci - 1, ci + 2, cj - arm, cj + arm, 165);
        fill(v, s, ci - arm, ci + arm, cj - 1, cj + 2, 165);
        return v;
    }

    static float[] corners(int s) {
        float[] v = new float[s * s];
        for (int i = 0; i < s; i++) for (int j = 0; j < s; j++) v[i * s + j] = i < s / 2 ? 85 : 45;
        int a = s / 10;
        fill(v, s, a, (int) (0.38 * s), a, (int) (0.42 * s), 180);                      // rectangle
        fill(v, s, a, a + s / 12, (int) (0.55 * s), s - a, 150);                        // L: horizontal arm
        fill(v, s, a, (int) (0.45 * s), (int) (0.55 * s), (int) (0.55 * s) + s / 12, 150); // L: vertical arm
        fill(v, s, (int) (0.25 * s), (int) (0.25 * s) + 6, (int) (0.75 * s), (int) (0.75 * s) + 6, 205);  // a 6x6 square
        for (int i = s / 2; i < s; i++)                                                  // triangle
            for (int j = 0; j < s / 2; j++) {
                double u = (j + 0.5) / s, w = (i + 0.5) / s;
                if (w > 0.56 && w < 0.92 && Math.abs(u - 0.26) < (w - 0.56) * 0.6) v[i * s + j] = 205;
            }
        int step = Math.max(6, s / 16), x0 = (int) (0.55 * s), y0 = (int) (0.55 * s), steps = (int) (0.37 * s) / step;
        for (int i = y0; i < y0 + steps * step; i++)                                     // staircase
            for (int j = x0; j < x0 + steps * step; j++)
                if ((i - y0) / step + (j - x0) / step < steps) v[i * s + j] = 165;
        return v;
    }

    static float[] texture(int s) {
        float[] v = new float[s * s];
        for (int i = 0; i < s; i++) for (int j = 0; j < s; j++) v[i * s + j] = 70;
        int a = s / 16, half = s / 2;
        for (int i = a; i < s - a; i++)                                                  // checkerboard of 4-pixel squares
            for (int j = a; j < half - a / 2; j++)
                v[i * s + j] = ((i - a) / 4 + (j - a) / 4) % 2 == 0 ? 170 : 85;
        for (int i = a; i < half - a / 2; i++)                                          // vertical stripes, 3 pixels on, 3 off
            for (int j = half + a / 2; j < s - a; j++)
                v[i * s + j] = ((j - half) / 3) % 2 == 0 ? 160 : 100;
        fill(v, s, half + a / 2, s - a, half + a / 2, s - a, 190);                        // a block with a round hole
        int c = half + a / 2 + (s - a - half - a / 2) / 2, r = (s - a - half - a / 2) / 5;
        for (int i = c - r; i <= c + r; i++)
            for (int j = c - r; j <= c + r; j++)
                if (sq(i - c) + sq(j - c) <= r * r) v[i * s + j] = 100;
        return v;
    }

    private static void fill(float[] v, int s, int i0, int i1, int j0, int j1, float val) {
        for (int i = Math.max(0, i0); i < Math.min(s, i1); i++)
            for (int j = Math.max(0, j0); j < Math.min(s, j1); j++) v[i * s + j] = val;
    }

    /** Separable Gaussian blur (radius ceil(3 sigma), normalised, clamp-to-edge) of an s x s plane. */
    static double[] blur(double[] v, int s, double sigma) {
        int r = (int) Math.ceil(3 * sigma);
        double[] k = new double[2 * r + 1];
        double z = 0;
        for (int t = -r; t <= r; t++) z += k[t + r] = Math.exp(-t * t / (2 * sigma * sigma));
        for (int t = 0; t < k.length; t++) k[t] /= z;
        double[] tmp = new double[s * s], out = new double[s * s];
        for (int i = 0; i < s; i++)
            for (int j = 0; j < s; j++) {
                double acc = 0;
                for (int t = -r; t <= r; t++) acc += k[t + r] * v[i * s + Math.max(0, Math.min(s - 1, j + t))];
                tmp[i * s + j] = acc;
            }
        for (int i = 0; i < s; i++)
            for (int j = 0; j < s; j++) {
                double acc = 0;
                for (int t = -r; t <= r; t++) acc += k[t + r] * tmp[Math.max(0, Math.min(s - 1, i + t)) * s + j];
                out[i * s + j] = acc;
            }
        return out;
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static double sq(double v) {
        return v * v;
    }

    /** The index of the value of a closest to v (the first on ties). */
    static int closest(double[] a, double v) {
        int best = 0;
        for (int i = 1; i < a.length; i++) if (Math.abs(a[i] - v) < Math.abs(a[best] - v)) best = i;
        return best;
    }

    /** A number as the table and CSV print it: 1, 0.5, 1.5 (no trailing zeros). */
    static String num(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e9) return Long.toString((long) v);
        String t = String.format(Locale.ROOT, "%.4f", v);
        return t.replaceAll("0+$", "");
    }
}
