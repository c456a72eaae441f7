package dev.spatialact.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.spatialact.Backend;
import dev.spatialact.FReLU;
import dev.spatialact.LeakyReLU;
import dev.spatialact.NTDLReLU;
import dev.spatialact.OperatorKind;
import dev.spatialact.PReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialActException;
import dev.spatialact.SpatialActException.Code;
import dev.spatialact.Star;
import dev.spatialact.TDLReLU;
import dev.spatialact.UnaryActivation;
import dev.spatialact.io.FReLUWeights;
import dev.spatialact.io.Npy;

/**
 * The operator table of {@code apply}: each entry is a name, a one-line summary, the options it
 * takes and a factory that builds the operator for an input shape and a backend.
 *
 * <p><b>Adding an operator</b> is one {@link #add} call in the static block below: its row of the
 * library's table ({@link OperatorKind}, which gives the name), summary, whether it reads {@code --input2}, its options ({@link #opt}), and a factory
 * {@code (args, shape, backend) -> unary(SomeOp.builder()...backend(backend).build())}. The
 * usage text and the "unknown operator" message list the table, so nothing else changes.
 */
final class Ops {
    private Ops() {}

    /** An operator built for one input, ready to run. */
    interface Op extends AutoCloseable {
        /** E.g. "FReLU(k=3, C=8)". */
        String name();

        /** y for input x (and x2 for two-input operators; null otherwise), NCHW of this shape. */
        float[] apply(float[] x, float[] x2, Shape shape);

        @Override
        void close();
    }

    @FunctionalInterface
    interface Factory {
        Op create(Args args, Shape shape, Backend backend);
    }

    record Option(String name, String arg, String help) {}

    record Spec(String name, String summary, boolean twoInputs, List<Option> options, Factory factory) {
        /** The library's row of this operator. */
        OperatorKind kind() {
            return OperatorKind.ofCliName(name);
        }

        List<String> optionNames() {
            List<String> l = new ArrayList<>();
            for (Option o : options) l.add(o.name());
            return l;
        }
    }

    private static final Map<String, Spec> TABLE = new LinkedHashMap<>();

    static {
        add(OperatorKind.LEAKY_RELU, "y = x if x > 0 else alpha * x", false,
                List.of(opt("alpha", "A", "slope for x <= 0 (default 0.01)")),
                (a, s, b) -> unary(LeakyReLU.builder().alpha(a.getFloat("alpha", LeakyReLU.DEFAULT_ALPHA)).backend(b).build()));
        add(OperatorKind.RELU, "y = max(x, 0) (leaky-relu with alpha 0)", false, List.of(),
                (a, s, b) -> unary(LeakyReLU.builder().alpha(0f).backend(b).build()));
        add(OperatorKind.PRELU, "leaky-relu with one slope per channel", false,
                List.of(opt("alpha", "A[,A...]", "C comma-separated slopes, or one for every channel (default 0.25, PyTorch's init)"),
                        opt("weights", "DIR", "instead of --alpha: DIR/[PREFIX]weight.npy of shape (C,) or (1,), an nn.PReLU state_dict"),
                        opt("prefix", "P", "file name prefix in --weights DIR, e.g. 'act.'")),
                Ops::prelu);
        add(OperatorKind.FRELU, "funnel activation y = max(x, BN(depthwise k x k conv(x)))", false, freluOptions(true),
                (a, s, b) -> frelu(a, s, b, a.flag("light")));
        add(OperatorKind.FRELU_LIGHT, "funnel activation, light: y = max(x, BN1(conv 1xk (x)) + BN2(conv kx1 (x)))", false, freluOptions(false),
                (a, s, b) -> frelu(a, s, b, true));
        add(OperatorKind.STAR, "element-wise product y = act(a) * b (a: --input, b: --input2)", true,
                List.of(opt("input2", "B.npy", "the second operand b, of the input's shape (required)"),
                        opt("act", "ACT", "identity (default), relu, relu6 or leaky-relu"),
                        opt("alpha", "A", "slope of --act leaky-relu (default 0.01)")),
                Ops::star);

        List<Option> td = List.of(opt("alpha", "A", "leak slope in [0, 1) (default 0.01)"),
                opt("lambda", "L", "regulariser weight >= 0 (default 0.1)"), opt("sigma", "S", "Gaussian sigma > 0 (default 1.0)"),
                opt("radius", "R", "Gaussian radius in [1, 32] (default ceil(3 sigma))"),
                opt("iterations", "T", "iterations in [0, 1000] (default 5)"),
                opt("epsilon", "E", "gate smoothing >= 0; 0 = hard gate (default 0)"));
        add(OperatorKind.TD_LRELU, "threshold-dynamics regularised leaky ReLU (TD-LReLU)", false, td,
                (a, s, b) -> unary(tdSettings(TDLReLU.builder(), a).backend(b).build()));
        List<Option> ntd = new ArrayList<>(td);
        ntd.addAll(List.of(opt("search", "S", "search window radius S in [0, 7]: (2S+1)^2 neighbours (default 3)"),
                opt("patch", "P", "patch radius P in [0, 3] (default 1)"),
                opt("h", "H", "weight bandwidth h > 0: w = exp(-d / h^2) (default 1.0)"),
                opt("k", "K", "keep the K largest weights (the pixel itself always); 0 = the whole window (default)"),
                opt("guide", "G.npy", "guide tensor (N, Cg, H, W) (or (Cg, H, W), (H, W)); default: the channel mean of the input")));
        add(OperatorKind.NTD_LRELU, "nonlocal threshold-dynamics leaky ReLU (NTD-LReLU)", false, ntd, Ops::ntd);
    }

