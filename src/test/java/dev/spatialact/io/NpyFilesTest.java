package dev.spatialact.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spatialact.SpatialActException;

/**
 * Issue "Hardening II", item 2: .npy files are written as a user expects. Each case failed
 * before (the write renamed a temporary file over whatever the path was).
 */
class NpyFilesTest {
    @TempDir
    Path tmp;

    static final long[] SHAPE = {2, 3};
    static final float[] OLD = {1, 2, 3, 4, 5, 6}, NEW = {-1, -2, -3, 0.5f, 0.25f, 7};

    static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    static int run(String... cmd) throws Exception {
        return new ProcessBuilder(cmd).redirectErrorStream(true).start().waitFor();
    }

    static byte[] expectedBytes(Path dir) throws IOException {
        Path ref = dir.resolve("ref.npy");
        Npy.write(ref, SHAPE, NEW);
        byte[] b = Files.readAllBytes(ref);
        Files.delete(ref);
        return b;
    }

    void noTempFilesLeft() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.filter(p -> p.getFileName().toString().endsWith(".tmp")).count(), "a temporary file was left behind");
        }
    }

    @Test
    void aSymlinkIsFollowedAndStaysALink() throws IOException {
        Path target = tmp.resolve("target.npy"), link = tmp.resolve("link.npy");
        Npy.write(target, SHAPE, OLD);
        Files.createSymbolicLink(link, target.getFileName());
        Npy.write(link, SHAPE, NEW);
        assertTrue(Files.isSymbolicLink(link), "the link was replaced by a file");
        assertArrayEquals(NEW, Npy.read(target).data(), "the link's target keeps stale data");
        // a dangling link: its target is created
        Path dangling = tmp.resolve("dangling.npy");
        Files.createSymbolicLink(dangling, Path.of("created.npy"));
        Npy.write(dangling, SHAPE, NEW);
        assertTrue(Files.isSymbolicLink(dangling));
        assertArrayEquals(NEW, Npy.read(tmp.resolve("created.npy")).data());
        noTempFilesLeft();
    }

    @Test
    void aHardLinkedFileIsWrittenInPlace() throws IOException {
        Path a = tmp.resolve("a.npy"), b = tmp.resolve("b.npy");
        Npy.write(a, SHAPE, OLD);
        Files.createLink(b, a);
        Npy.write(a, SHAPE, NEW);
        assertArrayEquals(NEW, Npy.read(b).data(), "the other name of the file still has the old data");
        assertEquals(2, (Integer) Files.getAttribute(a, "unix:nlink"));
        noTempFilesLeft();
    }

    @Test
    void aReplacedFileKeepsItsMode() throws IOException {
        Path f = tmp.resolve("private.npy");
        Npy.write(f, SHAPE, OLD);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        Npy.write(f, SHAPE, NEW);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), "0600 became another mode");
        assertArrayEquals(NEW, Npy.read(f).data());
        noTempFilesLeft();
    }

    @Test
    void aWriteProtectedFileIsRefusedForAUserWhoCannotWriteIt() throws IOException {
        assumeTrue(!root(), "root may write any file (as the shell's > does); the refusal is for other users");
        Path f = tmp.resolve("ro.npy");
        Npy.write(f, SHAPE, OLD);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("r--r--r--"));
        SpatialActException e = assertThrows(SpatialActException.class, () -> Npy.write(f, SHAPE, NEW));
        assertTrue(e.getMessage().contains("permission denied"), e.getMessage());
        assertArrayEquals(OLD, Npy.read(f).data());
    }

    @Test
    void aNameNearTheFileNameLimitWorks() throws IOException {
        Path f = tmp.resolve("x".repeat(251) + ".npy");  // 255 bytes, the usual NAME_MAX
        Npy.write(f, SHAPE, NEW);
        Npy.write(f, SHAPE, NEW);  // and replacing it
        assertArrayEquals(NEW, Npy.read(f).data());
        noTempFilesLeft();
    }

    @Test
    void aFifoIsWrittenInPlaceAndReadAsAStream() throws Exception {
        Path fifo = tmp.resolve("pipe.npy");
        assumeTrue(run("mkfifo", fifo.toString()) == 0, "mkfifo is not available");
        byte[] want = expectedBytes(tmp);
        // writing: the reader gets the file's bytes, and the FIFO stays a FIFO
        AtomicReference<byte[]> got = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try (InputStream in = Files.newInputStream(fifo)) {
                got.set(in.readAllBytes());
            } catch (IOException e) {
                got.set(new byte[0]);
            }
        });
        reader.start();
        Npy.write(fifo, SHAPE, NEW);
        reader.join(10_000);
        assertArrayEquals(want, got.get(), "the FIFO's reader did not get the data");
        assertFalse(Files.isRegularFile(fifo), "the FIFO was replaced by a regular file");
        // reading: a FIFO as input (it was "empty file")
        Thread writer = new Thread(() -> {
            try (OutputStream out = Files.newOutputStream(fifo)) {
                out.write(want);
            } catch (IOException ignored) {
                // the assertion below reports it
            }
        });
        writer.start();
        assertArrayEquals(NEW, Npy.read(fifo).data());
        writer.join(10_000);
        noTempFilesLeft();
    }

    @Test
    void aDeviceNodeIsWrittenInPlace() throws Exception {
        // Our own node of the null device (as root): if this regressed, only the test's node
        // would be replaced, never the machine's /dev/null.
        Path node = tmp.resolve("null");
        assumeTrue(root() && run("mknod", node.toString(), "c", "1", "3") == 0, "mknod (root) is not available");
        Npy.write(node, SHAPE, NEW);
        assertFalse(Files.isRegularFile(node), "the device node was replaced by a regular file");
        assertEquals(0, Files.size(node));
        noTempFilesLeft();
    }

    @Test
    void aDirectoryIsRefused() {
        SpatialActException e = assertThrows(SpatialActException.class, () -> Npy.write(tmp, SHAPE, NEW));
        assertTrue(e.getMessage().contains("directory"), e.getMessage());
    }
}
