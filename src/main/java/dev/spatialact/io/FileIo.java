package dev.spatialact.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

import dev.spatialact.SpatialActException;
import dev.spatialact.SpatialActException.Code;

/**
 * How the library writes and reads files, as a user of files expects (issue "Hardening II",
 * item 2). Writing to a path:
 * <ul>
 * <li>a symbolic link is followed: its target is written (the link stays a link);</li>
 * <li>a device node, FIFO or other special file is written in place, streaming (/dev/null stays
 *     /dev/null; a FIFO's reader gets the data);</li>
 * <li>a regular file the user may not write is refused (IO error naming the reason); one with
 *     several hard links is written in place, so every name sees the new data;</li>
 * <li>otherwise (a regular file or a new one) the data goes to a temporary file beside it, which
 *     then atomically replaces the target, keeping its permissions (and owner and group where
 *     allowed): a reader never sees half a file, a failure leaves the old file intact. The
 *     temporary file has a short name (a target name near the file-name limit works), and is
 *     removed on failure, on interruption and when the JVM exits.</li>
 * </ul>
 * Reading: a regular file is read with random access; anything else (a FIFO, a pipe such as
 * /dev/stdin) is read as a stream into memory first, up to a limit.
 */
final class FileIo {
    private FileIo() {}

    /** What writes the content, from the start, to a channel. */
    interface Body {
        void writeTo(WritableByteChannel ch) throws IOException;
    }