    /** Applies the TD options shared by td-lrelu and ntd-lrelu. */
    private static <B extends TDLReLU.AbstractBuilder<B>> B tdSettings(B bld, Args a) {
        if (a.has("alpha")) bld.alpha(a.getFloat("alpha", 0f));
        if (a.has("lambda")) bld.lambda(a.getFloat("lambda", 0f));
        if (a.has("sigma")) bld.sigma(a.getFloat("sigma", 0f));
        if (a.has("radius")) bld.radius(a.getInt("radius", 0));
        if (a.has("iterations")) bld.iterations(a.getInt("iterations", 0));
        if (a.has("epsilon")) bld.epsilon(a.getFloat("epsilon", 0f));
        return bld;
    }

    private static Op ntd(Args a, Shape s, Backend b) {
        NTDLReLU.Builder bld = tdSettings(NTDLReLU.builder(), a);
        if (a.has("search")) bld.search(a.getInt("search", 0));
        if (a.has("patch")) bld.patch(a.getInt("patch", 0));
        if (a.has("h")) bld.h(a.getFloat("h", 0f));
        if (a.has("k")) bld.knn(a.getInt("k", 0));
        if (!a.has("guide")) return unary(bld.backend(b).build());
        Path gf = a.path("guide");
        Npy.NpyArray g = Npy.read(gf);
        long[] gs = g.shape();
        long n = gs.length == 4 ? gs[0] : 1, cg = gs.length >= 3 ? gs[gs.length - 3] : 1;
        if (gs.length < 2 || gs.length > 4 || n != s.n() || gs[gs.length - 2] != s.h() || gs[gs.length - 1] != s.w())
            throw new SpatialActException(Code.INVALID_ARGUMENT, gf + ": guide shape " + g.shapeString() + " does not fit the input "
                    + s + "; expected (" + s.n() + ", Cg, " + s.h() + ", " + s.w() + ")");
        float[] guide = g.data();
        NTDLReLU op = bld.guideChannels(cg).backend(b).build();
        return new Op() {
            public String name() {
                return op.name();
            }

            public float[] apply(float[] x, float[] x2, Shape shape) {
                float[] y = new float[x.length];
                op.apply(x, guide, y, shape);
                return y;
            }

            public void close() {
                op.close();
            }
        };
    }

    /** A row for one row of the library's operator table ({@link OperatorKind}), under its CLI name. */
    // No native call here (this runs in the class's static initializer, and a library that cannot
    // load must fail the command with its message): CliTest checks twoInputs against the
    // operator's inputs (tablesMatch).
    static void add(OperatorKind kind, String summary, boolean twoInputs, List<Option> options, Factory factory) {
        TABLE.put(kind.cliName(), new Spec(kind.cliName(), summary, twoInputs, List.copyOf(options), factory));
    }

    static Option opt(String name, String arg, String help) {
        return new Option(name, arg, help);
    }

    /** The operator of this name, or null. */
    static Spec get(String name) {
        return TABLE.get(name);
    }

    static Collection<Spec> all() {
        return Collections.unmodifiableCollection(TABLE.values());
    }

    static String names() {
        return String.join(", ", TABLE.keySet());
    }

    /** Wraps a one-input library operator. */
    static Op unary(UnaryActivation op) {
        return new Op() {
            public String name() {
                return op.name();
            }

            public float[] apply(float[] x, float[] x2, Shape shape) {
                return op.apply(x, shape);
            }

            public void close() {
                op.close();
            }
        };
    }

    // ---- factories ------------------------------------------------------------------------------

