package dev.spatialact.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spatialact.LeakyReLU;
import dev.spatialact.Shape;
import dev.spatialact.TDLReLU;

/** The study: the trends the issue asks for, on the quick instance and on the default study, and its files. */
class StudyTest {
    @TempDir
    Path tmp;

    // The command runs as CliTest runs it.
    static CliTest.Result run(String... args) {
        return CliTest.run(args);
    }

    /**
     * The two claims, at the activation level: TD-LReLU's gate (default lambda) has a higher IoU
     * than LeakyReLU's at every noise level, and its boundary length does not increase with lambda
     * at any noise level (lambda 0 is LeakyReLU).
     */
    static void assertTrends(Study.Result r) {
        Study.Options o = r.options();
        for (double d : o.deltas()) {
            double leaky = r.row(Study.LEAKY, Float.NaN, d).scores().iou(), td = r.row(Study.TD, o.lambda(), d).scores().iou();
            if (d > 0) assertTrue(td > leaky, "delta " + d + ": TD IoU " + td + " <= LeakyReLU IoU " + leaky);
            else assertEquals(1.0, leaky, "without noise LeakyReLU's gate is the clean foreground");
            long previous = Long.MAX_VALUE;
            for (float lambda : o.lambdas()) {
                long b = r.sweep(lambda, d).scores().boundary();
                assertTrue(b <= previous, "delta " + d + ": boundary " + b + " at lambda " + lambda + " > " + previous + " before it");
                previous = b;
            }
            // and the regularised gate is much smoother than the thresholded one once there is noise
            if (d >= 20) assertTrue(r.sweep(o.lambda(), d).scores().boundary() < 0.8 * r.sweep(0f, d).scores().boundary(), "delta " + d);
        }
        assertTrue(r.ownGuideIdentical(), "NTD with o as the caller's guide must equal the default guide (channel mean of one channel)");
    }

    @Test
    void quickInstanceShowsTheTrends() {
        Study.Result r = Study.run(Study.Options.quick(), null);
        assertEquals(List.of(0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 100.0), boxed(r.options().deltas()));
        assertTrends(r);
    }

    @Test
    void defaultStudyShowsTheTrends() {
        Study.Options o = Study.Options.defaults();
        assertTrue(o.lambdas()[0] == 0f && o.lambdas()[1] <= 0.1f && o.lambdas()[o.lambdas().length - 1] >= 2f, "a sweep over 0.1 .. 2 at least");
        int[] steps = {0};
        Study.Result r = Study.run(o, (done, total, what) -> {
            assertEquals(++steps[0], done);
            assertTrue(done <= total);
        });
        assertTrends(r);
        assertTrue(r.seconds() < 60, "the default study took " + r.seconds() + " s");
        // The sweep's lambda 0 is LeakyReLU's row: TD-LReLU with lambda 0 is LeakyReLU bit for bit (hard form).
        Shape s = Shape.of(2, 1, 16, 16);
        float[] x = new float[(int) s.numel()];
        for (int i = 0; i < x.length; i++) x[i] = Study.preActivation(127.5 + 60 * Math.sin(i * 0.37));
        try (LeakyReLU l = LeakyReLU.of(o.alpha()); TDLReLU t = TDLReLU.builder().alpha(o.alpha()).lambda(0f).build()) {
            assertArrayEquals(l.apply(x, s), t.apply(x, s));
        }
    }

    @Test
    void sameSeedSameOutputOtherSeedOtherNoise() throws IOException {
        Path a = tmp.resolve("a"), b = tmp.resolve("b"), c = tmp.resolve("c");
        CliTest.Result ra = run("study", "--quick", "--seed", "7", "--out", a.toString());
        assertEquals(0, ra.code(), ra::toString);
        CliTest.Result rb = run("study", "--quick", "--seed", "7", "--out", b.toString());
        assertEquals(0, rb.code(), rb::toString);
        assertEquals(Files.readString(a.resolve("results.csv")), Files.readString(b.resolve("results.csv")));
        assertEquals(Files.readString(a.resolve("table.txt")), Files.readString(b.resolve("table.txt")));
        for (String png : List.of("iou-vs-delta.png", "boundary-vs-lambda.png", "iou-vs-lambda.png", "gates-delta50.png"))
            assertArrayEquals(Files.readAllBytes(a.resolve(png)), Files.readAllBytes(b.resolve(png)), png);
        CliTest.Result rc = run("study", "--quick", "--seed", "8", "--out", c.toString());
        assertEquals(0, rc.code(), rc::toString);
        assertNotEquals(Files.readString(a.resolve("results.csv")), Files.readString(c.resolve("results.csv")));
        // the Java API gives what the command wrote
        assertEquals(Files.readString(a.resolve("results.csv")), Study.run(Study.Options.quick().withSeed(7), null).csv());
    }

