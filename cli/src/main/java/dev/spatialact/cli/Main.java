package dev.spatialact.cli;

import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

import dev.spatialact.Backend;
import dev.spatialact.Shape;
import dev.spatialact.SpatialAct;
import dev.spatialact.SpatialActException;
import dev.spatialact.SpatialActException.Code;
import dev.spatialact.io.Npy;

/**
 * The command-line tool: {@code apply}, {@code demo}, {@code study}, {@code info}. {@link #run}
 * returns the exit code (0 ok, 1 failure, 2 usage error) and never calls System.exit; {@link #main} does.
 */
public final class Main {
    private Main() {}

    static final String PROG = "java -jar spatialact-cli.jar";
    public static final int OK = 0, FAILURE = 1, USAGE = 2;

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the tool; returns the exit code. Messages go to out, errors to err. */
    public static int run(String[] argv, PrintStream out, PrintStream err) {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        boolean verbose = Arrays.asList(argv).contains("--verbose") || Arrays.asList(argv).contains("-v");
        try {
            Args a = Args.parse(argv);
            if (a.positional.isEmpty()) {
                if (a.flag("version")) {
                    out.println(version());
                    return OK;
                }
                if (a.flag("help")) {
                    out.print(usage());
                    return OK;
                }
                err.print(usage());
                return USAGE;
            }
            String cmd = a.positional.get(0);
            switch (cmd) {
                case "apply":
                    if (a.flag("help")) {
                        out.print(a.positional.size() > 1 && Ops.get(a.positional.get(1)) != null
                                ? opUsage(Ops.get(a.positional.get(1))) : applyUsage());
                        return OK;
                    }
                    return apply(a, out);
                case "demo":
                    if (a.flag("help")) {
                        out.print(demoUsage());
                        return OK;
                    }
                    return Demo.run(a, out);
                case "study":
                    if (a.flag("help")) {
                        out.print(Study.usage());
                        return OK;
                    }
                    return Study.cli(a, out, err);
                case "info":
                    if (a.flag("help")) {
                        out.println("usage: " + PROG + " info\n  prints the versions and what each backend is (or why it is unavailable)");
                        return OK;
                    }
                    a.allowOnly(List.of(), "info");
                    return info(out);
                case "help":
                    out.print(a.positional.size() > 1 && Ops.get(a.positional.get(1)) != null ? opUsage(Ops.get(a.positional.get(1)))
                            : a.positional.size() > 1 && a.positional.get(1).equals("apply") ? applyUsage()
                            : a.positional.size() > 1 && a.positional.get(1).equals("demo") ? demoUsage()
                            : a.positional.size() > 1 && a.positional.get(1).equals("study") ? Study.usage() : usage());
                    return OK;
                default:
                    throw new UsageException("unknown command '" + cmd + "'; commands: apply, demo, study, info");
            }
        } catch (UsageException e) {
            err.println("error: " + oneLine(e.getMessage()));
            err.println("run '" + PROG + " --help' for usage");
            if (verbose) e.printStackTrace(err);
            return USAGE;
        } catch (SpatialActException e) {
            err.println("error: " + oneLine(e.getMessage()));
            if (verbose) e.printStackTrace(err);
            else if (e.getCause() != null && e.code() == Code.BACKEND_UNAVAILABLE) err.println("(--verbose shows the cause)");
            return FAILURE;
        } catch (RuntimeException | LinkageError | OutOfMemoryError e) {
            err.println("error: " + oneLine(e.toString()));
            if (verbose) e.printStackTrace(err);
            return FAILURE;
        }
    }

