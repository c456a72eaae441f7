package dev.spatialact.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.spatialact.Backend;
import dev.spatialact.FReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialActException;
import dev.spatialact.SpatialActException.Code;

class NpyTest {
    @TempDir
    Path tmp;

    // ---- helpers ----------------------------------------------------------------------------

    /** A .npy file: magic, version, header length (2 bytes for v1, 4 for v2/v3), header text, data. */
    static byte[] npy(int major, String header, byte[] data) {
        byte[] h = header.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int prefix = major == 1 ? 10 : 12;
        ByteBuffer b = ByteBuffer.allocate(prefix + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) b.putShort((short) h.length);
        else b.putInt(h.length);
        b.put(h).put(data);
        return b.array();
    }

    /** The dict padded with spaces and '\n' so that prefix + header is a multiple of align (numpy's rule). */
    static String padded(int major, String dict, int align) {
        int prefix = major == 1 ? 10 : 12;
        int len = dict.length() + 1;
        int pad = (align - (prefix + len) % align) % align;
        return dict + " ".repeat(pad) + "\n";
    }

    static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    static byte[] f64(double... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double d : v) b.putDouble(d);
        return b.array();
    }

    Path file(String name, byte[] content) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, content);
        return p;
    }

    static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    // ---- round trips ------------------------------------------------------------------------

    static Stream<long[]> shapes() {
        return Stream.of(new long[] {}, new long[] {1}, new long[] {7}, new long[] {2, 3}, new long[] {1, 1, 1, 1},
                new long[] {2, 3, 4, 5}, new long[] {1, 2, 1, 3, 2}, new long[] {0}, new long[] {0, 3}, new long[] {4, 0, 2});
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void float32RoundTrip(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        float[] data = random((int) n, n);
        Path p = tmp.resolve("a.npy");
        Npy.write(p, shape, data);
        Npy.NpyArray a = Npy.read(p);
        assertArrayEquals(shape, a.shape());
        assertArrayEquals(data, a.data());
        assertFalse(a.wasFloat64());
        assertEquals(n, a.size());
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void float64RoundTripKeepsTheDoubles(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        double[] data = new double[(int) n];
        Random r = new Random(3);
        for (int i = 0; i < n; i++) data[i] = r.nextGaussian() * 1e3 + Math.PI * 1e-9;
        Path p = tmp.resolve("d.npy");
        Npy.writeFloat64(p, shape, data);
        Npy.NpyArray a = Npy.read(p);
        assertTrue(a.wasFloat64());
        assertArrayEquals(shape, a.shape());
        assertArrayEquals(data, a.toDoubleArray());
        float[] f = a.data();
        for (int i = 0; i < n; i++) assertEquals((float) data[i], f[i]);
    }

    @Test
    void specialValuesSurvive() {
        float[] v = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, Float.MIN_VALUE, Float.MAX_VALUE};
        Path p = tmp.resolve("s.npy");
        Npy.write(p, new long[] {v.length}, v);
        float[] back = Npy.read(p).data();
        for (int i = 0; i < v.length; i++) assertEquals(Float.floatToRawIntBits(v[i]), Float.floatToRawIntBits(back[i]));
    }

    @Test
    void bigArraysCrossChunkBoundaries() {
        int n = 3 * (Npy.CHUNK_BYTES / 4) + 12345;  // several read/write chunks plus a remainder
        float[] data = new float[n];
        for (int i = 0; i < n; i++) data[i] = i * 0.5f - 7f;
        Path p = tmp.resolve("big.npy");
        Npy.write(p, new long[] {1, 1, 3, n / 3}, data);
        Npy.NpyArray a = Npy.read(p);
        assertArrayEquals(new long[] {1, 1, 3, n / 3}, a.shape());
        assertArrayEquals(data, a.data());

        int m = Npy.CHUNK_BYTES / 8 * 2 + 3;
        double[] d = new double[m];
        for (int i = 0; i < m; i++) d[i] = i / 3.0;
        Npy.writeFloat64(p, new long[] {m}, d);
        assertArrayEquals(d, Npy.read(p).toDoubleArray());
    }

    @Test
    void headerIsWhatNumpySaveWrites() throws IOException {
        Path p = tmp.resolve("h.npy");
        Npy.write(p, new long[] {2, 3}, new float[6]);
        byte[] bytes = Files.readAllBytes(p);
        // numpy >= 1.23: sorted keys, 21 - len("2") spare spaces for growing axis 0, then padding to 64.
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        byte[] expected = npy(1, dict + " ".repeat(58) + "\n", new byte[24]);
        assertArrayEquals(expected, bytes);
        assertEquals(128 + 24, bytes.length);

        for (long[] shape : new long[][] {{}, {5}, {1, 64, 256, 256}, {123456789, 1}}) {
            byte[] h = Npy.header("<f8", shape);
            int len = (h[8] & 0xff) | (h[9] & 0xff) << 8;
            assertEquals(1, h[6]);
            assertEquals(0, (10 + len) % 64, "aligned header for " + Npy.shapeString(shape));
            assertEquals(h.length, 10 + len);
            assertEquals('\n', h[h.length - 1]);
            String text = new String(h, 10, len, StandardCharsets.ISO_8859_1);
            assertTrue(text.startsWith("{'descr': '<f8', 'fortran_order': False, 'shape': " + Npy.shapeString(shape) + ", }"), text);
        }
        assertEquals("()", Npy.shapeString(new long[] {}));
        assertEquals("(5,)", Npy.shapeString(new long[] {5}));
    }

    @Test
    void writeReplacesAnExistingFileAndLeavesNoTemporaryFiles() throws IOException {
        Path p = tmp.resolve("r.npy");
        Npy.write(p, new long[] {3}, new float[] {1, 2, 3});
        Npy.write(p, new long[] {1}, new float[] {9});
        assertArrayEquals(new float[] {9}, Npy.read(p).data());
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(1, s.count());
        }
    }

    @Test
    void writeChecksItsArguments() {
        Path p = tmp.resolve("x.npy");
        assertEquals(Code.INVALID_ARGUMENT, assertThrows(SpatialActException.class,
                () -> Npy.write(p, new long[] {2, 2}, new float[3])).code());
        assertEquals(Code.INVALID_ARGUMENT, assertThrows(SpatialActException.class,
                () -> Npy.write(p, new long[] {-1}, new float[0])).code());
        assertEquals(Code.INVALID_ARGUMENT, assertThrows(SpatialActException.class, () -> Npy.write(p, null, new float[0])).code());
        SpatialActException e = assertThrows(SpatialActException.class,
                () -> Npy.write(tmp.resolve("no/such/dir/x.npy"), new long[] {1}, new float[1]));
        assertEquals(Code.IO, e.code());
        assertFalse(Files.exists(p));
    }

    @Test
    void arrayAccessorsDoNotExposeInternals() {
        Npy.NpyArray a = Npy.NpyArray.of(new long[] {2}, new float[] {1, 2});
        a.data()[0] = 5;
        a.shape()[0] = 7;
        assertArrayEquals(new float[] {1, 2}, a.data());
        assertArrayEquals(new long[] {2}, a.shape());
        assertTrue(a.buffer().isReadOnly());
        assertEquals(2f, a.get(1));
        assertEquals(Code.INVALID_ARGUMENT,
                assertThrows(SpatialActException.class, () -> Npy.NpyArray.of(new long[] {3}, new float[2])).code());
    }

    // ---- files as real numpy versions write them --------------------------------------------

    static final String D23 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    static final float[] V6 = {1, -2, 3.5f, -4.25f, 0, 1e-3f};

    static Stream<Arguments> numpyFiles() {
        return Stream.of(
                // numpy 1.23+ / 2.x, version 1.0, 64-aligned, growth spaces
                Arguments.of("numpy 2.x v1.0", npy(1, D23 + " ".repeat(58) + "\n", f32(V6))),
                // numpy 1.14 - 1.22: 64-aligned, no growth spaces
                Arguments.of("numpy 1.16 v1.0", npy(1, padded(1, D23, 64), f32(V6))),
                // numpy < 1.14: 16-aligned
                Arguments.of("numpy 1.11 v1.0", npy(1, padded(1, D23, 16), f32(V6))),
                // version 2.0 (4-byte header length) and 3.0 (utf-8)
                Arguments.of("v2.0", npy(2, padded(2, D23, 64), f32(V6))),
                Arguments.of("v3.0", npy(3, padded(3, D23, 64), f32(V6))),
                // Python 2 era: long integers with L suffix
                Arguments.of("python 2 longs", npy(1, padded(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", 16), f32(V6))),
                // key order, quotes and spacing need not be numpy's
                Arguments.of("other key order", npy(1, padded(1, "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<f4\"}", 64), f32(V6))),
                // '=' is native order: little-endian on this host; numpy reads '|f4' and 'f4' the same way
                Arguments.of("native order", npy(1, padded(1, "{'descr': '=f4', 'fortran_order': False, 'shape': (2, 3), }", 64), f32(V6))),
                Arguments.of("'|f4'", npy(1, padded(1, "{'descr': '|f4', 'fortran_order': False, 'shape': (2, 3), }", 64), f32(V6))),
                Arguments.of("'f4'", npy(1, padded(1, "{'descr': 'f4', 'fortran_order': False, 'shape': (2, 3), }", 64), f32(V6))),
                // float64, converted
                Arguments.of("float64", npy(1, padded(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 64),
                        f64(1, -2, 3.5, -4.25, 0, 1e-3))),
                // trailing bytes after the data are ignored, as numpy.load does
                Arguments.of("trailing bytes", npy(1, padded(1, D23, 64), concat(f32(V6), new byte[] {1, 2, 3}))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("numpyFiles")
    void readsFilesAsNumpyWritesThem(String name, byte[] content) throws IOException {
        Npy.NpyArray a = Npy.read(file("n.npy", content));
        assertArrayEquals(new long[] {2, 3}, a.shape());
        assertArrayEquals(V6, a.data(), name);
    }

    @Test
    void readsZeroDAndOneElementHeaders() throws IOException {
        Npy.NpyArray s = Npy.read(file("s.npy", npy(1, padded(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 64), f32(2.5f))));
        assertEquals(0, s.ndim());
        assertArrayEquals(new float[] {2.5f}, s.data());
        Npy.NpyArray o = Npy.read(file("o.npy", npy(1, padded(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 64), f64(-1.5))));
        assertArrayEquals(new long[] {1}, o.shape());
        assertArrayEquals(new float[] {-1.5f}, o.data());
        Npy.NpyArray z = Npy.read(file("z.npy", npy(1, padded(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", 64), new byte[0])));
        assertArrayEquals(new long[] {0, 4}, z.shape());
        assertEquals(0, z.size());
    }

    static byte[] concat(byte[] a, byte[] b) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(a);
        o.writeBytes(b);
        return o.toByteArray();
    }

    // ---- rejected files: all Code.FORMAT -----------------------------------------------------

    static String dict(String descr, String fortran, String shape) {
        return "{'descr': " + descr + ", 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
    }

    static byte[] v1(String dict, byte[] data) {
        return npy(1, padded(1, dict, 64), data);
    }

    static Stream<Arguments> badFiles() {
        byte[] good = v1(D23, f32(V6));
        byte[] badMagic = good.clone();
        badMagic[1] = 'X';
        byte[] v4 = good.clone();
        v4[6] = 4;
        byte[] v11 = good.clone();
        v11[7] = 1;
        byte[] longHeaderLen = good.clone();
        longHeaderLen[8] = (byte) 0xff;
        longHeaderLen[9] = (byte) 0x7f;
        ByteBuffer hugeV2 = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        hugeV2.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0}).putInt(-1);
        byte[] truncatedData = java.util.Arrays.copyOf(good, good.length - 1);
        return Stream.of(
                Arguments.of("empty file", new byte[0], "empty"),
                Arguments.of("too short", new byte[] {(byte) 0x93, 'N', 'U'}, "too short"),
                Arguments.of("bad magic", badMagic, "magic"),
                Arguments.of("a text file", "hello, this is not numpy at all".getBytes(StandardCharsets.US_ASCII), "magic"),
                Arguments.of("version 4.0", v4, "version 4.0"),
                Arguments.of("version 1.1", v11, "version 1.1"),
                Arguments.of("header longer than the file", longHeaderLen, "truncated"),
                Arguments.of("huge v2 header length", hugeV2.array(), "header of"),
                Arguments.of("unparseable header", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ", f32(V6)), "parseable"),
                Arguments.of("garbage header", v1("descr=<f4 shape=2x3", f32(V6)), "parseable"),
                Arguments.of("header not a dict", v1("[1, 2, 3]", f32(V6)), "not a dict"),
                Arguments.of("missing shape", v1("{'descr': '<f4', 'fortran_order': False, }", f32(V6)), "'shape'"),
                Arguments.of("missing descr", v1("{'fortran_order': False, 'shape': (2, 3), }", f32(V6)), "'descr'"),
                Arguments.of("extra key", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1, }", f32(V6)), "unexpected keys"),
                Arguments.of("duplicate key", v1("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32(V6)), "duplicate"),
                Arguments.of("big-endian f4", v1(dict("'>f4'", "False", "(2, 3)"), f32(V6)), "big-endian"),
                Arguments.of("big-endian f8", v1(dict("'>f8'", "False", "(2, 3)"), f64(1, 2, 3, 4, 5, 6)), "big-endian"),
                Arguments.of("int32", v1(dict("'<i4'", "False", "(2, 3)"), f32(V6)), "'<i4'"),
                Arguments.of("int64", v1(dict("'<i8'", "False", "(2, 3)"), f64(1, 2, 3, 4, 5, 6)), "'<i8'"),
                Arguments.of("float16", v1(dict("'<f2'", "False", "(2, 3)"), f32(V6)), "'<f2'"),
                Arguments.of("bool", v1(dict("'|b1'", "False", "(2, 3)"), f32(V6)), "'|b1'"),
                Arguments.of("complex", v1(dict("'<c8'", "False", "(2, 3)"), f64(1, 2, 3, 4, 5, 6)), "'<c8'"),
                Arguments.of("object", v1(dict("'|O'", "False", "(2,)"), f64(1, 2)), "object"),
                Arguments.of("structured", v1(dict("[('a', '<f4'), ('b', '<i4')]", "False", "(3,)"), new byte[24]), "structured"),
                Arguments.of("fortran order", v1(dict("'<f4'", "True", "(2, 3)"), f32(V6)), "fortran_order True"),
                Arguments.of("fortran_order not a bool", v1(dict("'<f4'", "0", "(2, 3)"), f32(V6)), "fortran_order"),
                Arguments.of("shape not a tuple", v1(dict("'<f4'", "False", "6"), f32(V6)), "not a tuple"),
                // numpy rejects these too (issue "Hardening II", item 6)
                Arguments.of("shape a list", v1(dict("'<f4'", "False", "[2, 3]"), f32(V6)), "not a tuple"),
                Arguments.of("shape an int in parentheses", v1(dict("'<f4'", "False", "(6)"), f32(V6)), "not a tuple"),
                Arguments.of("non-ASCII digits", npy(3, padded(3, dict("'<f4'", "False", "(\u0662, 3)"), 64), f32(V6)), "parseable"),
                Arguments.of("nested brackets", v1(dict("'<f4'", "False", "(" + "[".repeat(3500) + "]".repeat(3500) + ",)"),
                        f32(V6)), "nested deeper than 32"),
                Arguments.of("negative dimension", v1(dict("'<f4'", "False", "(2, -3)"), f32(V6)), "negative"),
                Arguments.of("float dimension", v1(dict("'<f4'", "False", "(2.0, 3)"), f32(V6)), "parseable"),
                Arguments.of("string dimension", v1(dict("'<f4'", "False", "('2', 3)"), f32(V6)), "non-integer"),
                Arguments.of("size overflows 64 bits", v1(dict("'<f4'", "False", "(4294967296, 4294967296)"), f32(V6)), "overflow"),
                Arguments.of("dimension beyond 64 bits", v1(dict("'<f4'", "False", "(99999999999999999999,)"), f32(V6)), "64 bits"),
                Arguments.of("more than a Java array", v1(dict("'<f4'", "False", "(3000000000,)"), f32(V6)), "Java array"),
                Arguments.of("data shorter than the shape", v1(dict("'<f4'", "False", "(2, 4)"), f32(V6)), "truncated"),
                Arguments.of("data one byte short", truncatedData, "truncated"),
                Arguments.of("no data at all", v1(D23, new byte[0]), "truncated"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badFiles")
    void rejectsWithFormatNamingFileAndProblem(String name, byte[] content, String problem) throws IOException {
        Path p = file("bad.npy", content);
        SpatialActException e = assertThrows(SpatialActException.class, () -> Npy.read(p), name);
        assertEquals(Code.FORMAT, e.code(), name + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(problem), name + ": '" + problem + "' not in: " + e.getMessage());
    }

    @Test
    void missingFileIsIo() {
        SpatialActException e = assertThrows(SpatialActException.class, () -> Npy.read(tmp.resolve("nope.npy")));
        assertEquals(Code.IO, e.code());
        assertTrue(e.getMessage().contains("nope.npy"));
        assertEquals(Code.IO, assertThrows(SpatialActException.class, () -> Npy.read(tmp)).code());
    }

    // ---- FReLU weights ------------------------------------------------------------------------

    @Nested
    class FReLUWeightsTest {
        static final int C = 4, H = 9, W = 11;

        float[] input(int n) {
            return random(n * C * H * W, 77);
        }

        @ParameterizedTest(name = "k={0} bias={1} prefix=''{2}''")
        @MethodSource("dev.spatialact.io.NpyTest#freluCases")
        void fullRoundTripAndSameOperatorAsTheBuilder(int k, boolean bias, String prefix) {
            Random r = new Random(k);
            float[] w = random(C * k * k, 1), b = bias ? random(C, 2) : null;
            float[] g = new float[C], be = random(C, 3), m = random(C, 4), v = new float[C];
            for (int c = 0; c < C; c++) {
                g[c] = 0.5f + r.nextFloat();
                v[c] = 0.3f + r.nextFloat();
            }
            FReLUWeights fw = FReLUWeights.full(C, k, w, b, g, be, m, v);
            Path dir = tmp.resolve("w");
            fw.save(dir, prefix);
            assertTrue(Files.exists(dir.resolve(prefix + "conv.weight.npy")));
            assertEquals(bias, Files.exists(dir.resolve(prefix + "conv.bias.npy")));
            assertArrayEquals(new long[] {C, 1, k, k}, Npy.read(dir.resolve(prefix + "conv.weight.npy")).shape());

            FReLUWeights back = FReLUWeights.read(dir, prefix);
            assertFalse(back.isLight());
            assertEquals(C, back.channels());
            assertEquals(k, back.kernelSize());
            assertArrayEquals(w, back.weight());
            assertArrayEquals(b, back.convBias());
            assertArrayEquals(m, back.batchNorm(2));

            float eps = 1e-3f;
            FReLU.Builder builder = FReLU.builder(C).kernelSize(k).weight(w).batchNorm(g, be, m, v).eps(eps).backend(Backend.CPU);
            if (bias) builder.convBias(b);
            Shape s = Shape.of(2, C, H, W);
            float[] x = input(2);
            try (FReLU expected = builder.build(); FReLU loaded = FReLUWeights.load(dir, prefix, eps, Backend.CPU)) {
                float[] ye = expected.apply(x, s), yl = loaded.apply(x, s);
                assertArrayEquals(ye, yl);
                assertArrayEquals(reference(x, s, fw, eps), yl, 1e-4f);
            }
        }

        @Test
        void lightRoundTripAndSameOperatorAsTheBuilder() {
            int k = 5;
            FReLUWeights fw = FReLUWeights.random(C, k, true, 42);
            Path dir = tmp.resolve("light");
            fw.save(dir);
            assertArrayEquals(new long[] {C, 1, 1, k}, Npy.read(dir.resolve("conv1.weight.npy")).shape());
            assertArrayEquals(new long[] {C, 1, k, 1}, Npy.read(dir.resolve("conv2.weight.npy")).shape());
            for (String bn : new String[] {"bn1.", "bn2."})
                for (String p : FReLUWeights.BN_PARAMS) assertTrue(Files.exists(dir.resolve(bn + p + ".npy")), bn + p);
            FReLUWeights back = FReLUWeights.read(dir, "");
            assertTrue(back.isLight());
            assertArrayEquals(fw.weightVertical(), back.weightVertical());
            Shape s = Shape.of(1, C, H, W);
            float[] x = input(1);
            try (FReLU expected = FReLU.lightBuilder(C).kernelSize(k).weight(fw.weight()).weightVertical(fw.weightVertical())
                    .batchNorm(fw.batchNorm(0), fw.batchNorm(1), fw.batchNorm(2), fw.batchNorm(3))
                    .batchNormVertical(fw.batchNormVertical(0), fw.batchNormVertical(1), fw.batchNormVertical(2), fw.batchNormVertical(3))
                    .backend(Backend.CPU).build();
                    FReLU loaded = FReLUWeights.load(dir)) {
                assertTrue(loaded.isLight());
                float[] yl = loaded.apply(x, s);
                assertArrayEquals(expected.apply(x, s), yl);
                assertArrayEquals(reference(x, s, fw, FReLU.DEFAULT_EPS), yl, 1e-4f);
            }
        }

        @Test
        void lightConvBiasIsFoldedIntoTheRunningMean() {
            int k = 3;
            FReLUWeights fw = FReLUWeights.random(C, k, true, 5);
            Path dir = tmp.resolve("lb");
            fw.save(dir);
            float[] b1 = random(C, 8), b2 = random(C, 9);
            Npy.write(dir.resolve("conv1.bias.npy"), new long[] {C}, b1);
            Npy.write(dir.resolve("conv2.bias.npy"), new long[] {C}, b2);
            FReLUWeights back = FReLUWeights.read(dir, null);
            float[] m1 = fw.batchNorm(2), m2 = fw.batchNormVertical(2);
            for (int c = 0; c < C; c++) {
                m1[c] -= b1[c];
                m2[c] -= b2[c];
            }
            FReLUWeights folded = FReLUWeights.light(C, k, fw.weight(), fw.weightVertical(), fw.batchNorm(0), fw.batchNorm(1), m1,
                    fw.batchNorm(3), fw.batchNormVertical(0), fw.batchNormVertical(1), m2, fw.batchNormVertical(3));
            Shape s = Shape.of(1, C, H, W);
            float[] x = input(1);
            try (FReLU a = back.build(); FReLU b = folded.build()) {
                assertArrayEquals(b.apply(x, s), a.apply(x, s), 1e-5f);
            }
        }

        @Test
        void float64FilesAndIgnoredExtraFilesAreFine() {
            FReLUWeights fw = FReLUWeights.random(C, 3, false, 9);
            Path dir = tmp.resolve("f64");
            fw.save(dir);
            double[] w = Npy.read(dir.resolve("conv.weight.npy")).toDoubleArray();
            Npy.writeFloat64(dir.resolve("conv.weight.npy"), new long[] {C, 1, 3, 3}, w);
            Npy.writeFloat64(dir.resolve("bn.num_batches_tracked.npy"), new long[] {}, new double[] {100});
            assertArrayEquals(fw.weight(), FReLUWeights.read(dir, "").weight());
        }

        @Test
        void clearErrors() throws IOException {
            FReLUWeights fw = FReLUWeights.random(C, 3, false, 1);
            Path dir = tmp.resolve("e");
            fw.save(dir);

            // a missing BN file
            Files.delete(dir.resolve("bn.running_var.npy"));
            SpatialActException e = assertThrows(SpatialActException.class, () -> FReLUWeights.read(dir, ""));
            assertEquals(Code.IO, e.code());
            assertTrue(e.getMessage().contains("bn.running_var.npy") && e.getMessage().contains("missing"), e.getMessage());

            // a BN vector of the wrong length
            Npy.write(dir.resolve("bn.running_var.npy"), new long[] {C + 1}, new float[C + 1]);
            e = assertThrows(SpatialActException.class, () -> FReLUWeights.read(dir, ""));
            assertEquals(Code.FORMAT, e.code());
            assertTrue(e.getMessage().contains("bn.running_var.npy") && e.getMessage().contains("(5,)")
                    && e.getMessage().contains("expected (4,)"), e.getMessage());
            fw.save(dir);

            // a conv weight that is not (C, 1, k, k)
            Npy.write(dir.resolve("conv.weight.npy"), new long[] {C, 3, 3}, new float[C * 9]);
            e = assertThrows(SpatialActException.class, () -> FReLUWeights.read(dir, ""));
            assertEquals(Code.FORMAT, e.code());
            assertTrue(e.getMessage().contains("conv.weight.npy") && e.getMessage().contains("(4, 3, 3)")
                    && e.getMessage().contains("(C, 1, k, k)"), e.getMessage());
            Npy.write(dir.resolve("conv.weight.npy"), new long[] {C, 1, 2, 2}, new float[C * 4]);
            assertEquals(Code.FORMAT, assertThrows(SpatialActException.class, () -> FReLUWeights.read(dir, "")).code());
            fw.save(dir);

            // a wrong prefix, no folder, both variants
            e = assertThrows(SpatialActException.class, () -> FReLUWeights.read(dir, "act."));
            assertEquals(Code.IO, e.code());
            assertTrue(e.getMessage().contains("act.conv.weight.npy"), e.getMessage());
            assertEquals(Code.IO, assertThrows(SpatialActException.class, () -> FReLUWeights.read(tmp.resolve("none"), "")).code());
            FReLUWeights.random(C, 3, true, 1).save(dir);
            assertEquals(Code.FORMAT, assertThrows(SpatialActException.class, () -> FReLUWeights.read(dir, "")).code());
        }

        @Test
        void randomIsDeterministic() {
            assertArrayEquals(FReLUWeights.random(3, 3, false, 5).weight(), FReLUWeights.random(3, 3, false, 5).weight());
            assertFalse(java.util.Arrays.equals(FReLUWeights.random(3, 3, false, 5).weight(), FReLUWeights.random(3, 3, false, 6).weight()));
            assertNull(FReLUWeights.random(3, 3, true, 5).convBias());
        }
    }

    static Stream<Arguments> freluCases() {
        return Stream.of(Arguments.of(3, true, ""), Arguments.of(3, false, "act."), Arguments.of(1, false, ""),
                Arguments.of(5, true, "model.features.3."), Arguments.of(7, false, ""));
    }

    /** FReLU from the spec, in double, straight from the raw parameters (zero padding k/2). */
    static float[] reference(float[] x, Shape s, FReLUWeights fw, float eps) {
        int n = (int) s.n(), c = (int) s.c(), h = (int) s.h(), w = (int) s.w(), k = fw.kernelSize(), r = k / 2;
        float[] y = new float[x.length];
        float[] wt = fw.weight(), wv = fw.weightVertical(), b = fw.convBias();
        for (int ni = 0; ni < n; ni++)
            for (int ci = 0; ci < c; ci++) {
                double s1 = fw.batchNorm(0)[ci] / Math.sqrt(fw.batchNorm(3)[ci] + (double) eps);
                double s2 = fw.isLight() ? fw.batchNormVertical(0)[ci] / Math.sqrt(fw.batchNormVertical(3)[ci] + (double) eps) : 0;
                int base = (ni * c + ci) * h * w;
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++) {
                        double t;
                        if (!fw.isLight()) {
                            double acc = b == null ? 0 : b[ci];
                            for (int a = 0; a < k; a++)
                                for (int bb = 0; bb < k; bb++) {
                                    int ii = i + a - r, jj = j + bb - r;
                                    if (ii >= 0 && ii < h && jj >= 0 && jj < w) acc += wt[(ci * k + a) * k + bb] * (double) x[base + ii * w + jj];
                                }
                            t = s1 * (acc - fw.batchNorm(2)[ci]) + fw.batchNorm(1)[ci];
                        } else {
                            double ah = 0, av = 0;
                            for (int a = 0; a < k; a++) {
                                int jj = j + a - r, ii = i + a - r;
                                if (jj >= 0 && jj < w) ah += wt[ci * k + a] * (double) x[base + i * w + jj];
                                if (ii >= 0 && ii < h) av += wv[ci * k + a] * (double) x[base + ii * w + j];
                            }
                            t = s1 * (ah - fw.batchNorm(2)[ci]) + fw.batchNorm(1)[ci]
                                    + s2 * (av - fw.batchNormVertical(2)[ci]) + fw.batchNormVertical(1)[ci];
                        }
                        y[base + i * w + j] = (float) Math.max(x[base + i * w + j], t);
                    }
            }
        return y;
    }
}