    @Test
    void commandWritesTheFolderTheTableAndProgress() throws IOException {
        Path dir = tmp.resolve("out");
        CliTest.Result r = run("study", "--quick", "--out", dir.toString(), "--backend", "cpu");
        assertEquals(0, r.code(), r::toString);
        for (String f : List.of("results.csv", "table.txt", "iou-vs-delta.png", "boundary-vs-lambda.png", "iou-vs-lambda.png",
                "gates-delta50.png")) {
            assertTrue(Files.size(dir.resolve(f)) > 500, f);
            if (f.endsWith(".png")) {
                BufferedImage img = ImageIO.read(dir.resolve(f).toFile());
                assertTrue(img != null && img.getWidth() > 400 && img.getHeight() > 300, f);
            }
        }
        List<String> csv = Files.readAllLines(dir.resolve("results.csv"));
        assertTrue(csv.get(0).startsWith("delta,method,lambda,image,iou,boundary,clean_boundary,isolated_fraction"), csv.get(0));
        // 7 deltas x (LeakyReLU + 4 TD lambdas + 2 NTD) x (4 images + all)
        assertEquals(1 + 7 * 7 * 5, csv.size());
        assertTrue(r.out().contains("IoU of the gate with the clean foreground") && r.out().contains("boundary length")
                && r.out().contains("isolated flipped pixels") && r.out().contains("NTD+guide l=1"), r::toString);
        assertTrue(r.out().contains(dir.toAbsolutePath().normalize().toString()), r::toString);
        assertTrue(r.err().contains("study: 1/8 LeakyReLU") && r.err().contains("study: 8/8 "), r::toString);
        assertEquals(Files.readString(dir.resolve("table.txt")).strip(), r.out().substring(r.out().indexOf("images: "),
                r.out().indexOf("\nwrote to")).strip());
    }

    @Test
    void usageAndHelp() {
        CliTest.Result r = run("study", "--help");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("--quick") && r.out().contains("--seed"), r::toString);
        r = run("help", "study");
        assertTrue(r.code() == 0 && r.out().contains("--lambdas"), r::toString);
        assertTrue(run("--help").out().contains("study"));
        assertEquals(2, run("study", "--lambdas", "1,0.5").code());   // not increasing
        assertEquals(2, run("study", "--deltas", "10,x").code());
        assertEquals(2, run("study", "--size", "32").code());
        assertEquals(2, run("study", "--bogus", "1").code());
        assertEquals(2, run("study", "extra").code());
    }

    /** The metrics on planes small enough to count by hand. */
    @Test
    void metricsByHand() {
        int s = 4;
        boolean[] clean = new boolean[s * s];
        for (int i = 1; i <= 2; i++) for (int j = 1; j <= 2; j++) clean[i * s + j] = true;  // a 2x2 square in a 4x4 plane
        assertEquals(8, Study.boundary(clean, s));
        Study.Scores same = Study.scores(clean, clean, s);
        assertEquals(1.0, same.iou());
        assertEquals(0, same.isolated());
        assertEquals(0, same.errors());

        boolean[] g = clean.clone();
        g[0] = true;          // a corner pixel turned on, its 2 neighbours off: isolated
        g[2 * s + 2] = false; // a square pixel turned off, 2 of its neighbours on: not isolated
        Study.Scores sc = Study.scores(g, clean, s);
        assertEquals(2, sc.errors());
        assertEquals(1, sc.isolated());
        assertEquals(1.0 / 16, sc.isolatedFraction());
        assertEquals(3.0 / 5, sc.iou());  // intersection 3, union 5
        assertEquals(8 + 2 + 0, sc.boundary());  // the corner adds 2 pairs; the removed square pixel moves 2 and adds 0

        boolean[] h = new boolean[s * s];
        h[s + 1] = true;      // a lone pixel inside the background...
        boolean[] bg = new boolean[s * s];
        assertEquals(1, Study.scores(h, bg, s).isolated());
        assertEquals(4, Study.scores(h, bg, s).boundary());
        assertEquals(0.0, Study.scores(h, bg, s).iou());
        assertEquals(1.0, Study.scores(bg, bg, s).iou(), "two empty foregrounds agree");
    }

    @Test
    void testImagesArePiecewiseConstantWithBothLabels() {
        for (Study.TestImage t : Study.testImages(96)) {
            long fg = 0, levels;
            for (float v : t.clean()) {
                assertTrue(v >= 0 && v <= 255 && v != 127.5f && v == Math.rint(v), t.name());
                if (v > 127.5f) fg++;
            }
            levels = java.util.Arrays.stream(boxedF(t.clean())).distinct().count();
            assertTrue(fg > 0.1 * 96 * 96 && fg < 0.7 * 96 * 96, t.name() + " foreground " + fg);
            assertTrue(levels >= 3 && levels <= 8, t.name() + ": " + levels + " levels");
        }
    }

    private static List<Double> boxed(double[] v) {
        return java.util.Arrays.stream(v).boxed().toList();
    }

    private static Float[] boxedF(float[] v) {
        Float[] b = new Float[v.length];
        for (int i = 0; i < v.length; i++) b[i] = v[i];
        return b;
    }
}