    /** A message as one line: control characters (a newline in a file name or a file's bytes) escaped. */
    static String oneLine(String m) {
        if (m == null) return "";
        StringBuilder b = new StringBuilder(m.length());
        for (int i = 0; i < m.length(); i++) {
            char c = m.charAt(i);
            if (c == '\n') b.append("\\n");
            else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) b.append(String.format("\\x%02x", (int) c));
            else b.append(c);
        }
        return b.toString();
    }

    // ---- apply ---------------------------------------------------------------------------------

    static final List<String> APPLY_COMMON = List.of("input", "out", "backend");

    static int apply(Args a, PrintStream out) {
        if (a.positional.size() < 2) throw new UsageException("apply needs an operator: " + Ops.names());
        String name = a.positional.get(1);
        Ops.Spec spec = Ops.get(name);
        if (spec == null) throw new UsageException("unknown operator '" + name + "'; operators: " + Ops.names());
        if (a.positional.size() > 2) throw new UsageException("apply " + name + ": unexpected argument '" + a.positional.get(2) + "'");
        List<String> allowed = new ArrayList<>(APPLY_COMMON);
        allowed.addAll(spec.optionNames());
        a.allowOnly(allowed, "apply " + name);
        Path in = Path.of(a.require("input", "X.npy (the input tensor)"));
        Path outFile = Path.of(a.require("out", "Y.npy (where to write the result)"));
        Path in2 = spec.twoInputs() ? Path.of(a.require("input2", "B.npy (the second operand)")) : null;
        Backend backend = a.backend(Backend.AUTO);

        // Peak memory: the input(s) and the output, each once (the arrays are read without a
        // copy, and the operator pins them or splits long calls; it copies nothing whole).
        Npy.Floats x = Npy.readFloats(in);
        Shape shape = nchw(x.shape(), in);
        float[] x2 = null;
        if (in2 != null) {
            Npy.Floats b = Npy.readFloats(in2);
            if (!Arrays.equals(b.shape(), x.shape()))
                throw new SpatialActException(Code.INVALID_ARGUMENT, in2 + " has shape " + Npy.shapeString(b.shape()) + "; --input " + in
                        + " has " + Npy.shapeString(x.shape()) + " (they must be equal)");
            x2 = b.data();
        }
        try (Ops.Op op = spec.factory().create(a, shape, backend)) {
            long t0 = System.nanoTime();
            float[] y = op.apply(x.data(), x2, shape);
            double ms = (System.nanoTime() - t0) / 1e6;
            Npy.write(outFile, x.shape(), y);
            out.printf(Locale.ROOT, "%s: %s on %s, %s%s -> %s (%.2f ms)%n", name, op.name(),
                    backend == Backend.AUTO ? "AUTO (host data: CPU)" : backend.toString(), Npy.shapeString(x.shape()),
                    x.wasFloat64() ? " (float64 read as float32)" : "", outFile, ms);
        }
        return OK;
    }

    /** The NCHW shape of an input: 4-D as is; (C, H, W) and (H, W) get leading 1s. */
    static Shape nchw(long[] s, Path file) {
        if (s.length < 2 || s.length > 4)
            throw new SpatialActException(Code.INVALID_ARGUMENT, file + " has shape " + Npy.shapeString(s)
                    + "; expected 4-D (N, C, H, W), 3-D (C, H, W) or 2-D (H, W)");
        for (long d : s)
            if (d < 1) throw new SpatialActException(Code.INVALID_ARGUMENT, file + " has shape " + Npy.shapeString(s) + ": it is empty");
        long[] p = new long[4];
        Arrays.fill(p, 1);
        System.arraycopy(s, 0, p, 4 - s.length, s.length);
        return Shape.of(p[0], p[1], p[2], p[3]);
    }

    // ---- info ----------------------------------------------------------------------------------

    static int info(PrintStream out) {
        out.println("spatialact-cli " + version());
        out.println("java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + "), "
                + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        String nativeVersion;
        try {
            nativeVersion = SpatialAct.version();
        } catch (SpatialActException e) {
            out.println("native library: unavailable: " + e.getMessage());
            return FAILURE;
        }
        out.println("native library " + nativeVersion);
        out.print(Backend.describe());
        out.println("best backend: " + Backend.best());
        out.println("operators: " + Ops.names());
        return OK;
    }

    /** The jar's version (from its Maven metadata), or "(development build)". */
    static String version() {
        String v = Main.class.getPackage() == null ? null : Main.class.getPackage().getImplementationVersion();
        if (v != null) return v;
        try (InputStream in = Main.class.getResourceAsStream("/META-INF/maven/dev.spatialact/spatialact/pom.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                v = p.getProperty("version");
            }
        } catch (java.io.IOException ignored) {
            // no version then
        }
        return v != null ? v : "(development build)";
    }

    // ---- usage ---------------------------------------------------------------------------------

    static String usage() {
        return "spatialact: spatially-aware activations (FReLU, star, TD-LReLU, ...) in native kernels\n\n"
                + "usage: " + PROG + " COMMAND [OPTIONS]\n\n"
                + "commands:\n"
                + "  apply OP --input X.npy --out Y.npy [OPTIONS]   run an operator on a .npy tensor\n"
                + "  demo [--out DIR] [--backend B] [--size N]      every operator on a built-in example: PNGs + throughput\n"
                + "  study [--out DIR] [--quick] [--seed N]         TD-LReLU's noise robustness and smoothness: tables + plots\n"
                + "  info                                           versions and backends\n"
                + "  help [apply|demo|study|OP]                     this text, or the usage of a command or operator\n\n"
                + "operators: " + Ops.names() + "\n\n"
                + "common options: --backend auto|cpu|cuda, --verbose (stack traces), --help\n"
                + "exit codes: 0 ok, 1 failure (message on stderr), 2 usage error\n";
    }

    static String applyUsage() {
        StringBuilder sb = new StringBuilder();
        sb.append("usage: ").append(PROG).append(" apply OP --input X.npy --out Y.npy [OPTIONS]\n\n")
                .append("  X.npy: float32 or float64, (N, C, H, W), (C, H, W) or (H, W); Y.npy: float32 of X's shape.\n")
                .append("  --backend auto|cpu|cuda   where to run (default auto: host data runs on the CPU; cuda stages it\n")
                .append("                            through GPU 0)\n\n")
                .append("operators:\n");
        for (Ops.Spec s : Ops.all()) sb.append(opUsageBody(s));
        return sb.toString();
    }

    static String opUsage(Ops.Spec s) {
        return "usage: " + PROG + " apply " + s.name() + " --input X.npy --out Y.npy"
                + (s.twoInputs() ? " --input2 B.npy" : "") + " [OPTIONS]\n\n" + opUsageBody(s);
    }

    private static String opUsageBody(Ops.Spec s) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "  %-12s %s%n", s.name(), s.summary()));
        for (Ops.Option o : s.options()) {
            String flag = "--" + o.name() + (o.arg().isEmpty() ? "" : " " + o.arg());
            sb.append(String.format(Locale.ROOT, "      %-24s %s%n", flag, o.help()));
        }
        return sb.toString();
    }

    static String demoUsage() {
        return "usage: " + PROG + " demo [OPTIONS]\n\n"
                + "  Runs every operator on a built-in synthetic example (no downloads, no input files), writes PNGs of\n"
                + "  channel 0 before and after (blue negative, white zero, red positive) and overview.png, and prints a\n"
                + "  throughput table.\n\n"
                + "  --out DIR            output folder (default demo-out)\n"
                + "  --backend B          auto, cpu or cuda (default: the best here, CUDA when a GPU is usable)\n"
                + "  --size N             example image size N x N (default 256)\n"
                + "  --channels C         channels of the example feature map (default 8)\n"
                + "  --bench NxCxHxW      shape of the throughput runs (default " + Demo.DEFAULT_BENCH + ")\n"
                + "  --runs R             timed runs per operator (default 20, after a warm-up of at least 3 runs and 100 ms)\n"
                + "  --no-bench           skip the throughput table\n";
    }
}
