package dev.spatialact.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spatialact.SpatialAct;
import dev.spatialact.io.Npy;

/**
 * The bad-input campaign of issue "Hardening II", re-run on every build: the CLI's apply with
 * every operator and every option given bad values, mutated and truncated .npy inputs, output
 * paths that are links, FIFOs, directories and protected files, and an NTD call over the
 * workspace budget, all in this JVM (a JVM crash ends the run). Every case must end with exit 0,
 * or exit 1 / 2 with one clear "error: " line and no stack trace; no Throwable may escape; a
 * failed case leaves the previous output byte for byte; a link or special file is never
 * replaced. Prints "campaign: N cases, ..." with the count per outcome.
 */
class CampaignTest {
    static final long SEED = 20261201L;

    @TempDir
    Path tmp;

    int cases, ok, failures, usages;
    final List<String> problems = new ArrayList<>();

    static final byte[] OLD = "previous output, must survive a failed run".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Runs one case; out is the output path whose previous bytes must survive a failure. */
    void run(String what, Path out, String... args) {
        cases++;
        CliTest.Result r;
        try {
            r = CliTest.run(args);
        } catch (Throwable t) {
            problems.add(what + ": " + t + " escaped Main.run");
            return;
        }
        String err = r.err();
        if (r.code() == 0) {
            ok++;
        } else if (r.code() == 1 || r.code() == 2) {
            if (r.code() == 1) failures++;
            else usages++;
            String[] lines = err.split("\n");
            boolean clear = lines.length >= 1 && lines[0].startsWith("error: ") && !err.contains("\tat ")
                    && (lines.length == 1 || (r.code() == 2 && lines.length == 2 && lines[1].startsWith("run ")));
            if (!clear) problems.add(what + ": not one clear line: " + err);
            if (out != null && Files.isRegularFile(out, LinkOption.NOFOLLOW_LINKS)) {
                try {
                    if (!Arrays.equals(OLD, Files.readAllBytes(out))) problems.add(what + ": the previous output changed");
                } catch (IOException e) {
                    problems.add(what + ": " + e);
                }
            }
        } else {
            problems.add(what + ": exit " + r.code() + ": " + err);
        }
    }

