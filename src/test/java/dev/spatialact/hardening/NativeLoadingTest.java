package dev.spatialact.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spatialact.internal.NativeLoader;

/**
 * Issue "Hardening", items 3 (several JVMs, one cache) and 5 (loading failures), each in fresh
 * child JVMs running {@link LoadAndApplyMain}.
 */
class NativeLoadingTest {
    static final String PLATFORM = "linux-x86_64";
    static final int JVMS = 4;
    static final int ROUNDS = Integer.getInteger("sa.loading.rounds", 2);

    @TempDir
    Path tmp;

    static String cp(List<Path> entries) {
        return entries.stream().map(Path::toString).collect(Collectors.joining(java.io.File.pathSeparator));
    }

    /** The jar the build would ship: target/classes (classes and native libraries) zipped. */
    static Path jarOf(Path classes, Path jar) throws IOException {
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out);
                Stream<Path> files = Files.walk(classes)) {
            for (Path p : (Iterable<Path>) files.sorted()::iterator) {
                String name = classes.relativize(p).toString().replace('\\', '/');
                if (name.isEmpty()) continue;
                if (Files.isDirectory(p)) {
                    j.putNextEntry(new JarEntry(name + "/"));
                } else {
                    j.putNextEntry(new JarEntry(name));
                    Files.copy(p, j);
                }
                j.closeEntry();
            }
        }
        return jar;
    }

    /** The jar under test: the API's jar, or target/classes zipped (what the build's jar carries). */
    Path apiJar() throws IOException {
        Path api = ChildJvm.mainClasses();
        return Files.isDirectory(api) ? jarOf(api, tmp.resolve("spatialact-under-test.jar")) : api;
    }

    /** A native library of this platform as built (from target/classes or from the jar). */
    static byte[] nativeLibrary(String file) throws IOException {
        Path api = ChildJvm.mainClasses();
        String entry = "dev/spatialact/internal/" + PLATFORM + "/" + file;
        if (Files.isDirectory(api)) return Files.readAllBytes(api.resolve(entry));
        try (java.util.jar.JarFile jar = new java.util.jar.JarFile(api.toFile())) {
            JarEntry e = jar.getJarEntry(entry);
            if (e == null) throw new java.io.FileNotFoundException(entry + " in " + api);
            try (java.io.InputStream in = jar.getInputStream(e)) {
                return in.readAllBytes();
            }
        }
    }

    /** The class path of a child that loads from a jar: the jar, the test classes, JavaCPP. */
    static List<Path> jarClassPath(Path jar) {
        List<Path> cp = new ArrayList<>();
        cp.add(jar);
        cp.add(ChildJvm.testClasses());
        cp.addAll(ChildJvm.javacppJars());
        return cp;
    }

    /** The class path of a child that loads from target/classes (or from the override). */
    static List<Path> classesClassPath() {
        List<Path> cp = new ArrayList<>();
        cp.add(ChildJvm.mainClasses());
        cp.add(ChildJvm.testClasses());
        cp.addAll(ChildJvm.javacppJars());
        return cp;
    }

    @Test
    void fourJvmsLoadAtOnceFromOneEmptyCache() throws Exception {
        String expected = LoadAndApplyMain.checksum();  // this JVM, loaded from target/classes
        Path jar = apiJar();
        for (int round = 0; round < ROUNDS; round++) {
            Path cache = Files.createDirectories(tmp.resolve("javacpp-cache-" + round));
            long startAt = System.currentTimeMillis() + 2500;  // all JVMs up before any loads
            List<Process> ps = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < JVMS; i++) {
                ps.add(ChildJvm.start(List.of("-Dorg.bytedeco.javacpp.cachedir=" + cache), cp(jarClassPath(jar)),
                        LoadAndApplyMain.class, List.of("apply", Long.toString(startAt)), java.util.Map.of()));
            }
            List<ChildJvm.Result> rs = new ArrayList<>();
            for (int i = 0; i < JVMS; i++) rs.add(ChildJvm.finish(ps.get(i), t0, 120, "jvm" + round + "." + i));
            for (ChildJvm.Result r : rs) {
                assertEquals(0, r.exitCode(), "a JVM failed to load or apply:\n" + r.output());
                assertEquals(expected, r.value("checksum"), "checksum differs:\n" + r.output());
            }
            List<Path> extracted;
            try (Stream<Path> s = Files.walk(cache)) {
                extracted = s.filter(p -> p.getFileName().toString().startsWith("libjnispatialact")).collect(Collectors.toList());
            }
            assertFalse(extracted.isEmpty(), "the JVMs did not load through the JavaCPP cache " + cache);
            System.out.println("loading: round " + round + ": " + JVMS + " JVMs, one empty cache, checksum " + expected
                    + ", libraries extracted to " + extracted);
        }
    }

    /** Runs LoadAndApplyMain fail with these flags and checks the common part of the report. */
    ChildJvm.Result expectLoadFailure(List<String> flags, String label) {
        ChildJvm.Result r = ChildJvm.run(flags, cp(classesClassPath()), LoadAndApplyMain.class, List.of("fail"), 120, label);
        assertEquals(0, r.exitCode(), "expected a SpatialActException at the first use:\n" + r.output());
        assertEquals("BACKEND_UNAVAILABLE", r.value("code"));
        String msg = r.value("message");
        assertNotNull(msg);
        assertTrue(msg.contains(NativeLoader.PATH_PROPERTY), "the message should name the override property: " + msg);
        assertFalse(r.value("causes").isEmpty(), "the cause must be chained: " + r.output());
        assertTrue(r.value("second").startsWith("BACKEND_UNAVAILABLE"), "a second use must fail the same way: " + r.output());
        assertEquals("false", r.value("cpuAvailable"), "no fallback: the CPU backend must say it is unavailable");
        return r;
    }

    @Test
    void overrideToANonexistentDirectory() {
        ChildJvm.Result r = expectLoadFailure(List.of("-D" + NativeLoader.PATH_PROPERTY + "=/nonexistent"), "nonexistent");
        String msg = r.value("message");
        assertTrue(msg.contains(PLATFORM), "the message should name the platform: " + msg);
        assertTrue(msg.contains("/nonexistent"), msg);
        assertTrue(r.value("causes").contains("java.io.FileNotFoundException"), r.value("causes"));
    }

    @Test
    void aLibraryThatIsNotALibrary() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("badlib"));
        Files.writeString(dir.resolve("libspatialact.so"), "this is not an ELF shared object\n");
        Files.write(dir.resolve("libjnispatialact.so"), nativeLibrary("libjnispatialact.so"));
        ChildJvm.Result r = expectLoadFailure(List.of("-D" + NativeLoader.PATH_PROPERTY + "=" + dir), "badlib");
        String msg = r.value("message");
        assertTrue(msg.contains(PLATFORM), "the message should name the platform: " + msg);
        assertTrue(r.value("causes").contains("java.lang.UnsatisfiedLinkError"), r.value("causes"));
        assertTrue(msg.contains("UnsatisfiedLinkError"), msg);
    }

    @Test
    void aMissingLibraryBesideTheJniGlue() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("halflib"));
        Files.write(dir.resolve("libjnispatialact.so"), nativeLibrary("libjnispatialact.so"));
        ChildJvm.Result r = expectLoadFailure(List.of("-D" + NativeLoader.PATH_PROPERTY + "=" + dir), "halflib");
        assertTrue(r.value("message").contains("libspatialact.so"), r.value("message"));
    }

    @Test
    void aJvmOfAnotherPlatformIsToldWhichOneItIs() {
        // os.arch as an arm64 JVM reports it: JavaCPP looks for linux-arm64 libraries, the jar has none.
        ChildJvm.Result r = ChildJvm.run(List.of("-Dos.arch=aarch64"), cp(classesClassPath()), LoadAndApplyMain.class,
                List.of("fail"), 120, "arm64");
        org.junit.jupiter.api.Assumptions.assumeFalse(r.exitCode() == 3, "this JVM ignores -Dos.arch: the library loaded");
        assertEquals(0, r.exitCode(), r.output());
        assertEquals("BACKEND_UNAVAILABLE", r.value("code"));
        assertTrue(r.value("message").contains("linux-arm64"), r.value("message"));
        assertTrue(r.value("message").contains(NativeLoader.PATH_PROPERTY), r.value("message"));
        assertTrue(r.value("message").contains("spatialact-platform") && r.value("message").contains("classifier linux-arm64")
                && r.value("message").contains("native jars exist for linux-x86_64 only"), r.value("message"));
        assertFalse(r.value("causes").isEmpty());
    }

    @Test
    void theClassesJarWithoutItsPlatformJarSaysWhichToAdd() throws IOException {
        // The classes jar alone (what dev.spatialact:spatialact without a classifier gives).
        Path classes = tmp.resolve("classes-only");
        try (Stream<Path> files = Files.walk(ChildJvm.mainClasses())) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String rel = ChildJvm.mainClasses().relativize(p).toString();
                if (rel.startsWith("dev/spatialact/internal/" + PLATFORM)) continue;
                Path t = classes.resolve(rel);
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
        List<Path> entries = new ArrayList<>(List.of(jarOf(classes, tmp.resolve("spatialact-classes.jar")), ChildJvm.testClasses()));
        entries.addAll(ChildJvm.javacppJars());
        ChildJvm.Result r = ChildJvm.run(List.of(), cp(entries), LoadAndApplyMain.class, List.of("fail"), 120, "classes-only");
        assertEquals(0, r.exitCode(), r.output());
        assertEquals("BACKEND_UNAVAILABLE", r.value("code"));
        String msg = r.value("message");
        assertTrue(msg.contains("no native libraries for " + PLATFORM + " on the class path") && msg.contains("dev.spatialact:spatialact-platform")
                && msg.contains("classifier " + PLATFORM) && msg.contains(NativeLoader.PATH_PROPERTY), msg);
    }

    @Test
    void overrideToTheBuiltLibrariesWorks() throws IOException {
        // target/classes/dev/spatialact/internal/linux-x86_64 under Maven; the jar's copies in a bundle.
        Path dir = ChildJvm.mainClasses().resolve("dev/spatialact/internal/" + PLATFORM);
        if (!Files.isDirectory(dir)) {
            dir = Files.createDirectories(tmp.resolve("override"));
            for (String f : new String[] {"libspatialact.so", "libjnispatialact.so"}) Files.write(dir.resolve(f), nativeLibrary(f));
        }
        ChildJvm.Result r = ChildJvm.run(List.of("-D" + NativeLoader.PATH_PROPERTY + "=" + dir), cp(classesClassPath()),
                LoadAndApplyMain.class, List.of("apply"), 120, "override");
        assertEquals(0, r.exitCode(), r.output());
        assertEquals(LoadAndApplyMain.checksum(), r.value("checksum"));
    }
}