    private static Op prelu(Args a, Shape s, Backend b) {
        int c = channels(s);
        float[] alphas;
        if (a.has("weights")) {
            if (a.has("alpha")) throw new UsageException("prelu: give --alpha or --weights, not both");
            Path f = a.path("weights").resolve(a.get("prefix", "") + "weight.npy");
            if (!Files.exists(f)) throw new SpatialActException(Code.IO, f + ": missing (PReLU weights)");
            Npy.NpyArray w = Npy.read(f);
            if (w.ndim() != 1) throw new SpatialActException(Code.FORMAT, f + ": shape " + w.shapeString() + ", expected (" + c + ",) or (1,)");
            alphas = w.data();
        } else {
            if (a.has("prefix")) throw new UsageException("prelu: --prefix goes with --weights");
            String[] parts = a.get("alpha", "0.25").split(",");
            alphas = new float[parts.length];
            for (int i = 0; i < parts.length; i++) alphas[i] = Args.parseFloat("alpha", parts[i]);
        }
        if (alphas.length == 1 && c > 1) {
            float v = alphas[0];
            alphas = new float[c];
            java.util.Arrays.fill(alphas, v);
        }
        if (alphas.length != c)
            throw new SpatialActException(Code.INVALID_ARGUMENT,
                    "prelu: " + alphas.length + " slopes for an input with " + c + " channels (give 1 or " + c + ")");
        return unary(PReLU.builder().alphas(alphas).backend(b).build());
    }

    private static List<Option> freluOptions(boolean withLight) {
        List<Option> l = new ArrayList<>(List.of(
                opt("weights", "DIR", "folder of .npy files named as a PyTorch state_dict (see the README / FReLUWeights)"),
                opt("prefix", "P", "file name prefix in DIR, e.g. 'act.' for act.conv.weight.npy"),
                opt("random-weights", "SEED", "instead of --weights: deterministic random parameters, for trying it out"),
                opt("k", "K", "kernel size with --random-weights: odd, 1..7 (default 3); with --weights it must match the files"),
                opt("eps", "E", "batch-norm eps > 0 (default 1e-5)")));
        if (withLight) l.add(opt("light", "", "the light variant (same as the operator frelu-light)"));
        return l;
    }

    private static Op frelu(Args a, Shape s, Backend b, boolean light) {
        String variant = light ? "frelu-light" : "frelu";
        boolean hasW = a.has("weights"), hasR = a.has("random-weights");
        if (hasW == hasR) throw new UsageException(variant + " needs either --weights DIR or --random-weights SEED");
        if (hasR && a.has("prefix")) throw new UsageException(variant + ": --prefix goes with --weights");
        float eps = a.getFloat("eps", FReLU.DEFAULT_EPS);
        int c = channels(s);
        FReLUWeights w;
        if (hasW) {
            Path dir = a.path("weights");
            w = FReLUWeights.read(dir, a.get("prefix", ""));
            if (w.isLight() != light)
                throw new SpatialActException(Code.FORMAT, dir + " holds " + (w.isLight() ? "FReLU-light" : "FReLU (k x k)")
                        + " weights; use the operator " + (w.isLight() ? "frelu-light" : "frelu (without --light)"));
            if (a.has("k") && a.getInt("k", 0) != w.kernelSize())
                throw new UsageException(variant + ": --k " + a.get("k") + " but the weights in " + dir + " have k = " + w.kernelSize());
            if (w.channels() != c)
                throw new SpatialActException(Code.INVALID_ARGUMENT,
                        "the weights in " + dir + " are for " + w.channels() + " channels; the input has " + c);
        } else {
            int k = a.getInt("k", FReLU.DEFAULT_KERNEL_SIZE);
            if (k < 1 || k % 2 == 0) throw new UsageException(variant + ": --k " + k + " must be odd and >= 1");
            // The library's range (k <= 7) is checked natively before any weight is made: --k 20001
            // fails at once, allocating nothing.
            w = FReLUWeights.random(c, k, light, a.getLong("random-weights", 0));
        }
        return unary(w.build(eps, b));
    }

    private static Op star(Args a, Shape s, Backend b) {
        String actName = a.get("act", "identity").trim().toLowerCase(Locale.ROOT).replace('_', '-');
        Star.Act act = switch (actName) {
            case "identity", "none" -> Star.Act.IDENTITY;
            case "relu" -> Star.Act.RELU;
            case "relu6" -> Star.Act.RELU6;
            case "leaky-relu", "leakyrelu" -> Star.Act.LEAKY_RELU;
            default -> throw new UsageException("star: --act " + a.get("act") + ": expected identity, relu, relu6 or leaky-relu");
        };
        if (a.has("alpha") && act != Star.Act.LEAKY_RELU) throw new UsageException("star: --alpha goes with --act leaky-relu");
        Star star = Star.builder().act(act).alpha(a.getFloat("alpha", LeakyReLU.DEFAULT_ALPHA)).backend(b).build();
        return new Op() {
            public String name() {
                return star.name();
            }

            public float[] apply(float[] x, float[] x2, Shape shape) {
                return star.apply(x, x2, shape);
            }

            public void close() {
                star.close();
            }
        };
    }

    private static int channels(Shape s) {
        if (s.c() > Integer.MAX_VALUE) throw new SpatialActException(Code.INVALID_ARGUMENT, "too many channels: " + s.c());
        return (int) s.c();
    }

    /** The class if it is on the class path, else null. */
    static Class<?> findClass(String className) {
        try {
            return Class.forName(className, false, Ops.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }
}