    Path oldOutput(String name) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, OLD);
        return p;
    }

    static byte[] npy(long[] shape, float[] data) throws IOException {
        Path t = Files.createTempFile("campaign", ".npy");
        try {
            Npy.write(t, shape, data);
            return Files.readAllBytes(t);
        } finally {
            Files.delete(t);
        }
    }

    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    static final String[] BAD_VALUES = {"", "x", "NaN", "-Infinity", "1e400", "-1", "0", "0x10", "1f", "\uFF11", "99999999999", "1.5", "-0.0", "3e38", "1,5"};

    @Test
    void campaign() throws Exception {
        Random rnd = new Random(SEED);
        Path x = tmp.resolve("x.npy"), guide = tmp.resolve("g.npy");
        Files.write(x, npy(new long[] {1, 3, 9, 11}, random(rnd, 3 * 9 * 11)));
        Files.write(guide, npy(new long[] {1, 2, 9, 11}, random(rnd, 2 * 9 * 11)));
        Path weights = tmp.resolve("weights");
        dev.spatialact.io.FReLUWeights.random(3, 3, false, 1).save(weights);

        // 1. every operator, every option, bad values
        for (Ops.Spec spec : Ops.all()) {
            List<String> base = new ArrayList<>(List.of("apply", spec.name(), "--input", x.toString()));
            if (spec.twoInputs()) base.addAll(List.of("--input2", x.toString()));
            for (Ops.Option o : spec.options()) {
                for (String v : BAD_VALUES) {
                    Path out = oldOutput("o.npy");
                    List<String> a = new ArrayList<>(base);
                    a.addAll(List.of("--out", out.toString()));
                    if (spec.name().startsWith("frelu") && !o.name().equals("weights") && !o.name().equals("random-weights"))
                        a.addAll(List.of("--random-weights", "1"));
                    a.addAll(List.of("--" + o.name(), v));
                    run(spec.name() + " --" + o.name() + " '" + v + "'", out, a.toArray(new String[0]));
                }
            }
            // repeated, unknown and missing options
            Path out = oldOutput("o.npy");
            run(spec.name() + " unknown option", out, concat(base, "--out", out.toString(), "--no-such", "1"));
            run(spec.name() + " no --out", null, base.toArray(new String[0]));
            run(spec.name() + " --out twice", out, concat(base, "--out", out.toString(), "--out", out.toString()));
        }

        // 2. mutated and truncated inputs
        byte[] good = Files.readAllBytes(x);
        for (int cut = 0; cut < 140; cut += 3) {
            Path bad = tmp.resolve("cut.npy"), out = oldOutput("o.npy");
            Files.write(bad, Arrays.copyOf(good, cut));
            run("truncated at " + cut, out, "apply", "td-lrelu", "--input", bad.toString(), "--out", out.toString());
        }
        for (int i = 0; i < 120; i++) {
            byte[] m = good.clone();
            int flips = 1 + rnd.nextInt(4);
            for (int f = 0; f < flips; f++) m[rnd.nextInt(Math.min(m.length, 128))] = (byte) rnd.nextInt(256);
            Path bad = tmp.resolve("mut.npy"), out = oldOutput("o.npy");
            Files.write(bad, m);
            run("mutated header " + i, out, "apply", i % 2 == 0 ? "frelu" : "ntd-lrelu", "--input", bad.toString(), "--out", out.toString(),
                    i % 2 == 0 ? "--random-weights" : "--iterations", "1");
        }
        for (long[] shape : new long[][] {{}, {7}, {1, 1, 1, 1, 1}, {0, 3, 4, 4}, {2, 3}, {1, 1, 1}}) {
            Path f = tmp.resolve("shape.npy"), out = oldOutput("o.npy");
            int n = 1;
            for (long d : shape) n *= (int) d;
            Files.write(f, npy(shape, random(rnd, n)));
            run("shape " + Arrays.toString(shape), out, "apply", "frelu", "--random-weights", "1", "--input", f.toString(), "--out", out.toString());
        }
        Path wrongGuide = tmp.resolve("wg.npy");
        Files.write(wrongGuide, npy(new long[] {2, 2, 9, 11}, random(rnd, 4 * 9 * 11)));
        Path out0 = oldOutput("o.npy");
        run("guide of another batch", out0, "apply", "ntd-lrelu", "--input", x.toString(), "--guide", wrongGuide.toString(), "--out", out0.toString());
        run("guide is a directory", out0, "apply", "ntd-lrelu", "--input", x.toString(), "--guide", tmp.toString(), "--out", out0.toString());
        run("weights folder missing", out0, "apply", "frelu", "--weights", tmp.resolve("none").toString(), "--input", x.toString(), "--out", out0.toString());
        run("weights of 3 channels on 3", out0, "apply", "frelu", "--weights", weights.toString(), "--input", x.toString(), "--out", out0.toString());
        Files.write(out0, OLD);

        // 3. outputs: links and special files are written through, never replaced
        Path target = oldOutput("target.npy"), link = tmp.resolve("link.npy");
        Files.createSymbolicLink(link, target);
        run("symlink", null, "apply", "relu", "--input", x.toString(), "--out", link.toString());
        check(Files.isSymbolicLink(link), "the symlink was replaced");
        check(Npy.read(target).size() == 297, "the symlink's target was not written");
        Path dangling = tmp.resolve("dangling.npy");
        Files.createSymbolicLink(dangling, tmp.resolve("made-by-link.npy"));
        run("dangling symlink", null, "apply", "relu", "--input", x.toString(), "--out", dangling.toString());
        check(Files.isSymbolicLink(dangling) && Files.exists(tmp.resolve("made-by-link.npy")), "the dangling symlink was replaced");
        Path hard = oldOutput("hard.npy"), hard2 = tmp.resolve("hard2.npy");
        Files.createLink(hard2, hard);
        run("hard link", null, "apply", "relu", "--input", x.toString(), "--out", hard.toString());
        check(Arrays.equals(Files.readAllBytes(hard), Files.readAllBytes(hard2)), "the hard link was broken");
        Path priv = oldOutput("private.npy");
        Files.setPosixFilePermissions(priv, PosixFilePermissions.fromString("rw-------"));
        run("0600 file", null, "apply", "relu", "--input", x.toString(), "--out", priv.toString());
        check(PosixFilePermissions.toString(Files.getPosixFilePermissions(priv)).equals("rw-------"), "the file's mode changed");
        run("output is a directory", null, "apply", "relu", "--input", x.toString(), "--out", tmp.toString());
        run("output directory missing", null, "apply", "relu", "--input", x.toString(), "--out", tmp.resolve("no/dir/o.npy").toString());
        Path fifo = tmp.resolve("fifo");
        if (new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0) {
            byte[][] got = new byte[1][];
            Thread reader = new Thread(() -> {
                try (InputStream in = Files.newInputStream(fifo)) {
                    got[0] = in.readAllBytes();
                } catch (IOException e) {
                    got[0] = new byte[0];
                }
            });
            reader.start();
            run("FIFO", null, "apply", "relu", "--input", x.toString(), "--out", fifo.toString());
            reader.join(30_000);
            check(got[0] != null && got[0].length > 297 * 4, "the FIFO's reader got " + (got[0] == null ? "nothing" : got[0].length + " bytes"));
            check(!Files.isRegularFile(fifo, LinkOption.NOFOLLOW_LINKS), "the FIFO was replaced by a regular file");
        }
        if ("root".equals(System.getProperty("user.name"))) {
            Path dev = tmp.resolve("null");  // our own null device, never the system's
            if (new ProcessBuilder("mknod", "-m", "666", dev.toString(), "c", "1", "3").start().waitFor() == 0) {
                run("character device", null, "apply", "relu", "--input", x.toString(), "--out", dev.toString());
                check(!Files.isRegularFile(dev, LinkOption.NOFOLLOW_LINKS), "the device node was replaced");
            }
        }

        // 4. over the workspace budget: OUT_OF_MEMORY before allocating, the output intact
        long savedLimit = SpatialAct.cpuWorkspaceLimit();
        try {
            SpatialAct.setCpuWorkspaceLimit(1 << 16);
            Path big = tmp.resolve("big.npy"), out = oldOutput("o.npy");
            Files.write(big, npy(new long[] {1, 2, 128, 128}, random(rnd, 2 * 128 * 128)));
            run("NTD over the budget", out, "apply", "ntd-lrelu", "--input", big.toString(), "--out", out.toString());
            check(Arrays.equals(OLD, Files.readAllBytes(out)), "NTD over the budget wrote the output");
        } finally {
            SpatialAct.setCpuWorkspaceLimit(0);
            check(SpatialAct.cpuWorkspaceLimit() == savedLimit, "the budget was not restored");
        }

        System.out.printf("campaign: %d cases: %d ran, %d failed cleanly (exit 1), %d usage errors (exit 2); %d problems%n",
                cases, ok, failures, usages, problems.size());
        for (String p : problems.subList(0, Math.min(20, problems.size()))) System.out.println("  " + p);
        assertTrue(cases > 600, "campaign too small: " + cases);
        assertEquals(List.of(), problems, "seed " + SEED);
    }

    /**
     * The permission cases as an unprivileged user (they cannot fail for root): run as root, this
     * starts the CLI in child JVMs as "nobody" (setpriv), from a copy of the class path that user
     * can read. Each must exit 1 with one line that says why (mode, owner, user), and leave the
     * files as they were; the JavaCPP-cache failure names the directory.
     */
    @Test
    void permissionsAsAnotherUser() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root to switch users");
        org.junit.jupiter.api.Assumptions.assumeTrue(new ProcessBuilder("setpriv", "--version").start().waitFor() == 0, "no setpriv");
        Path shared = Files.createTempDirectory("sa-campaign");
        try {
            Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
            StringBuilder cp = new StringBuilder();
            int k = 0;
            for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
                Path src = Path.of(e), dst = shared.resolve("cp" + k++);
                if (Files.isDirectory(src)) copyTree(src, dst);
                else if (Files.exists(src)) Files.copy(src, dst);
                else continue;
                if (cp.length() > 0) cp.append(java.io.File.pathSeparator);
                cp.append(dst);
            }
            new ProcessBuilder("chmod", "-R", "a+rX", shared.toString()).start().waitFor();
            Path x = shared.resolve("x.npy");
            Files.write(x, npy(new long[] {1, 1, 4, 4}, random(new Random(SEED), 16)));
            Path secret = shared.resolve("secret.npy");
            Files.copy(x, secret);
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
            Path roDir = Files.createDirectory(shared.resolve("ro"));
            Path inRo = roDir.resolve("o.npy"), inRoWritable = roDir.resolve("w.npy");
            Files.write(inRo, OLD);
            Files.write(inRoWritable, OLD);
            Files.setPosixFilePermissions(inRoWritable, PosixFilePermissions.fromString("rw-rw-rw-"));
            Files.setPosixFilePermissions(roDir, PosixFilePermissions.fromString("r-xr-xr-x"));
            Path roFile = shared.resolve("ro.npy");
            Files.write(roFile, OLD);
            Files.setPosixFilePermissions(roFile, PosixFilePermissions.fromString("r--r--r--"));
            Path cache = shared.resolve("cache");
            Files.createDirectory(cache);
            Path writable = shared.resolve("w.npy");
            Object[][] cases = {
                {"unreadable input", List.of("--input", secret.toString(), "--out", writable.toString()), null, "cannot be read by user nobody (it is rw-------"},
                {"a new output in a read-only directory", List.of("--input", x.toString(), "--out", roDir.resolve("new.npy").toString()), null,
                    "the directory " + roDir + " cannot be written"},
                {"a root-owned output", List.of("--input", x.toString(), "--out", inRo.toString()), inRo, "cannot be written by user nobody (it is rw-r--r--"},
                {"write-protected output", List.of("--input", x.toString(), "--out", roFile.toString()), roFile, "cannot be written by user nobody (it is r--r--r--"},
            };
            for (Object[] c : cases) {
                @SuppressWarnings("unchecked")
                List<String> args = (List<String>) c[1];
                List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Dorg.bytedeco.javacpp.cachedir=" + cache,
                        "-cp", cp.toString(), "dev.spatialact.cli.Main", "apply", "relu"));
                cmd.addAll(args);
                check(c[0] + ": exit 1, \"" + c[3] + "\"", 1, String.valueOf(c[3]), cmd);
                if (c[2] != null) check(Arrays.equals(OLD, Files.readAllBytes((Path) c[2])), c[0] + ": the file changed");
            }
            // A writable file in a read-only directory: written in place (as the shell's > would).
            List<String> inPlace = List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Dorg.bytedeco.javacpp.cachedir=" + cache,
                    "-cp", cp.toString(), "dev.spatialact.cli.Main", "apply", "relu", "--input", x.toString(), "--out", inRoWritable.toString());
            this.cases++;
            Process p = new ProcessBuilder(inPlace).redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (p.waitFor() != 0 || Npy.read(inRoWritable).size() != 16) problems.add("writable file in a read-only directory: " + text);
            // The cache cannot be made: nobody's home (/nonexistent) and a read-only cache dir.
            List<String> cmd = List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Dorg.bytedeco.javacpp.cachedir=" + roDir.resolve("cache"), "-Djava.io.tmpdir=" + roDir,
                    "-cp", cp.toString(), "dev.spatialact.cli.Main", "apply", "relu", "--input", x.toString(), "--out", writable.toString());
            check("cache cannot be made", 1, "could not create its cache directory " + roDir.resolve("cache"), cmd);
            assertEquals(List.of(), problems);
        } finally {
            new ProcessBuilder("chmod", "-R", "u+rwX", shared.toString()).start().waitFor();
            new ProcessBuilder("rm", "-rf", shared.toString()).start().waitFor();
        }
    }

    void check(String what, int code, String needle, List<String> cmd) throws Exception {
        cases++;
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        int rc = p.waitFor();
        if (rc != code || !text.startsWith("error: ") || !text.contains(needle) || text.contains("\tat "))
            problems.add(what + ": exit " + rc + ": " + text);
    }

    static void copyTree(Path src, Path dst) throws IOException {
        try (java.util.stream.Stream<Path> s = Files.walk(src)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
    }

    void check(boolean condition, String problem) {
        if (!condition) problems.add(problem);
    }

    static String[] concat(List<String> base, String... more) {
        List<String> a = new ArrayList<>(base);
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }
}
