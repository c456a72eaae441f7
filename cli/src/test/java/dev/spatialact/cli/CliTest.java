package dev.spatialact.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spatialact.Backend;
import dev.spatialact.FReLU;
import dev.spatialact.LeakyReLU;
import dev.spatialact.PReLU;
import dev.spatialact.Shape;
import dev.spatialact.Star;
import dev.spatialact.io.FReLUWeights;
import dev.spatialact.io.Npy;

class CliTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Result run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Result(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    static Result ok(String... args) {
        Result r = run(args);
        assertEquals(0, r.code(), r::toString);
        return r;
    }

    static Result usage(String... args) {
        Result r = run(args);
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().startsWith("error: ") || r.err().startsWith("spatialact"), r::toString);
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r);
        return r;
    }

    static Result failure(String... args) {
        Result r = run(args);
        assertEquals(1, r.code(), r::toString);
        assertTrue(r.err().startsWith("error: "), r::toString);
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r);
        return r;
    }

    static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    Path npy(String name, long[] shape, float[] data) {
        Path p = tmp.resolve(name);
        Npy.write(p, shape, data);
        return p;
    }

    static final long[] S4 = {2, 3, 5, 7};
    static final Shape SHAPE = Shape.of(2, 3, 5, 7);
    static final int N = 2 * 3 * 5 * 7;

    String s(Path p) {
        return p.toString();
    }

    // ---- apply, checked against the Java API -----------------------------------------------------

    /** The apply table is the library's operator table: a command for every row, no other. */
    @Test
    void everyOperatorOfTheLibraryIsACommand() {
        java.util.Set<String> cli = new java.util.HashSet<>();
        for (Ops.Spec sp : Ops.all()) cli.add(sp.name());
        java.util.Set<String> lib = new java.util.HashSet<>();
        for (dev.spatialact.OperatorKind k : dev.spatialact.OperatorKind.values()) lib.add(k.cliName());
        assertEquals(lib, cli);
        // --input2 exactly where the operator has a second input that is not a guide
        for (Ops.Spec sp : Ops.all()) {
            java.util.List<String> in = sp.kind().inputNames();
            assertEquals(in.size() == 2 && !in.get(1).equals("guide"), sp.twoInputs(), sp.name() + ": --input2 vs inputs " + in);
        }
        // and the demo shows every one of them
        assertEquals(dev.spatialact.OperatorKind.values().length, Demo.operators(dev.spatialact.Backend.CPU).size());
    }

    @Test
    void leakyReluAndRelu() {
        float[] x = random(N, 1);
        Path in = npy("x.npy", S4, x), out = tmp.resolve("y.npy");
        ok("apply", "leaky-relu", "--input", s(in), "--out", s(out), "--alpha", "0.2");
        Npy.NpyArray y = Npy.read(out);
        assertArrayEquals(S4, y.shape());
        try (LeakyReLU op = LeakyReLU.of(0.2f)) {
            assertArrayEquals(op.apply(x, SHAPE), y.data());
        }
        ok("apply", "leaky-relu", "--input", s(in), "--out", s(out));  // default alpha 0.01
        try (LeakyReLU op = LeakyReLU.of(0.01f)) {
            assertArrayEquals(op.apply(x, SHAPE), Npy.read(out).data());
        }
        ok("apply", "relu", "--input=" + in, "--out=" + out, "--backend", "cpu");
        try (LeakyReLU op = LeakyReLU.relu()) {
            assertArrayEquals(op.apply(x, SHAPE), Npy.read(out).data());
        }
    }

    @Test
    void inputsOfTwoAndThreeDimensionsKeepTheirShape() {
        float[] x = random(5 * 7, 2);
        Path in = npy("hw.npy", new long[] {5, 7}, x), out = tmp.resolve("y.npy");
        ok("apply", "relu", "--input", s(in), "--out", s(out));
        Npy.NpyArray y = Npy.read(out);
        assertArrayEquals(new long[] {5, 7}, y.shape());
        try (LeakyReLU op = LeakyReLU.relu()) {
            assertArrayEquals(op.apply(x, Shape.of(1, 1, 5, 7)), y.data());
        }

        float[] x3 = random(3 * 5 * 7, 3);
        Path in3 = npy("chw.npy", new long[] {3, 5, 7}, x3);
        ok("apply", "prelu", "--input", s(in3), "--out", s(out), "--alpha", "0.1,0.2,0.3");
        y = Npy.read(out);
        assertArrayEquals(new long[] {3, 5, 7}, y.shape());
        try (PReLU op = PReLU.of(0.1f, 0.2f, 0.3f)) {
            assertArrayEquals(op.apply(x3, Shape.of(1, 3, 5, 7)), y.data());
        }
    }

    @Test
    void float64InputGivesFloat32Output() {
        double[] x = new double[N];
        for (int i = 0; i < N; i++) x[i] = Math.sin(i) * 3;
        Path in = tmp.resolve("x64.npy"), out = tmp.resolve("y.npy");
        Npy.writeFloat64(in, S4, x);
        Result r = ok("apply", "leaky-relu", "--input", s(in), "--out", s(out), "--alpha", "0.5");
        assertTrue(r.out().contains("float64"), r::toString);
        Npy.NpyArray y = Npy.read(out);
        assertFalse(y.wasFloat64());
        float[] xf = new float[N];
        for (int i = 0; i < N; i++) xf[i] = (float) x[i];
        try (LeakyReLU op = LeakyReLU.of(0.5f)) {
            assertArrayEquals(op.apply(xf, SHAPE), y.data());
        }
    }

    @Test
    void prelu() {
        float[] x = random(N, 4);
        Path in = npy("x.npy", S4, x), out = tmp.resolve("y.npy");
        ok("apply", "prelu", "--input", s(in), "--out", s(out), "--alpha", "0.3");  // broadcast to C
        try (PReLU op = PReLU.of(0.3f, 0.3f, 0.3f)) {
            assertArrayEquals(op.apply(x, SHAPE), Npy.read(out).data());
        }
        ok("apply", "prelu", "--input", s(in), "--out", s(out));  // default 0.25
        try (PReLU op = PReLU.of(0.25f, 0.25f, 0.25f)) {
            assertArrayEquals(op.apply(x, SHAPE), Npy.read(out).data());
        }
        Path w = tmp.resolve("pw");
        w.toFile().mkdirs();
        Npy.write(w.resolve("act.weight.npy"), new long[] {3}, new float[] {0.5f, -0.1f, 2f});
        ok("apply", "prelu", "--input", s(in), "--out", s(out), "--weights", s(w), "--prefix", "act.");
        try (PReLU op = PReLU.of(0.5f, -0.1f, 2f)) {
            assertArrayEquals(op.apply(x, SHAPE), Npy.read(out).data());
        }
        failure("apply", "prelu", "--input", s(in), "--out", s(out), "--alpha", "0.1,0.2");
        failure("apply", "prelu", "--input", s(in), "--out", s(out), "--weights", s(tmp));
        usage("apply", "prelu", "--input", s(in), "--out", s(out), "--alpha", "0.1,x,0.3");
        // Numbers are ASCII decimals: not Java's hexadecimal floats, type suffixes or other scripts' digits.
        for (String bad : new String[] {"0x1p3", "1f", "2d", "NaN", "Infinity", "\u0661.5", "1e", "."})
            usage("apply", "leaky-relu", "--input", s(in), "--out", s(out), "--alpha", bad);
        for (String bad : new String[] {"\u0663", "3.0", "0x3", "+", "99999999999"})
            usage("apply", "td-lrelu", "--input", s(in), "--out", s(out), "--iterations", bad);
        ok("apply", "leaky-relu", "--input", s(in), "--out", s(out), "--alpha", "+.5e-1");
        usage("apply", "prelu", "--input", s(in), "--out", s(out), "--alpha", "0.1", "--weights", s(w));
    }

    @Test
    void freluFromAWeightsFolder() {
        float[] x = random(N, 5);
        Path in = npy("x.npy", S4, x), out = tmp.resolve("y.npy");
        FReLUWeights w = FReLUWeights.random(3, 5, false, 17);
        Path dir = tmp.resolve("fw");
        w.save(dir, "act.");
        ok("apply", "frelu", "--input", s(in), "--out", s(out), "--weights", s(dir), "--prefix", "act.", "--eps", "0.001");
        try (FReLU op = FReLU.builder(3).kernelSize(5).weight(w.weight()).convBias(w.convBias())
                .batchNorm(w.batchNorm(0), w.batchNorm(1), w.batchNorm(2), w.batchNorm(3)).eps(0.001f).build()) {
            assertArrayEquals(op.apply(x, SHAPE), Npy.read(out).data());
        }
        // --k must match the files; the light variant is refused for a k x k folder
        usage("apply", "frelu", "--input", s(in), "--out", s(out), "--weights", s(dir), "--prefix", "act.", "--k", "3");
        failure("apply", "frelu-light", "--input", s(in), "--out", s(out), "--weights", s(dir), "--prefix", "act.");
        // channels must match
        Path in4 = npy("x4.npy", new long[] {1, 4, 5, 7}, random(4 * 35, 1));
        Result r = failure("apply", "frelu", "--input", s(in4), "--out", s(out), "--weights", s(dir), "--prefix", "act.");
        assertTrue(r.err().contains("3 channels"), r::toString);
        // missing weights folder / file
        r = failure("apply", "frelu", "--input", s(in), "--out", s(out), "--weights", s(dir));
        assertTrue(r.err().contains("conv.weight.npy"), r::toString);
    }

    @Test
    void freluWithRandomWeightsAndTheLightVariant() {
        float[] x = random(N, 6);
        Path in = npy("x.npy", S4, x), out = tmp.resolve("y.npy");
        ok("apply", "frelu", "--input", s(in), "--out", s(out), "--random-weights", "5", "--k", "5");
        try (FReLU op = FReLUWeights.random(3, 5, false, 5).build()) {
            assertArrayEquals(op.apply(x, SHAPE), Npy.read(out).data());
        }
        ok("apply", "frelu", "--light", "--input", s(in), "--out", s(out), "--random-weights", "8");
        try (FReLU op = FReLUWeights.random(3, 3, true, 8).build()) {
            assertArrayEquals(op.apply(x, SHAPE), Npy.read(out).data());
        }
        FReLUWeights lw = FReLUWeights.random(3, 3, true, 9);
        Path dir = tmp.resolve("lw");
        lw.save(dir);
        ok("apply", "frelu-light", "--input", s(in), "--out", s(out), "--weights", s(dir));
        try (FReLU op = lw.build()) {
            assertArrayEquals(op.apply(x, SHAPE), Npy.read(out).data());
        }
        failure("apply", "frelu", "--input", s(in), "--out", s(out), "--weights", s(dir));  // light folder, full op
        usage("apply", "frelu", "--input", s(in), "--out", s(out));  // neither weights nor random
        usage("apply", "frelu", "--input", s(in), "--out", s(out), "--weights", s(dir), "--random-weights", "1");
        usage("apply", "frelu", "--input", s(in), "--out", s(out), "--random-weights", "1", "--k", "4");
        // rejected before any weight is allocated (k = 20001 used to build 1.6 GB first; 46341^2 overflows int)
        failure("apply", "frelu", "--input", s(in), "--out", s(out), "--random-weights", "1", "--k", "20001");
        failure("apply", "frelu", "--input", s(in), "--out", s(out), "--random-weights", "1", "--k", "46341");
        failure("apply", "frelu", "--input", s(in), "--out", s(out), "--random-weights", "1", "--k", "9");  // > max k
        failure("apply", "frelu", "--input", s(in), "--out", s(out), "--random-weights", "1", "--eps", "0");
    }

    @Test
    void star() {
        float[] a = random(N, 7), b = random(N, 8);
        Path pa = npy("a.npy", S4, a), pb = npy("b.npy", S4, b), out = tmp.resolve("y.npy");
        for (String act : new String[] {"identity", "relu", "relu6", "leaky-relu"}) {
            List<String> args = new ArrayList<>(List.of("apply", "star", "--input", s(pa), "--input2", s(pb), "--out", s(out), "--act", act));
            if (act.equals("leaky-relu")) args.addAll(List.of("--alpha", "0.3"));
            ok(args.toArray(new String[0]));
            Star.Act sa = Star.Act.valueOf(act.toUpperCase().replace('-', '_'));
            try (Star op = Star.builder().act(sa).alpha(0.3f).build()) {
                assertArrayEquals(op.apply(a, b, SHAPE), Npy.read(out).data(), act);
            }
        }
        usage("apply", "star", "--input", s(pa), "--out", s(out));  // no --input2
        usage("apply", "star", "--input", s(pa), "--input2", s(pb), "--out", s(out), "--act", "tanh");
        usage("apply", "star", "--input", s(pa), "--input2", s(pb), "--out", s(out), "--alpha", "0.2");  // alpha needs leaky-relu
        Path other = npy("c.npy", new long[] {2, 3, 5, 6}, random(2 * 3 * 5 * 6, 1));
        Result r = failure("apply", "star", "--input", s(pa), "--input2", s(other), "--out", s(out));
        assertTrue(r.err().contains("(2, 3, 5, 6)"), r::toString);
    }

    // ---- usage errors (2) and failures (1) --------------------------------------------------------

    @Test
    void usageErrorsExitTwo() {
        Path in = npy("x.npy", S4, random(N, 1));
        Result r = run();
        assertEquals(2, r.code());
        assertTrue(r.err().contains("usage:"), r::toString);
        usage("frobnicate");
        r = usage("apply", "swish", "--input", s(in), "--out", "y.npy");
        assertTrue(r.err().contains("unknown operator 'swish'") && r.err().contains("leaky-relu, relu, prelu, frelu, frelu-light, star"),
                r::toString);
        usage("apply");
        usage("apply", "relu", "--out", "y.npy");
        usage("apply", "relu", "--input", s(in));
        r = usage("apply", "relu", "--input", s(in), "--out", "y.npy", "--alpha", "0.1");  // relu has no alpha
        assertTrue(r.err().contains("--alpha"), r::toString);
        usage("apply", "leaky-relu", "--input", s(in), "--out", "y.npy", "--alpha", "abc");
        usage("apply", "leaky-relu", "--input", s(in), "--out", "y.npy", "--alpha");
        usage("apply", "leaky-relu", "--input", s(in), "--out", "y.npy", "--backend", "tpu");
        usage("apply", "leaky-relu", "--input", s(in), "--input", s(in), "--out", "y.npy");
        usage("apply", "leaky-relu", "extra", "--input", s(in), "--out", "y.npy");
        usage("apply", "leaky-relu", "--input", s(in), "--out", "y.npy", "--light=yes");
        usage("apply", "leaky-relu", "-x");
        usage("info", "--size", "3");
        usage("demo", "--size", "2");
        usage("demo", "--bench", "64x64");
        assertFalse(Files.exists(Path.of("y.npy")));
    }

    @Test
    void failuresExitOneWithAMessage() throws IOException {
        Path out = tmp.resolve("y.npy");
        Result r = failure("apply", "relu", "--input", s(tmp.resolve("missing.npy")), "--out", s(out));
        assertTrue(r.err().contains("missing.npy"), r::toString);
        Path bad = tmp.resolve("bad.npy");
        Files.writeString(bad, "not numpy");
        r = failure("apply", "relu", "--input", s(bad), "--out", s(out));
        assertTrue(r.err().contains("magic"), r::toString);
        r = failure("apply", "relu", "--input", s(npy("v.npy", new long[] {5}, random(5, 1))), "--out", s(out));
        assertTrue(r.err().contains("(5,)"), r::toString);
        failure("apply", "relu", "--input", s(npy("z.npy", new long[] {0, 3}, new float[0])), "--out", s(out));
        failure("apply", "relu", "--input", s(npy("x5.npy", new long[] {1, 1, 1, 2, 2}, new float[4])), "--out", s(out));
        failure("apply", "relu", "--input", s(npy("x.npy", S4, random(N, 1))), "--out", s(tmp.resolve("no/dir/y.npy")));
        assertFalse(Files.exists(out));

        r = run("--verbose", "apply", "relu", "--input", s(tmp.resolve("missing.npy")), "--out", s(out));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("\tat "), "--verbose prints the stack trace: " + r);
    }

    @Test
    void helpAndInfo() {
        Result r = ok("--help");
        assertTrue(r.out().contains("apply") && r.out().contains("demo") && r.out().contains("info"), r::toString);
        r = ok("apply", "--help");
        for (Ops.Spec s : Ops.all()) assertTrue(r.out().contains(s.name()), s.name());
        r = ok("help", "frelu");
        assertTrue(r.out().contains("--weights") && r.out().contains("--random-weights"), r::toString);
        ok("demo", "--help");
        r = ok("info");
        assertTrue(r.out().contains("CPU: available"), r::toString);
        assertTrue(r.out().contains("best backend: " + Backend.best()), r::toString);
    }

    // ---- demo ---------------------------------------------------------------------------------------

    @Test
    void demoWritesThePicturesAndTheTable() throws IOException {
        Path dir = tmp.resolve("demo");
        Result r = ok("demo", "--out", s(dir), "--size", "40", "--channels", "3", "--bench", "1x4x16x16", "--runs", "2", "--backend", "cpu");
        List<String> pngs = new ArrayList<>();
        try (var files = Files.list(dir)) {
            files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".png")).sorted().forEach(pngs::add);
        }
        assertTrue(pngs.containsAll(List.of("01-leaky-relu.png", "02-relu.png", "03-prelu.png", "04-frelu.png", "05-frelu-light.png",
                "06-star-relu.png", "overview.png")), pngs::toString);
        for (String n : pngs) {
            BufferedImage img = ImageIO.read(dir.resolve(n).toFile());
            assertTrue(img != null && img.getWidth() > 200 && img.getHeight() > 200, n);
        }
        // input | output: the left panel is the same picture in every operator's figure
        BufferedImage a = ImageIO.read(dir.resolve("01-leaky-relu.png").toFile()), b = ImageIO.read(dir.resolve("02-relu.png").toFile());
        assertEquals(a.getWidth(), b.getWidth());
        // the example as files
        assertArrayEquals(new long[] {1, 3, 40, 40}, Npy.read(dir.resolve("input.npy")).shape());
        assertEquals(3, FReLUWeights.read(dir.resolve("frelu-weights"), "").channels());
        // the table
        for (String op : new String[] {"LeakyReLU", "ReLU", "PReLU", "FReLU(k=3", "FReLU-light", "Star(relu)"})
            assertTrue(r.out().contains(op), op + " in " + r);
        assertTrue(r.out().contains("1x4x16x16") && r.out().contains("GB/s") && r.out().contains("1.00x"), r::toString);
        assertTrue(r.out().contains("backend: CPU"), r::toString);
        assertTrue(r.out().contains(dir.toAbsolutePath().normalize().toString()), r::toString);

        Path dir2 = tmp.resolve("demo2");
        r = ok("demo", "--out", s(dir2), "--size", "16", "--channels", "1", "--no-bench");
        assertFalse(r.out().contains("GB/s"), r::toString);
        assertTrue(Files.exists(dir2.resolve("overview.png")));
    }

    @Test
    void demoExampleIsDeterministicWithBothSigns() {
        float[] img = Demo.testImage(32);
        assertArrayEquals(img, Demo.testImage(32));
        float[] x = Demo.features(img, 32, 4, 7);
        assertArrayEquals(x, Demo.features(img, 32, 4, 7));
        for (int c = 0; c < 4; c++) {
            double sum = 0, sq = 0;
            int neg = 0;
            for (int i = c * 1024; i < (c + 1) * 1024; i++) {
                sum += x[i];
                sq += x[i] * x[i];
                if (x[i] < 0) neg++;
            }
            assertEquals(0, sum / 1024, 1e-4);
            assertEquals(1, sq / 1024, 1e-3);
            assertTrue(neg > 50 && neg < 1000, "channel " + c + " has both signs");
        }
        assertNotEquals(Arrays.hashCode(x), Arrays.hashCode(Demo.features(img, 32, 4, 8)));
    }

    // ---- pieces -------------------------------------------------------------------------------------

    @Test
    void builtInPngEncoderDecodesToTheSamePixels() throws IOException {
        Canvas c = new Canvas(37, 23);
        Random r = new Random(1);
        for (int i = 0; i < c.rgb.length; i++) c.rgb[i] = r.nextInt(1 << 24);
        c.text("FReLU(k=3) 0.5", 1, 1, 1, Canvas.BLACK);
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(c.encodePng()));
        assertEquals(37, img.getWidth());
        assertEquals(23, img.getHeight());
        for (int y = 0; y < 23; y++)
            for (int x = 0; x < 37; x++) assertEquals(c.get(x, y), img.getRGB(x, y) & 0xffffff, x + "," + y);
    }

    @Test
    void divergingColourMap() {
        assertEquals(0xf7f7f7, Canvas.diverging(0f, 1f));
        int red = Canvas.diverging(5f, 1f), blue = Canvas.diverging(-5f, 1f);
        assertTrue((red >> 16 & 0xff) > (red & 0xff), "positive is red");
        assertTrue((blue & 0xff) > (blue >> 16 & 0xff), "negative is blue");
        assertEquals(red, Canvas.diverging(1f, 1f));
        assertEquals(Canvas.BLACK, Canvas.diverging(Float.NaN, 1f));
    }

    @Test
    void tdLReluThroughTheHookWhenItsClassExists() {
        Assumptions.assumeTrue(Ops.get("td-lrelu") != null, "dev.spatialact.TDLReLU is not in this build");
        float[] x = random(N, 11);
        Path in = npy("x.npy", S4, x), out = tmp.resolve("y.npy");
        // The spec: lambda = 0 or T = 0 gives exactly LeakyReLU (hard form).
        ok("apply", "td-lrelu", "--input", s(in), "--out", s(out), "--alpha", "0.2", "--lambda", "0", "--iterations", "3");
        try (LeakyReLU op = LeakyReLU.of(0.2f)) {
            assertArrayEquals(op.apply(x, SHAPE), Npy.read(out).data());
        }
        ok("apply", "td-lrelu", "--input", s(in), "--out", s(out), "--lambda", "0.5", "--iterations", "0", "--epsilon", "0");
        try (LeakyReLU op = LeakyReLU.of(0.01f)) {
            assertArrayEquals(op.apply(x, SHAPE), Npy.read(out).data());
        }
        ok("apply", "td-lrelu", "--input", s(in), "--out", s(out), "--lambda", "0.5", "--sigma", "1.5", "--radius", "4");
        assertArrayEquals(S4, Npy.read(out).shape());
        failure("apply", "td-lrelu", "--input", s(in), "--out", s(out), "--lambda", "-1");
        usage("apply", "td-lrelu", "--input", s(in), "--out", s(out), "--iterations", "x");
    }

    @Test
    void ntdLreluWithAndWithoutGuide() throws Exception {
        float[] x = random(N, 12);
        Path in = npy("x.npy", S4, x), out = tmp.resolve("y.npy");
        ok("apply", "ntd-lrelu", "--input", s(in), "--out", s(out), "--search", "2", "--patch", "1", "--h", "0.5", "--k", "9");
        float[] y1 = Npy.read(out).data();
        try (dev.spatialact.NTDLReLU op = dev.spatialact.NTDLReLU.builder().search(2).patch(1).h(0.5f).knn(9).build()) {
            assertArrayEquals(op.apply(x, SHAPE), y1);
        }
        // A guide of one channel per sample: (N, 1, H, W).
        long[] gshape = {S4[0], 1, S4[2], S4[3]};
        float[] g = random((int) (gshape[0] * gshape[2] * gshape[3]), 13);
        Path gp = npy("g.npy", gshape, g);
        ok("apply", "ntd-lrelu", "--input", s(in), "--out", s(out), "--guide", s(gp), "--iterations", "2");
        try (dev.spatialact.NTDLReLU op = dev.spatialact.NTDLReLU.builder().iterations(2).guideChannels(1).build()) {
            float[] y = new float[N];
            op.apply(x, g, y, SHAPE);
            assertArrayEquals(y, Npy.read(out).data());
        }
        Path bad = npy("bad.npy", new long[] {1, 1, 3, 3}, random(9, 14));
        failure("apply", "ntd-lrelu", "--input", s(in), "--out", s(out), "--guide", s(bad));
        failure("apply", "ntd-lrelu", "--input", s(in), "--out", s(out), "--search", "9");
    }


}
