package dev.spatialact.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spatialact.SpatialActException;
import dev.spatialact.SpatialActException.Code;
import dev.spatialact.internal.NativeLoader;

/**
 * Issue "Hardening II", item 9: messages that help. Permission errors say why (mode, owner,
 * the user, and for a replaced file the directory that must be writable); a bad FReLU parameter
 * is blamed on its own file and element, not on what it is folded into; the JavaCPP-cache
 * failure names the directory and why it cannot be made. Each message failed before (the
 * read error was the bare path; a NaN conv1.bias was reported as bn1.running_mean; the cache
 * failure read as "built for this machine"). The permission cases that need a non-root user run
 * as such in the CLI campaign (scripts/campaign.sh); here the text is checked on what root sees.
 */
class MessagesTest {
    @TempDir
    Path tmp;

    @Test
    void permissionMessagesSayWhy() throws IOException {
        Path f = tmp.resolve("secret.npy");
        Npy.write(f, new long[] {1}, new float[] {1});
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        String m = FileIo.denied(f, "read");
        String user = System.getProperty("user.name");
        assertTrue(m.contains("permission denied") && m.contains(f.toString()) && m.contains("rw-------")
                && m.contains("owner ") && m.contains("user " + user), m);
        String d = FileIo.denied(tmp, "written");
        assertTrue(d.contains("the directory " + tmp), d);
        String gone = FileIo.denied(tmp.resolve("no/such"), "read");
        assertTrue(gone.contains("permission denied") && gone.contains("cannot be read"), gone);
    }

    /** A FReLU folder with one value made bad. */
    static Path folder(Path dir, boolean light, String file, int index, float bad) {
        FReLUWeights fw = FReLUWeights.random(4, 3, light, 7);
        fw.save(dir);
        Path f = dir.resolve(file + ".npy");
        if (Files.exists(f) || file.endsWith(".bias")) {
            long[] shape = Files.exists(f) ? Npy.read(f).shape() : new long[] {4};
            float[] v = Files.exists(f) ? Npy.read(f).data() : new float[] {0.1f, 0.2f, 0.3f, 0.4f};
            v[index] = bad;
            Npy.write(f, shape, v);
        }
        return f;
    }

    @Test
    void aBadParameterIsBlamedOnItsOwnFile() {
        Object[][] cases = {
            {false, "conv.weight", 13, Float.NaN, "element (1, 0, 1, 1) = NaN"},
            {false, "conv.bias", 2, Float.POSITIVE_INFINITY, "element (2,) = Infinity"},
            {false, "bn.running_var", 1, -1f, "element (1,) = -1.0; a variance must be >= 0"},
            {true, "conv1.bias", 3, Float.NaN, "element (3,) = NaN"},  // was blamed on bn1.running_mean
            {true, "conv2.weight", 0, Float.NEGATIVE_INFINITY, "element (0, 0, 0, 0) = -Infinity"},
            {true, "conv2.bias", 0, 3e38f, "folded into bn2.running_mean.npy"},
        };
        for (Object[] c : cases) {
            Path dir = tmp.resolve(c[1] + "-" + c[2]);
            Path f = folder(dir, (Boolean) c[0], (String) c[1], (Integer) c[2], (Float) c[3]);
            if (c[1].equals("conv2.bias")) {  // a mean that the bias pushes past float32's range
                float[] m = Npy.read(dir.resolve("bn2.running_mean.npy")).data();
                m[0] = -3e38f;
                Npy.write(dir.resolve("bn2.running_mean.npy"), new long[] {4}, m);
            }
            SpatialActException e = assertThrows(SpatialActException.class, () -> FReLUWeights.read(dir, ""), (String) c[1]);
            assertEquals(Code.INVALID_ARGUMENT, e.code(), e.getMessage());
            assertTrue(e.getMessage().startsWith(f + ": "), c[1] + ": " + e.getMessage());
            assertTrue(e.getMessage().contains((String) c[4]), c[1] + ": " + e.getMessage());
        }
    }

    @Test
    void theCacheFailureNamesTheDirectory() throws IOException {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        String saved = System.getProperty("org.bytedeco.javacpp.cachedir");
        System.setProperty("org.bytedeco.javacpp.cachedir", file.resolve("cache").toString());
        try {
            Throwable t = new UnsatisfiedLinkError("java.io.IOException: Could not create the cache: Set the \"org.bytedeco.javacpp.cachedir\" system property.");
            String m = NativeLoader.explain(t);
            assertTrue(m.contains("could not create its cache directory " + file.resolve("cache")), m);
            assertTrue(m.contains(file + " is not a directory"), m);
            assertTrue(m.contains("-Dorg.bytedeco.javacpp.cachedir=DIR"), m);
            assertFalse(m.contains("built for this machine"), m);
        } finally {
            if (saved == null) System.clearProperty("org.bytedeco.javacpp.cachedir");
            else System.setProperty("org.bytedeco.javacpp.cachedir", saved);
        }
    }

    @Test
    void readFloatsOwnsItsArrayAndConvertsFloat64() {
        Path f = tmp.resolve("a.npy"), g = tmp.resolve("b.npy");
        Npy.write(f, new long[] {2, 2}, new float[] {1, -2, 3, 4});
        Npy.Floats a = Npy.readFloats(f);
        assertArrayEquals(new long[] {2, 2}, a.shape());
        assertArrayEquals(new float[] {1, -2, 3, 4}, a.data());
        assertFalse(a.wasFloat64());
        Npy.writeFloat64(g, new long[] {3}, new double[] {0.1, 1e300, -2.5});
        Npy.Floats b = Npy.readFloats(g);
        assertTrue(b.wasFloat64());
        assertArrayEquals(new float[] {0.1f, Float.POSITIVE_INFINITY, -2.5f}, b.data());
        assertTrue(Npy.read(g).wasFloat64());
    }
}