    /** Temporary files not yet moved into place: removed if the JVM exits first (Ctrl-C). */
    private static final Set<Path> PENDING = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path p : PENDING) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort at exit
                }
            }
        }, "spatialact-temp-cleanup"));
    }

    static void write(Path file, Body body) {
        Path target;
        try {
            target = resolveLinks(file.toAbsolutePath());
        } catch (IOException e) {
            throw io(file, "cannot write: " + e.getMessage(), e);
        }
        Path dir = target.getParent();
        if (dir != null && !Files.isDirectory(dir))
            throw io(file, "cannot write: directory " + dir + " does not exist");
        try {
            if (Files.exists(target)) {
                if (Files.isDirectory(target)) throw io(file, "cannot write: it is a directory");
                if (!Files.isRegularFile(target)) {
                    inPlace(target, body, false);  // device, FIFO, socket...: never replaced
                    return;
                }
                if (!Files.isWritable(target)) throw io(file, "cannot write: " + denied(target, "written"));
                Object links = Files.getAttribute(target, "unix:nlink");
                if (links instanceof Integer n && n > 1) {
                    inPlace(target, body, true);  // replacing would detach the other names
                    return;
                }
            }
            replace(target, body);
        } catch (AccessDeniedException e) {
            Path denied = e.getFile() == null ? target : Path.of(e.getFile());
            throw io(file, "cannot write: " + (denied.equals(target) || dir == null ? denied(target, "written")
                    : denied(dir, "written (a new file is made there, then renamed over " + target.getFileName() + ")")), e);
        } catch (IOException e) {
            throw io(file, "cannot write: " + e, e);
        }
    }

    /** The path a chain of symbolic links ends at (a dangling link: the path it names). */
    private static Path resolveLinks(Path p) throws IOException {
        for (int hops = 0; Files.isSymbolicLink(p); hops++) {
            if (hops == 40) throw new IOException("too many levels of symbolic links");
            Path link = Files.readSymbolicLink(p);
            p = p.resolveSibling(link).normalize();
        }
        return p;
    }

    private static void inPlace(Path target, Body body, boolean truncate) throws IOException {
        StandardOpenOption[] opts = truncate ? new StandardOpenOption[] {StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING}
                : new StandardOpenOption[] {StandardOpenOption.WRITE};
        try (FileChannel ch = FileChannel.open(target, opts)) {
            body.writeTo(ch);
        }
    }

    private static void replace(Path target, Body body) throws IOException {
        // Short and unique: the target's name may already be near the file-name limit.
        Path tmp = target.resolveSibling(".sa-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + ".tmp");
        PENDING.add(tmp);
        try {
            FileChannel created;
            try {
                created = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
            } catch (AccessDeniedException e) {
                // The directory is not writable, the file is: write it in place, as the shell's
                // > would (not atomic, but what this user can do; refusing would be stricter
                // than the file's own permissions).
                if (Files.isRegularFile(target) && Files.isWritable(target)) {
                    inPlace(target, body, true);
                    return;
                }
                throw e;
            }
            try (FileChannel ch = created) {
                body.writeTo(ch);
                ch.force(false);
            }
            keepAttributes(target, tmp);
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            try {
                Files.deleteIfExists(tmp);  // gone already after the move; left over after a failure
            } catch (IOException ignored) {
                // best effort
            }
            PENDING.remove(tmp);
        }
    }

    /** The replaced file's permissions, and its owner and group where this user may set them. */
    private static void keepAttributes(Path target, Path tmp) throws IOException {
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) return;
        PosixFileAttributeView view = Files.getFileAttributeView(tmp, PosixFileAttributeView.class);
        if (view == null) return;
        PosixFileAttributes old = Files.readAttributes(target, PosixFileAttributes.class);
        view.setPermissions(old.permissions());
        try {
            view.setGroup(old.group());
            view.setOwner(old.owner());
        } catch (IOException | UnsupportedOperationException notAllowed) {
            // only root may give a file away: the new file keeps this user as its owner
        }
    }

    /**
     * A channel to read the file with random access: the file itself when it is regular, else
     * (FIFO, pipe, character device) its whole content read as a stream, up to maxBytes.
     */
    /**
     * Why this process may not use p: "permission denied: DIR/NAME cannot be written by user
     * nobody (it is rw-r--r--, owner root, group root)". The same words for files and directories.
     */
    static String denied(Path p, String how) {
        String who = System.getProperty("user.name", "?");
        try {
            PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class);
            return "permission denied: " + (a.isDirectory() ? "the directory " : "") + p + " cannot be " + how + " by user " + who
                    + " (it is " + PosixFilePermissions.toString(a.permissions()) + ", owner "
                    + a.owner().getName() + ", group " + a.group().getName() + ")";
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return "permission denied: " + p + " cannot be " + how + " by user " + who
                    + " (nor can its permissions be read: a directory above it is not searchable)";
        }
    }

    static SeekableByteChannel openForReading(Path file, long maxBytes) throws IOException {
        if (Files.isRegularFile(file) || !Files.exists(file)) return FileChannel.open(file, StandardOpenOption.READ);
        try (InputStream in = Files.newInputStream(file)) {
            byte[] all = in.readNBytes((int) Math.min(maxBytes + 1, Integer.MAX_VALUE - 8));
            if (all.length > maxBytes) throw new IOException("the stream is longer than the " + maxBytes + " bytes this reader accepts");
            return new Bytes(all);
        }
    }

    /** A read-only in-memory SeekableByteChannel. */
    private static final class Bytes implements SeekableByteChannel {
        private final byte[] b;
        private long pos;
        private boolean open = true;

        Bytes(byte[] b) {
            this.b = b;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (!open) throw new ClosedChannelException();
            if (pos >= b.length) return -1;
            int n = (int) Math.min(dst.remaining(), b.length - pos);
            dst.put(b, (int) pos, n);
            pos += n;
            return n;
        }

        @Override public int write(ByteBuffer src) { throw new NonWritableChannelException(); }
        @Override public long position() { return pos; }
        @Override public SeekableByteChannel position(long p) { pos = p; return this; }
        @Override public long size() { return b.length; }
        @Override public SeekableByteChannel truncate(long size) { throw new NonWritableChannelException(); }
        @Override public boolean isOpen() { return open; }
        @Override public void close() { open = false; }
    }

    static SpatialActException io(Path file, String problem) {
        return new SpatialActException(Code.IO, file + ": " + problem);
    }

    static SpatialActException io(Path file, String problem, Throwable cause) {
        return new SpatialActException(Code.IO, file + ": " + problem, cause);
    }
}
