package dev.spatialact.cli;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
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
import dev.spatialact.PReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialActException;
import dev.spatialact.SpatialActException.Code;
import dev.spatialact.Star;
import dev.spatialact.UnaryActivation;
import dev.spatialact.io.FReLUWeights;
import dev.spatialact.io.Npy;

/**
 * The operator table of {@code apply}: each entry is a name, a one-line summary, the options it
 * takes and a factory that builds the operator for an input shape and a backend.
 *
 * <p><b>Adding an operator</b> is one {@link #add} call in the static block below: name,
 * summary, whether it reads {@code --input2}, its options ({@link #opt}), and a factory
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
        List<String> optionNames() {
            List<String> l = new ArrayList<>();
            for (Option o : options) l.add(o.name());
            return l;
        }
    }

    private static final Map<String, Spec> TABLE = new LinkedHashMap<>();

    static {
        add("leaky-relu", "y = x if x > 0 else alpha * x", false,
                List.of(opt("alpha", "A", "slope for x <= 0 (default 0.01)")),
                (a, s, b) -> unary(LeakyReLU.builder().alpha(a.getFloat("alpha", LeakyReLU.DEFAULT_ALPHA)).backend(b).build()));
        add("relu", "y = max(x, 0) (leaky-relu with alpha 0)", false, List.of(),
                (a, s, b) -> unary(LeakyReLU.builder().alpha(0f).backend(b).build()));
        add("prelu", "leaky-relu with one slope per channel", false,
                List.of(opt("alpha", "A[,A...]", "C comma-separated slopes, or one for every channel (default 0.25, PyTorch's init)"),
                        opt("weights", "DIR", "instead of --alpha: DIR/[PREFIX]weight.npy of shape (C,) or (1,), an nn.PReLU state_dict"),
                        opt("prefix", "P", "file name prefix in --weights DIR, e.g. 'act.'")),
                Ops::prelu);
        add("frelu", "funnel activation y = max(x, BN(depthwise k x k conv(x)))", false, freluOptions(true),
                (a, s, b) -> frelu(a, s, b, a.flag("light")));
        add("frelu-light", "funnel activation, light: y = max(x, BN1(conv 1xk (x)) + BN2(conv kx1 (x)))", false, freluOptions(false),
                (a, s, b) -> frelu(a, s, b, true));
        add("star", "element-wise product y = act(a) * b (a: --input, b: --input2)", true,
                List.of(opt("input2", "B.npy", "the second operand b, of the input's shape (required)"),
                        opt("act", "ACT", "identity (default), relu, relu6 or leaky-relu"),
                        opt("alpha", "A", "slope of --act leaky-relu (default 0.01)")),
                Ops::star);

        // ---- Extension point: TD-LReLU and NTD-LReLU --------------------------------------------
        // These operators are being added to the library by another engineer. Until their classes
        // exist this registers nothing; once dev.spatialact.TDLReLU / NTDLReLU exist with a static
        // builder() whose Builder has setters named like the options below (lambda(float),
        // iterations(int), ...) plus backend(Backend) and build(), they work here with no change.
        // To wire one in directly instead, replace its line with a regular add(...) like leaky-relu's.
        List<Option> td = List.of(opt("alpha", "A", "leak slope in [0, 1) (default 0.01)"),
                opt("lambda", "L", "regulariser weight >= 0 (default 0.1)"), opt("sigma", "S", "Gaussian sigma > 0 (default 1.0)"),
                opt("radius", "R", "Gaussian radius >= 1 (default ceil(3 sigma))"), opt("iterations", "T", "iterations >= 0 (default 5)"),
                opt("eps", "E", "gate smoothing >= 0; 0 = hard gate (default 0)"));
        addReflective("td-lrelu", "dev.spatialact.TDLReLU", "threshold-dynamics regularised leaky ReLU", td);
        List<Option> ntd = new ArrayList<>(td);
        ntd.addAll(List.of(opt("search", "S", "search window radius (default 3)"), opt("patch", "P", "patch radius (default 1)"),
                opt("h", "H", "patch-distance bandwidth > 0 (default 1.0)"), opt("knn", "K", "keep the K largest weights; 0 = all (default)")));
        addReflective("ntd-lrelu", "dev.spatialact.NTDLReLU", "nonlocal threshold-dynamics leaky ReLU", ntd);
    }

    static void add(String name, String summary, boolean twoInputs, List<Option> options, Factory factory) {
        TABLE.put(name, new Spec(name, summary, twoInputs, List.copyOf(options), factory));
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

    // ---- operators found by reflection (the TD-LReLU / NTD-LReLU hook) ---------------------------

    /** Registers name if className exists; its options map to Builder setters of the same (camelCase) name. */
    static void addReflective(String name, String className, String summary, List<Option> options) {
        Class<?> cls = findClass(className);
        if (cls == null) return;
        add(name, summary + " (" + cls.getSimpleName() + ")", false, options, (a, s, b) -> {
            Object op = buildReflective(cls, a, options, b);
            if (!(op instanceof UnaryActivation u))
                throw new SpatialActException(Code.INTERNAL, className + ".Builder.build() returned " + op.getClass().getName()
                        + ", not a UnaryActivation");
            return unary(u);
        });
    }

    /** The class if it is on the class path, else null. */
    static Class<?> findClass(String className) {
        try {
            return Class.forName(className, false, Ops.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }

    /** cls.builder(), each given option applied to the setter of that name, backend(b), build(). */
    static Object buildReflective(Class<?> cls, Args a, List<Option> options, Backend b) {
        try {
            Object builder = cls.getMethod("builder").invoke(null);
            Class<?> bc = builder.getClass();
            for (Option o : options) {
                if (!a.has(o.name())) continue;
                String method = camel(o.name());
                Method m = setter(bc, method);
                for (String alias : ALIASES.getOrDefault(o.name(), List.of())) if (m == null) m = setter(bc, alias);
                if (m == null) throw new UsageException(cls.getSimpleName() + " has no parameter '" + method + "' (--" + o.name() + ")");
                m.invoke(builder, convert(o.name(), a.get(o.name()), m.getParameterTypes()[0]));
            }
            Method backend = setter(bc, "backend");
            if (backend != null) backend.invoke(builder, b);
            return bc.getMethod("build").invoke(builder);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new SpatialActException(Code.INTERNAL, cls.getName() + ": " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new SpatialActException(Code.INTERNAL, cls.getName() + " cannot be built by reflection: " + e, e);
        }
    }

    /** Other setter names an option may have in a builder (TDLReLU's eps setter is epsilon(float)). */
    private static final Map<String, List<String>> ALIASES = Map.of("eps", List.of("epsilon"), "iterations", List.of("t", "steps"),
            "knn", List.of("k", "kNearest"));

    private static Method setter(Class<?> bc, String name) {
        for (Method m : bc.getMethods())
            if (m.getName().equals(name) && m.getParameterCount() == 1) return m;
        return null;
    }

    private static Object convert(String option, String v, Class<?> t) {
        if (t == float.class || t == Float.class) return Args.parseFloat(option, v);
        if (t == double.class || t == Double.class) return (double) Args.parseFloat(option, v);
        try {
            if (t == int.class || t == Integer.class) return Integer.parseInt(v.trim());
            if (t == long.class || t == Long.class) return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + option + " " + v + ": not an integer");
        }
        if (t == boolean.class || t == Boolean.class) return Boolean.parseBoolean(v.trim());
        if (t == String.class) return v;
        throw new UsageException("--" + option + ": the builder takes a " + t.getSimpleName() + ", which the CLI cannot pass");
    }

    private static String camel(String option) {
        StringBuilder sb = new StringBuilder();
        boolean up = false;
        for (char ch : option.toCharArray()) {
            if (ch == '-') {
                up = true;
            } else {
                sb.append(up ? Character.toUpperCase(ch) : ch);
                up = false;
            }
        }
        return sb.toString();
    }
}
