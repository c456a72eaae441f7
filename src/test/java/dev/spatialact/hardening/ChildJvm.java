package dev.spatialact.hardening;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Starts child JVMs for the tests that need a process of their own (a crash must not take the
 * test JVM down, a load failure must happen in a fresh JVM, RSS must not carry the test JVM's
 * history). The child gets this JVM's {@code java}, a class path of the API, the test classes
 * and JavaCPP, and this JVM's {@code -Xcheck:jni} (and {@code --enable-native-access}) if it has
 * it, so a hardening run checks the children's JNI calls as well. The child's output is echoed to System.out (where a
 * grep for JNI warnings sees it) and returned.
 */
final class ChildJvm {
    private ChildJvm() {}

    /** What a child did. exitCode is -1 when it was killed at the timeout. */
    record Result(int exitCode, String output, long millis) {
        /** True if the JVM died of a signal or wrote an hs_err file: a crash, not an exit. */
        boolean crashed() {
            return exitCode > 128 || output.contains("A fatal error has been detected by the Java Runtime Environment");
        }

        /** The value of a "key=value" line the child printed, or null. */
        String value(String key) {
            for (String line : output.split("\n")) {
                if (line.startsWith(key + "=")) return line.substring(key.length() + 1).trim();
            }
            return null;
        }
    }

    static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Where a class was loaded from (a directory or a jar). */
    static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("no code source for " + c, e);
        }
    }

    /**
     * The class path a child needs: the API (target/classes or the jar), the test classes and the
     * JavaCPP jars. Built from the classes' code sources rather than java.class.path, which under
     * the JUnit console launcher names only the launcher.
     */
    static List<Path> classPathEntries() {
        List<Path> out = new ArrayList<>();
        out.add(mainClasses());
        out.add(testClasses());
        out.addAll(javacppJars());
        return out.stream().distinct().collect(Collectors.toList());
    }

    static String classPath() {
        return classPathEntries().stream().map(Path::toString).collect(Collectors.joining(java.io.File.pathSeparator));
    }

    /** The API's classes and native libraries: target/classes under Maven, the jar in a bundle. */
    static Path mainClasses() {
        return location(dev.spatialact.Shape.class);
    }

    /** This package's test classes (target/test-classes). */
    static Path testClasses() {
        return location(ChildJvm.class);
    }

    /** The JavaCPP jars: its classes and the jar with its JNI library for this platform. */
    static List<Path> javacppJars() {
        List<Path> out = new ArrayList<>();
        out.add(location(org.bytedeco.javacpp.Pointer.class));
        String res = "org/bytedeco/javacpp/" + org.bytedeco.javacpp.Loader.getPlatform() + "/"
                + System.mapLibraryName("jnijavacpp");
        java.net.URL u = ChildJvm.class.getClassLoader().getResource(res);
        if (u != null && u.getProtocol().equals("jar")) {
            String file = u.getPath();  // file:/...jar!/org/...
            try {
                out.add(Path.of(new java.net.URI(file.substring(0, file.indexOf("!/")))));
            } catch (java.net.URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    /** JVM flags of this JVM a child should share: -Xcheck:jni, native access and the library override, nothing of Surefire's. */
    static List<String> inheritedFlags() {
        List<String> out = new ArrayList<>();
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments())
            if (a.startsWith("-Xcheck:jni") || a.startsWith("--enable-native-access")
                    || a.startsWith("-Dspatialact.library.path=")) out.add(a);  // (the emulated GPU: scripts/emu-java.sh)
        return out;
    }

    static Process start(List<String> jvmFlags, String classPath, Class<?> main, List<String> args, Map<String, String> env) {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBin());
        cmd.addAll(inheritedFlags());
        cmd.addAll(jvmFlags);
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(main.getName());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        try {
            return pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Collects a started child's output; kills it after timeoutSeconds. */
    static Result finish(Process p, long startNanos, long timeoutSeconds, String label) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            try (InputStream in = p.getInputStream()) {
                in.transferTo(buf);
            } catch (IOException ignored) {
                // the process is gone
            }
        });
        reader.setDaemon(true);
        reader.start();
        int code;
        try {
            if (p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                code = p.exitValue();
            } else {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                code = -1;
            }
            reader.join(10_000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            code = -1;
        }
        long ms = (System.nanoTime() - startNanos) / 1_000_000;
        String out;
        synchronized (buf) {
            out = buf.toString(StandardCharsets.UTF_8);
        }
        for (String line : out.split("\n"))
            if (!line.isEmpty()) System.out.println("[" + label + "] " + line);
        System.out.println("[" + label + "] exit " + code + " after " + ms + " ms");
        return new Result(code, out, ms);
    }

    static Result run(List<String> jvmFlags, String classPath, Class<?> main, List<String> args, long timeoutSeconds, String label) {
        long t0 = System.nanoTime();
        return finish(start(jvmFlags, classPath, main, args, Map.of()), t0, timeoutSeconds, label);
    }
}
