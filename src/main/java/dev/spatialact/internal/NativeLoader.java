package dev.spatialact.internal;

import java.nio.file.Files;
import java.nio.file.Path;

import dev.spatialact.SpatialActException;

/**
 * Loads the native library once per class loader. By default JavaCPP extracts it from the jar
 * (or finds it in target/classes) into its cache; the system property
 * {@value #PATH_PROPERTY} names a directory holding {@code libspatialact.so} and
 * {@code libjnispatialact.so} to load instead (a build of your own, a sanitizer build). A failure
 * is kept and rethrown, with its cause, on every later use: there is no fallback that would
 * change results.
 */
public final class NativeLoader {
    /** System property: a directory to load the native libraries from instead of the jar. */
    public static final String PATH_PROPERTY = "spatialact.library.path";

    private static volatile boolean loaded;
    private static volatile SpatialActException failure;

    private NativeLoader() {}

    /** Loads the library if needed; throws the (kept) load failure otherwise. */
    public static void ensureLoaded() {
        if (loaded) return;
        SpatialActException f = failure;
        if (f != null) throw rethrown(f);
        synchronized (NativeLoader.class) {
            if (loaded) return;
            if (failure != null) throw rethrown(failure);
            try {
                load();
                loaded = true;
            } catch (Throwable t) {
                failure = new SpatialActException(SpatialActException.Code.BACKEND_UNAVAILABLE, explain(t), t);
                throw rethrown(failure);
            }
        }
    }

    /** True once the library is loaded; never throws. */
    public static boolean isLoaded() {
        if (loaded) return true;
        try {
            ensureLoaded();
            return true;
        } catch (SpatialActException e) {
            return false;
        }
    }

    /** The load failure, or null. */
    public static SpatialActException failure() {
        return failure;
    }

    /** The JavaCPP platform name of this JVM, e.g. linux-x86_64. */
    public static String platform() {
        String os = System.getProperty("os.name", "?").toLowerCase();
        String arch = System.getProperty("os.arch", "?");
        String o = os.startsWith("linux") ? "linux" : os.startsWith("mac") ? "macosx" : os.startsWith("windows") ? "windows" : os;
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64" : arch.equals("aarch64") ? "arm64" : arch;
        return o + "-" + a;
    }

    private static String describeSource() {
        String dir = System.getProperty(PATH_PROPERTY);
        if (dir != null) return "from " + PATH_PROPERTY + "=" + dir;
        return "from the class path";
    }

    /** The platforms that have a native jar (the classifiers of dev.spatialact:spatialact). */
    public static final String BUILT_PLATFORMS = "linux-x86_64";

    /** No jar on the class path carries this platform's native libraries. */
    static final class MissingPlatformJar extends Exception {
        private static final long serialVersionUID = 1L;

        MissingPlatformJar(String platform) {
            super("no native libraries for " + platform + " on the class path: add the dependency dev.spatialact:spatialact-platform"
                    + " (every built platform) or dev.spatialact:spatialact with classifier " + platform
                    + (BUILT_PLATFORMS.contains(platform) ? "" : " (not built: native jars exist for " + BUILT_PLATFORMS + " only)")
                    + "; or set -D" + PATH_PROPERTY + "=DIR to a directory with libspatialact.so and libjnispatialact.so built for it");
        }
    }

    /**
     * The message of a load failure, naming its real cause where it is a known one. JavaCPP
     * extracts the libraries into its cache directory before loading them; when it cannot create
     * that directory it says "Could not create the cache", wrapped in an UnsatisfiedLinkError
     * that reads like a missing or foreign library.
     */
    public static String explain(Throwable t) {
        String head = "spatialact: cannot load the native library for platform " + platform() + " (" + describeSource() + "): ";
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String m = String.valueOf(c.getMessage());
            if (m.contains("Could not create the cache")) {
                String prop = System.getProperty("org.bytedeco.javacpp.cachedir");
                Path cache = prop != null ? Path.of(prop) : Path.of(System.getProperty("user.home", "?"), ".javacpp", "cache");
                return head + "JavaCPP could not create its cache directory " + cache + " to extract the libraries into ("
                        + whyNotWritable(cache) + "; java.io.tmpdir " + System.getProperty("java.io.tmpdir") + " was tried too)."
                        + " Set -Dorg.bytedeco.javacpp.cachedir=DIR to a writable directory, or -D" + PATH_PROPERTY
                        + "=DIR to a directory with libspatialact.so and libjnispatialact.so.";
            }
        }
        if (t instanceof MissingPlatformJar) return head + t.getMessage() + ".";
        return head + t + ". Set -D" + PATH_PROPERTY
                + "=DIR to a directory with libspatialact.so and libjnispatialact.so built for this machine.";
    }

    /** Why a directory cannot be created or written: its nearest existing ancestor and what it is. */
    private static String whyNotWritable(Path dir) {
        Path p = dir.toAbsolutePath();
        while (p != null && !Files.exists(p)) p = p.getParent();
        if (p == null) return "no part of the path exists";
        String user = System.getProperty("user.name", "?");
        if (!Files.isDirectory(p)) return p + " is not a directory";
        if (!Files.isWritable(p))
            return p + (p.equals(dir.toAbsolutePath()) ? "" : ", the nearest existing directory,") + " is not writable by user " + user;
        return p + " exists and is writable by user " + user + " (another cause: see the exception's cause)";
    }

    private static void load() throws Exception {
        String dir = System.getProperty(PATH_PROPERTY);
        if (dir == null || dir.isEmpty()) {
            String lib = "/dev/spatialact/internal/" + platform() + "/" + System.mapLibraryName("jnispatialact");
            if (NativeLoader.class.getResource(lib) == null) throw new MissingPlatformJar(platform());
            SpatialActNative.loadFromJar();
            return;
        }
        Path d = Path.of(dir);
        Path lib = d.resolve(System.mapLibraryName("spatialact"));
        Path jni = d.resolve(System.mapLibraryName("jnispatialact"));
        for (Path p : new Path[] {lib, jni}) {
            if (!Files.isRegularFile(p)) throw new java.io.FileNotFoundException(p + " does not exist");
        }
        // JavaCPP's own JNI library must be in place before ours: initialising Pointer loads it.
        Class.forName("org.bytedeco.javacpp.Pointer", true, NativeLoader.class.getClassLoader());
        System.load(lib.toAbsolutePath().toString());
        System.load(jni.toAbsolutePath().toString());
    }

    private static SpatialActException rethrown(SpatialActException kept) {
        // A fresh exception per throw (stack traces of the caller), the kept one as its cause.
        return new SpatialActException(kept.code(), kept.getMessage(), kept);
    }
}
