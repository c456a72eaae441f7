package dev.spatialact.hardening;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import org.bytedeco.javacpp.FloatPointer;

import dev.spatialact.Backend;
import dev.spatialact.DeviceTensor;
import dev.spatialact.FReLU;
import dev.spatialact.LeakyReLU;
import dev.spatialact.NTDLReLU;
import dev.spatialact.NativeOperator;
import dev.spatialact.PReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialActException;
import dev.spatialact.Star;
import dev.spatialact.TDLReLU;
import dev.spatialact.UnaryActivation;

/**
 * The seeded bad-input fuzzer of the Java API (run in a child JVM by {@link BadInputFuzzTest}, so
 * that a native crash is counted instead of killing the test JVM).
 *
 * <p>Each bad call breaks exactly one thing of an otherwise valid call at one of the operators
 * (LeakyReLU, PReLU, FReLU full and light, Star, TD-LReLU, NTD-LReLU with and without a guide) and
 * one kind of memory (float[], direct FloatBuffer, FloatPointer): a null, a wrong length, a
 * position past the data, a shape with a bad dimension or too many elements, the wrong channel
 * count, a heap / big-endian / read-only / misaligned buffer, a closed or misaligned FloatPointer,
 * a closed operator, an output that is or overlaps an input where the operator forbids it, a
 * parameter that is NaN, infinite, negative or huge at a builder, and device calls without a GPU.
 * The call must throw SpatialActException (no other type) whose message contains the words that
 * name the problem, and every output's storage (sentinel-filled) must be unchanged afterwards.
 *
 * <p>Every fourth call is valid, with random shapes, parameters, memory kinds, buffer and pointer
 * positions, read-only inputs and in-place outputs where allowed: it must succeed, match the
 * float[] path bitwise and leave the output's storage outside its window untouched.
 *
 * <p>Arguments: seed, number of calls. Prints a summary line "fuzz: ..." and key=value lines;
 * exits 0 when nothing was wrong, 1 otherwise (the first problems are printed).
 */
public final class BadInputFuzzMain {
    static final float SENTINEL = -12345.678f;
    static final int SENTINEL_BITS = Float.floatToRawIntBits(SENTINEL);

    final SplittableRandom r;
    final boolean gpu = Backend.CUDA.isAvailable();
    long bad, valid, nativeRejected, wrongTypes, badMessages, touched, validFailures, noThrow;
    final Map<String, Integer> perCategory = new LinkedHashMap<>();
    final List<String> problems = new ArrayList<>();
    final List<Target> pool = new ArrayList<>();

    BadInputFuzzMain(long seed) {
        r = new SplittableRandom(seed);
    }

    public static void main(String[] args) {
        long seed = args.length > 0 ? Long.parseLong(args[0]) : 20261122L;
        int calls = args.length > 1 ? Integer.parseInt(args[1]) : 16000;
        BadInputFuzzMain f = new BadInputFuzzMain(seed);
        long t0 = System.nanoTime();
        f.run(calls);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        for (String p : f.problems) System.out.println("PROBLEM " + p);
        System.out.println("categories=" + f.perCategory);
        System.out.printf("fuzz: seed=%d calls=%d bad=%d (rejected by native code: %d) valid=%d wrongTypes=%d"
                + " badMessages=%d outputsTouched=%d validFailures=%d notThrown=%d time=%dms%n",
                seed, f.bad + f.valid, f.bad, f.nativeRejected, f.valid, f.wrongTypes, f.badMessages, f.touched,
                f.validFailures, f.noThrow, ms);
        System.out.println("bad=" + f.bad);
        System.out.println("valid=" + f.valid);
        System.out.println("nativeRejected=" + f.nativeRejected);
        System.out.println("wrongTypes=" + f.wrongTypes);
        System.out.println("badMessages=" + f.badMessages);
        System.out.println("outputsTouched=" + f.touched);
        System.out.println("validFailures=" + f.validFailures);
        System.out.println("notThrown=" + f.noThrow);
        System.out.println("millis=" + ms);
        System.out.flush();
        boolean ok = f.wrongTypes == 0 && f.badMessages == 0 && f.touched == 0 && f.validFailures == 0 && f.noThrow == 0;
        for (Target t : f.pool) t.op.close();
        System.exit(ok ? 0 : 1);
    }

    // ---- the operators under test ------------------------------------------------------

    /** An operator with the memory-kind entry points the fuzzer drives. */
    abstract static class Target {
        final NativeOperator op;
        final String kind;
        /** Required channel count, or -1 for any. */
        final long channels;

        Target(String kind, NativeOperator op, long channels) {
            this.kind = kind;
            this.op = op;
            this.channels = channels;
        }

        int inputs() { return 1; }
        String inName(int i) { return "x"; }
        /** True if y may be the same memory as input i. */
        boolean sameOk(int i) { return false; }
        Shape inShape(int i, Shape s) { return s; }

        abstract void apply(float[][] in, float[] y, Shape s);
        abstract void apply(FloatBuffer[] in, FloatBuffer y, Shape s);
        abstract void apply(FloatPointer[] in, FloatPointer y, Shape s);
        /** A device call on junk addresses; only used where no GPU exists, where it must fail first. */
        abstract void applyDevice(long[] in, long y, Shape s);

        /** A fresh operator of the same kind and parameters, closed, for the use-after-close case. */
        abstract Target closedTwin();

        @Override public String toString() { return op.name(); }
    }

    static final class Unary extends Target {
        final UnaryActivation u;
        final boolean inPlace;
        final Supplier<UnaryActivation> rebuild;

        Unary(String kind, UnaryActivation u, long channels, boolean inPlace, Supplier<UnaryActivation> rebuild) {
            super(kind, u, channels);
            this.u = u;
            this.inPlace = inPlace;
            this.rebuild = rebuild;
        }

        @Override boolean sameOk(int i) { return inPlace; }
        // The operand's name in the spec and the C header: o (the pre-activation) for TD and NTD.
        @Override String inName(int i) { return u instanceof TDLReLU || u instanceof NTDLReLU ? "o" : "x"; }
        @Override void apply(float[][] in, float[] y, Shape s) { u.apply(in[0], y, s); }
        @Override void apply(FloatBuffer[] in, FloatBuffer y, Shape s) { u.apply(in[0], y, s); }
        @Override void apply(FloatPointer[] in, FloatPointer y, Shape s) { u.apply(in[0], y, s); }
        @Override void applyDevice(long[] in, long y, Shape s) { u.applyDevice(0, in[0], y, s, 0); }

        @Override Target closedTwin() {
            UnaryActivation t = rebuild.get();
            t.close();
            return new Unary(kind, t, channels, inPlace, rebuild);
        }
    }

    static final class StarTarget extends Target {
        final Star st;
        final Supplier<Star> rebuild;

        StarTarget(Star st, Supplier<Star> rebuild) {
            super("Star", st, -1);
            this.st = st;
            this.rebuild = rebuild;
        }

        @Override int inputs() { return 2; }
        @Override String inName(int i) { return i == 0 ? "a" : "b"; }
        @Override boolean sameOk(int i) { return true; }
        @Override void apply(float[][] in, float[] y, Shape s) { st.apply(in[0], in[1], y, s); }
        @Override void apply(FloatBuffer[] in, FloatBuffer y, Shape s) { st.apply(in[0], in[1], y, s); }
        @Override void apply(FloatPointer[] in, FloatPointer y, Shape s) { st.apply(in[0], in[1], y, s); }
        @Override void applyDevice(long[] in, long y, Shape s) { st.applyDevice(0, in[0], in[1], y, s, 0); }

        @Override Target closedTwin() {
            Star t = rebuild.get();
            t.close();
            return new StarTarget(t, rebuild);
        }
    }

    /** NTD-LReLU with a caller's guide: inputs o (N x C x H x W) and guide (N x Cg x H x W). */
    static final class GuideTarget extends Target {
        final NTDLReLU nt;
        final Supplier<NTDLReLU> rebuild;

        GuideTarget(NTDLReLU nt, Supplier<NTDLReLU> rebuild) {
            super("NTD-LReLU+guide", nt, -1);
            this.nt = nt;
            this.rebuild = rebuild;
        }

        @Override int inputs() { return 2; }
        @Override String inName(int i) { return i == 0 ? "o" : "guide"; }
        @Override Shape inShape(int i, Shape s) { return i == 0 ? s : Shape.of(s.n(), nt.guideChannels(), s.h(), s.w()); }
        @Override void apply(float[][] in, float[] y, Shape s) { nt.apply(in[0], in[1], y, s); }
        @Override void apply(FloatBuffer[] in, FloatBuffer y, Shape s) { nt.apply(in[0], in[1], y, s); }
        @Override void apply(FloatPointer[] in, FloatPointer y, Shape s) { nt.apply(in[0], in[1], y, s); }
        @Override void applyDevice(long[] in, long y, Shape s) { nt.applyDevice(0, in[0], in[1], y, s, 0); }

        @Override Target closedTwin() {
            NTDLReLU t = rebuild.get();
            t.close();
            return new GuideTarget(t, rebuild);
        }
    }

    // ---- random valid operators -------------------------------------------------------

    float[] values(int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return a;
    }

    Backend hostBackend() {
        return r.nextBoolean() ? Backend.CPU : Backend.AUTO;
    }

    /**
     * The case of randomTarget() that fuzzes each row of the library's operator table (ReLU is
     * LeakyReLU's case with alpha 0 a quarter of the time); case 7 is NTD-LReLU with a guide. A
     * row without a case fails the fuzzer at start: a new operator needs its fuzz case.
     */
    static final java.util.Map<dev.spatialact.OperatorKind, Integer> CASE_OF = java.util.Map.of(
            dev.spatialact.OperatorKind.LEAKY_RELU, 0, dev.spatialact.OperatorKind.RELU, 0,
            dev.spatialact.OperatorKind.PRELU, 1, dev.spatialact.OperatorKind.FRELU, 2,
            dev.spatialact.OperatorKind.FRELU_LIGHT, 3, dev.spatialact.OperatorKind.STAR, 4,
            dev.spatialact.OperatorKind.TD_LRELU, 5, dev.spatialact.OperatorKind.NTD_LRELU, 6);

    static {
        for (dev.spatialact.OperatorKind k : dev.spatialact.OperatorKind.values())
            if (!CASE_OF.containsKey(k)) throw new IllegalStateException("the fuzzer has no case for " + k);
    }

    Target randomTarget() {
        int kind = r.nextInt(8);
        Backend be = hostBackend();
        switch (kind) {
            case 0: {
                float alpha = r.nextInt(4) == 0 ? 0f : (float) (r.nextDouble() * 4 - 2);
                Supplier<UnaryActivation> b = () -> LeakyReLU.builder().alpha(alpha).backend(be).build();
                return new Unary("LeakyReLU", b.get(), -1, true, b);
            }
            case 1: {
                float[] alphas = values(1 + r.nextInt(4), 2);
                Supplier<UnaryActivation> b = () -> PReLU.builder().alphas(alphas).backend(be).build();
                return new Unary("PReLU", b.get(), alphas.length, true, b);
            }
            case 2:
            case 3: {
                boolean light = kind == 3;
                int c = 1 + r.nextInt(4), k = 1 + 2 * r.nextInt(4);
                float[] w = values(light ? c * k : c * k * k, 0.5);
                float[] w2 = values(c * k, 0.5);
                float[] bias = r.nextBoolean() && !light ? values(c, 0.2) : null;
                boolean bn = r.nextBoolean();
                float[] g = values(c, 1.5), be2 = values(c, 0.3), m = values(c, 0.3), v = new float[c];
                for (int i = 0; i < c; i++) v[i] = (float) (0.1 + r.nextDouble());
                Supplier<UnaryActivation> b = () -> {
                    FReLU.Builder fb = light ? FReLU.lightBuilder(c) : FReLU.builder(c);
                    fb.kernelSize(k).weight(w).backend(be);
                    if (light) fb.weightVertical(w2);
                    if (bias != null) fb.convBias(bias);
                    if (bn) {
                        fb.batchNorm(g, be2, m, v);
                        if (light) fb.batchNormVertical(g, be2, m, v);
                    }
                    return fb.build();
                };
                return new Unary(light ? "FReLU-light" : "FReLU", b.get(), c, false, b);
            }
            case 4: {
                Star.Act act = Star.Act.values()[r.nextInt(4)];
                float alpha = (float) (r.nextDouble() * 2 - 1);
                Supplier<Star> b = () -> Star.builder().act(act).alpha(alpha).backend(be).build();
                return new StarTarget(b.get(), b);
            }
            case 5: {
                TdParams p = new TdParams();
                Supplier<UnaryActivation> b = () -> p.apply(TDLReLU.builder()).backend(be).build();
                return new Unary("TD-LReLU", b.get(), -1, false, b);
            }
            case 6: {
                TdParams p = new TdParams();
                int search = r.nextInt(4), patch = r.nextInt(3);
                int window = (2 * search + 1) * (2 * search + 1);
                int knn = r.nextBoolean() ? 0 : 1 + r.nextInt(window);
                float h = (float) (0.3 + 3 * r.nextDouble());
                Supplier<UnaryActivation> b = () -> p.apply(NTDLReLU.builder()).search(search).patch(patch).knn(knn).h(h)
                        .backend(be).build();
                return new Unary("NTD-LReLU", b.get(), -1, false, b);
            }
            default: {
                TdParams p = new TdParams();
                int search = r.nextInt(3);
                long cg = 1 + r.nextInt(2);
                Supplier<NTDLReLU> b = () -> p.apply(NTDLReLU.builder()).search(search).guideChannels(cg).backend(Backend.CPU).build();
                return new GuideTarget(b.get(), b);
            }
        }
    }

    /** Random valid TD parameters, small enough to keep calls fast. */
    final class TdParams {
        final float alpha = r.nextInt(3) == 0 ? 0f : (float) (0.5 * r.nextDouble());
        final float lambda = r.nextInt(5) == 0 ? 0f : (float) r.nextDouble();
        final float sigma = (float) (0.3 + 1.7 * r.nextDouble());
        final int radius = r.nextBoolean() ? 0 : 1 + r.nextInt(4);
        final int iterations = r.nextInt(6);
        final float eps = r.nextBoolean() ? 0f : 0.05f;

        <B extends TDLReLU.AbstractBuilder<B>> B apply(B b) {
            b.alpha(alpha).lambda(lambda).sigma(sigma).iterations(iterations).epsilon(eps);
            if (radius > 0) b.radius(radius);
            return b;
        }
    }

    Shape validShape(Target t) {
        long c = t.channels > 0 ? t.channels : 1 + r.nextInt(4);
        return Shape.of(1 + r.nextInt(2), c, 1 + r.nextInt(24), 1 + r.nextInt(40));
    }

    Target pick() {
        if (pool.size() < 24 || r.nextInt(50) == 0) {
            Target t = randomTarget();
            pool.add(t);
            if (pool.size() > 40) pool.remove(0).op.close();
            return t;
        }
        return pool.get(r.nextInt(pool.size()));
    }

    // ---- memory -----------------------------------------------------------------------

    enum Kind { ARRAY, BUFFER, POINTER }

    static FloatBuffer direct(int n) {
        return ByteBuffer.allocateDirect(4 * Math.max(n, 1)).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    static void fill(FloatBuffer b, float v) {
        FloatBuffer d = b.duplicate();
        d.clear();  // the whole storage, whatever b's position and limit
        for (int i = 0; i < d.capacity(); i++) d.put(i, v);
    }

    static void fill(FloatPointer p, long n, float v) {
        float[] a = new float[(int) n];
        Arrays.fill(a, v);
        putAt(p, 0, a);
    }

    /** Writes a at element `at` of p (p's position is kept). */
    static void putAt(FloatPointer p, long at, float[] a) {
        long pos = p.position();
        p.position(at).put(a, 0, a.length);
        p.position(pos);
    }

    float value() {
        int k = r.nextInt(200);
        if (k == 0) return Float.NaN;
        if (k == 1) return Float.POSITIVE_INFINITY;
        if (k == 2) return Float.NEGATIVE_INFINITY;
        if (k == 3) return -0f;
        return (float) ((r.nextDouble() * 2 - 1) * 4);
    }

    float[] data(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = value();
        return a;
    }

    /** Output storage to verify: the whole storage must keep the sentinel outside [from, to). */
    interface Storage {
        int get(long i);  // raw bits
        long size();
    }

    static Storage of(float[] a) {
        return new Storage() {
            public int get(long i) { return Float.floatToRawIntBits(a[(int) i]); }
            public long size() { return a.length; }
        };
    }

    static Storage of(FloatBuffer b) {
        FloatBuffer d = b.duplicate();
        d.clear();
        return new Storage() {
            public int get(long i) { return Float.floatToRawIntBits(d.get((int) i)); }
            public long size() { return d.capacity(); }
        };
    }

    /** A view of p at position 0 (JavaCPP's indexed get/put count from the position). */
    static FloatPointer at0(FloatPointer p) {
        return new FloatPointer(p).position(0);
    }

    static Storage of(FloatPointer p, long n) {
        FloatPointer base = at0(p);
        return new Storage() {
            public int get(long i) { return Float.floatToRawIntBits(base.get(i)); }
            public long size() { return n; }
        };
    }

    static boolean allSentinel(Storage s) {
        for (long i = 0; i < s.size(); i++)
            if (s.get(i) != SENTINEL_BITS) return false;
        return true;
    }

    // ---- the loop ---------------------------------------------------------------------

    void run(int calls) {
        for (int i = 0; i < calls; i++) {
            if (i % 4 == 3) validCall(i);
            else badCall(i);
        }
    }

    void count(String category) {
        perCategory.merge(category, 1, Integer::sum);
    }

    void problem(String s) {
        if (problems.size() < 40) problems.add(s);
    }

    /** Runs one bad call: it must throw SpatialActException naming the problem, outputs untouched. */
    void expectBad(int call, String category, String what, String[] fragments, List<Storage> outputs, Runnable body) {
        bad++;
        count(category);
        for (Storage s : outputs)
            if (!allSentinel(s)) throw new IllegalStateException("fuzzer bug: output not sentinel-filled before " + what);
        try {
            body.run();
            noThrow++;
            problem("call " + call + " [" + category + "] " + what + ": no exception");
        } catch (SpatialActException e) {
            String m = String.valueOf(e.getMessage()).toLowerCase();
            if (m.startsWith("sa_")) nativeRejected++;
            boolean named = false;
            for (String f : fragments) named |= m.contains(f.toLowerCase());
            if (!named) {
                badMessages++;
                problem("call " + call + " [" + category + "] " + what + ": message '" + e.getMessage() + "' names none of "
                        + Arrays.toString(fragments));
            }
        } catch (Throwable t) {
            wrongTypes++;
            problem("call " + call + " [" + category + "] " + what + ": " + t);
        }
        for (Storage s : outputs) {
            if (!allSentinel(s)) {
                touched++;
                problem("call " + call + " [" + category + "] " + what + ": output touched");
                break;
            }
        }
    }

    static String[] f(String... fragments) {
        return fragments;
    }

    void badCall(int call) {
        int cat = r.nextInt(100);
        if (cat < 14) badParameters(call);
        else if (cat < 20) badShape(call);
        else if (cat < 26) closedOperator(call);
        else if (cat < 30 && !gpu) deviceWithoutGpu(call);
        else badMemory(call);
    }

    // -- one broken argument of a memory call
    void badMemory(int call) {
        Target t = pick();
        Kind kind = Kind.values()[r.nextInt(3)];
        Shape s = validShape(t);
        int nin = t.inputs();
        int victim = r.nextInt(nin + 1);  // nin = the output
        String vname = victim == nin ? "y" : t.inName(victim);
        List<String> faults = new ArrayList<>(List.of("null", "short", "position"));
        if (t.channels > 0) faults.add("channels");
        if (kind == Kind.BUFFER) faults.addAll(List.of("heap", "order", "misaligned"));
        if (kind == Kind.BUFFER && victim == nin) faults.add("readonly");
        if (kind == Kind.POINTER) faults.addAll(List.of("closed", "negative", "misaligned", "cast", "limit", "raw"));
        if (victim < nin && !t.sameOk(victim) && t.inShape(victim, s).numel() == s.numel()) faults.add("same");
        if (victim < nin && kind != Kind.ARRAY) faults.add("overlap");
        if (kind == Kind.POINTER || kind == Kind.BUFFER) faults.add("overlap");
        String fault = faults.get(r.nextInt(faults.size()));
        if (fault.equals("overlap") && victim == nin) victim = r.nextInt(nin);  // overlap pairs y with an input
        if (fault.equals("overlap") && kind == Kind.ARRAY) fault = "short";
        if (fault.equals("channels")) s = Shape.of(s.n(), t.channels + 1 + r.nextInt(3), s.h(), s.w());
        final String fl = fault;
        final int vi = victim;
        final Shape shape = s;
        String what = t + " " + kind + " " + fault + " " + (vi == nin && !fl.equals("overlap") ? "y" : t.inName(Math.min(vi, nin - 1)));
        String[] frag = switch (fl) {
            case "null" -> f(vname + " is null");
            case "short" -> f(vname + " has");
            case "position" -> f(vname + " has");
            case "channels" -> f("channels", "slopes");
            case "heap" -> f(vname + " is not a direct");
            case "order" -> f(vname + " is in big_endian byte order", "byte order");
            case "readonly" -> f("y is read-only");
            case "closed" -> f(vname + " is a null pointer");
            case "negative" -> f(vname + " has a negative position");
            case "misaligned" -> f("not aligned");
            case "cast", "limit" -> f(vname + " reaches past");
            case "raw" -> f(vname + " points into memory whose size the library cannot check");
            case "same" -> f("aliases", "overlaps");
            default -> f("overlaps", "aliases");
        };
        List<Storage> outs = new ArrayList<>();
        switch (kind) {
            case ARRAY -> {
                float[][] in = new float[nin][];
                for (int i = 0; i < nin; i++) in[i] = data(t.inShape(i, shape).numelInt());
                int n = shape.numelInt();
                float[] y = new float[fl.equals("short") && vi == nin ? n + (r.nextBoolean() ? 1 : -1) : n];
                Arrays.fill(y, SENTINEL);
                if (fl.equals("short") && vi < nin) in[vi] = data(Math.max(0, in[vi].length + (r.nextBoolean() ? 1 : -1)));
                if (fl.equals("position")) {  // arrays have no position: a longer array is as wrong
                    if (vi < nin) in[vi] = data(in[vi].length + 1 + r.nextInt(5));
                    else { y = new float[n + 1 + r.nextInt(5)]; Arrays.fill(y, SENTINEL); }
                }
                if (fl.equals("null")) { if (vi < nin) in[vi] = null; else y = null; }
                if (fl.equals("same")) { in[vi] = y; }
                if (y != null) outs.add(of(y));
                final float[] yy = y;
                expectBad(call, "memory/" + fl, what, frag, outs, () -> t.apply(in, yy, shape));
            }
            case BUFFER -> {
                FloatBuffer[] in = new FloatBuffer[nin];
                for (int i = 0; i < nin; i++) in[i] = inputBuffer(t.inShape(i, shape).numelInt());
                int n = shape.numelInt();
                FloatBuffer y = direct(n);
                FloatBuffer ystore = y;
                switch (fl) {
                    case "null" -> { if (vi < nin) in[vi] = null; else y = ystore = null; }
                    case "short" -> {
                        if (vi < nin) { FloatBuffer b = in[vi]; b.limit(b.limit() - 1); }
                        else { y.limit(n - 1); }
                    }
                    case "position" -> {
                        if (vi < nin) in[vi].position(1 + r.nextInt(Math.max(1, in[vi].limit())));
                        else y.position(1 + r.nextInt(n));
                    }
                    case "heap" -> {
                        if (vi < nin) in[vi] = FloatBuffer.wrap(data(in[vi].capacity()));
                        else y = ystore = FloatBuffer.allocate(n);
                    }
                    case "order" -> {
                        FloatBuffer big = ByteBuffer.allocateDirect(4 * Math.max(1, vi < nin ? in[vi].capacity() : n)).asFloatBuffer();
                        if (vi < nin) in[vi] = big;
                        else y = ystore = big;
                    }
                    case "channels" -> { }  // the shape is the fault
                    case "readonly" -> y = ystore.asReadOnlyBuffer();
                    case "misaligned" -> {
                        int len = vi < nin ? t.inShape(vi, shape).numelInt() : n;
                        FloatBuffer mis = ByteBuffer.allocateDirect(4 * len + 8).position(1 + r.nextInt(3)).slice()
                                .order(ByteOrder.nativeOrder()).asFloatBuffer();
                        if (vi < nin) in[vi] = mis;
                        else y = ystore = mis;
                    }
                    case "same" -> { in[vi] = y; }
                    default -> {  // overlap: y and input vi in one buffer, shifted
                        int len = t.inShape(vi, shape).numelInt();
                        int off = 1 + r.nextInt(Math.max(1, Math.min(len, n) - 1));
                        if (Math.min(len, n) < 2) off = 0;  // one element: only "the same" is possible
                        FloatBuffer all = direct(Math.max(len, n) + off);
                        FloatBuffer a = all.duplicate();
                        FloatBuffer b = all.duplicate();
                        boolean yFirst = r.nextBoolean();
                        a.position(yFirst ? off : 0);
                        b.position(yFirst ? 0 : off);
                        in[vi] = a;
                        y = b;
                        ystore = all;
                        if (off == 0 && t.sameOk(vi)) {  // allowed: make it a different fault
                            in[vi] = null;
                        }
                    }
                }
                if (ystore != null) { fill(ystore, SENTINEL); outs.add(of(ystore)); }
                final FloatBuffer yy = y;
                String[] fr = fl.equals("overlap") && in[vi] == null ? f(t.inName(vi) + " is null") : frag;
                expectBad(call, "memory/" + fl, what, fr, outs, () -> t.apply(in, yy, shape));
            }
            case POINTER -> {
                FloatPointer[] in = new FloatPointer[nin];
                List<FloatPointer> owned = new ArrayList<>();
                for (int i = 0; i < nin; i++) { in[i] = inputPointer(t.inShape(i, shape).numel()); owned.add(in[i]); }
                long n = shape.numel();
                FloatPointer y = new FloatPointer(n);
                owned.add(y);
                long ylen = n;
                FloatPointer ystore = y;
                switch (fl) {
                    case "null" -> { if (vi < nin) in[vi] = null; else y = ystore = null; }
                    case "short" -> {  // one element short (with one element: a position past it instead)
                        long len = vi < nin ? t.inShape(vi, shape).numel() : n;
                        if (len < 2) {
                            if (vi < nin) in[vi].position(1);
                            else y.position(1);
                        } else if (vi < nin) {
                            in[vi] = owned(owned, inputPointer(len - 1));
                        } else {
                            y = ystore = owned(owned, new FloatPointer(n - 1));
                            ylen = n - 1;
                        }
                    }
                    case "position" -> {
                        if (vi < nin) in[vi].position(1 + r.nextInt((int) Math.max(1, in[vi].limit())));
                        else y.position(1 + r.nextInt((int) n));
                    }
                    case "channels" -> { }  // the shape is the fault
                    case "closed" -> {
                        if (vi < nin) in[vi].close();
                        else { y.close(); ystore = null; }
                    }
                    case "negative" -> {
                        if (vi < nin) in[vi].position(-1 - r.nextInt(100));
                        else y.position(-1 - r.nextInt(100));
                    }
                    case "misaligned" -> {
                        long len = vi < nin ? t.inShape(vi, shape).numel() : n;
                        FloatBuffer mis = ByteBuffer.allocateDirect((int) (4 * len + 8)).position(1 + r.nextInt(3)).slice()
                                .order(ByteOrder.nativeOrder()).asFloatBuffer();
                        FloatPointer mp = owned(owned, new FloatPointer(mis));
                        if (vi < nin) in[vi] = mp;
                        else { y = ystore = mp; ylen = mis.capacity(); }
                    }
                    case "cast", "limit", "raw" -> {
                        // counts that lie: a FloatPointer of a BytePointer (bytes counted as floats),
                        // a limit past the allocation, a raw address (no allocation to check against)
                        long len = vi < nin ? t.inShape(vi, shape).numel() : n;
                        FloatPointer bad;
                        if (fl.equals("cast")) {
                            org.bytedeco.javacpp.BytePointer bytes = new org.bytedeco.javacpp.BytePointer(Math.max(4, 4 * len - 4));
                            owned.add(new FloatPointer(bytes));  // closes bytes with it
                            bad = new FloatPointer(bytes);
                        } else {
                            FloatPointer small = owned(owned, new FloatPointer(Math.max(1, len - 1)));
                            if (fl.equals("limit")) {
                                bad = new FloatPointer(small);
                                bad.limit(10 * len).capacity(10 * len);
                            } else {
                                final long rawAddress = small.address();
                                bad = new FloatPointer(new org.bytedeco.javacpp.Pointer() { { address = rawAddress; } });
                                bad.limit(len);
                            }
                        }
                        if (len < 2 && !fl.equals("raw")) bad.position(1);  // one float: position past it
                        if (vi < nin) in[vi] = bad;
                        else { y = bad; ystore = null; }
                    }
                    case "same" -> { in[vi] = y; }
                    default -> {  // overlap
                        long len = t.inShape(vi, shape).numel();
                        long m = Math.min(len, n);
                        long off = m < 2 ? 0 : 1 + r.nextInt((int) (m - 1));
                        FloatPointer all = owned(owned, new FloatPointer(Math.max(len, n) + off));
                        boolean yFirst = r.nextBoolean();
                        // views of `all` (JavaCPP copies: they free nothing themselves)
                        in[vi] = new FloatPointer(all).position(yFirst ? off : 0);
                        y = new FloatPointer(all).position(yFirst ? 0 : off);
                        ystore = all;
                        ylen = Math.max(len, n) + off;
                        if (off == 0 && t.sameOk(vi)) in[vi] = null;
                    }
                }
                if (ystore != null) { fill(ystore, ylen, SENTINEL); outs.add(of(ystore, ylen)); }
                final FloatPointer yy = y;
                String[] fr = fl.equals("overlap") && in[vi] == null ? f(t.inName(vi) + " is null") : frag;
                try {
                    expectBad(call, "memory/" + fl, what, fr, outs, () -> t.apply(in, yy, shape));
                } finally {
                    for (FloatPointer p : owned) p.close();
                }
            }
        }
    }

    static FloatPointer owned(List<FloatPointer> owned, FloatPointer p) {
        owned.add(p);
        return p;
    }

    FloatBuffer inputBuffer(int n) {
        FloatBuffer b = direct(n);
        for (int i = 0; i < n; i++) b.put(i, value());
        return b;
    }

    FloatPointer inputPointer(long n) {
        FloatPointer p = new FloatPointer(n);
        putAt(p, 0, data((int) n));
        return p;
    }

    // -- shapes that cannot exist or cannot fit the memory kind
    void badShape(int call) {
        Target t = pick();
        int k = r.nextInt(5);
        long[] dims = {1 + r.nextInt(2), t.channels > 0 ? t.channels : 1 + r.nextInt(3), 1 + r.nextInt(8), 1 + r.nextInt(8)};
        float[] y = new float[64];
        Arrays.fill(y, SENTINEL);
        List<Storage> outs = List.of(of(y));
        switch (k) {
            case 0 -> {
                long[] bad = {0, -1, -r.nextInt(Integer.MAX_VALUE) - 1L, Long.MIN_VALUE, -(1L << 40)};
                dims[r.nextInt(4)] = bad[r.nextInt(bad.length)];
                expectBad(call, "shape/dimension", t + " shape " + Arrays.toString(dims), f("dimension < 1"), outs,
                        () -> t.apply(new float[][] {y, y}, y, Shape.of(dims[0], dims[1], dims[2], dims[3])));
            }
            case 1 -> {
                long[] big = {Long.MAX_VALUE, 1L << 40, 1L << 33, Integer.MAX_VALUE};
                for (int i = 0; i < 4; i++) if (i != 1 || t.channels < 0) dims[i] = big[r.nextInt(big.length)];
                expectBad(call, "shape/overflow", t + " shape " + Arrays.toString(dims), f("too large"), outs,
                        () -> t.apply(new float[][] {y, y}, y, Shape.of(dims[0], dims[1], dims[2], dims[3])));
            }
            case 2 -> {  // valid, but more elements than a Java array holds
                Shape s = Shape.of(1, dims[1], 1L << 16, 1L << 15 | r.nextInt(1000));
                float[][] in = new float[t.inputs()][];
                for (int i = 0; i < in.length; i++) in[i] = new float[8];
                expectBad(call, "shape/too-big-for-arrays", t + " shape " + s, f("too many for a java array"), outs,
                        () -> t.apply(in, y, s));
            }
            case 3 -> {  // valid and huge with small FloatPointers: the bounds check must catch it
                Shape s = Shape.of(1 + r.nextInt(4), dims[1], 1L << 20, 1L << 20);
                FloatPointer[] in = new FloatPointer[t.inputs()];
                for (int i = 0; i < in.length; i++) in[i] = new FloatPointer(64);
                FloatPointer yp = new FloatPointer(64);
                fill(yp, 64, SENTINEL);
                try {
                    expectBad(call, "shape/huge-pointers", t + " shape " + s, f("elements from its position"), List.of(of(yp, 64)),
                            () -> t.apply(in, yp, s));
                } finally {
                    for (FloatPointer p : in) p.close();
                    yp.close();
                }
            }
            default -> expectBad(call, "shape/null", t + " null shape", f("shape is null"), outs,
                    () -> t.apply(new float[][] {new float[4], new float[4]}, y, null));
        }
    }

    void closedOperator(int call) {
        Target t = pick().closedTwin();
        Shape s = validShape(t);
        float[][] in = new float[t.inputs()][];
        for (int i = 0; i < in.length; i++) in[i] = data(t.inShape(i, s).numelInt());
        float[] y = new float[s.numelInt()];
        Arrays.fill(y, SENTINEL);
        expectBad(call, "closed-operator", t + " closed", f("is closed"), List.of(of(y)), () -> {
            try {
                t.apply(in, y, s);
            } catch (SpatialActException e) {
                if (e.code() != SpatialActException.Code.CLOSED) throw new AssertionError("code " + e.code() + ": " + e.getMessage());
                throw e;
            }
        });
    }

    void deviceWithoutGpu(int call) {
        Target t = pick();
        Shape s = validShape(t);
        int k = r.nextInt(3);
        long[] junk = {1L << 20, 2L << 20};
        if (k == 0) {
            boolean cpuOnly = t.op.backend() == Backend.CPU;
            expectBad(call, "device/no-gpu", t + " applyDevice", cpuOnly ? f("cpu backend") : f("unavailable"), List.of(),
                    () -> t.applyDevice(junk, 3L << 20, s));
        } else if (k == 1) {
            expectBad(call, "device/no-gpu", "DeviceTensor.allocate " + s, f("unavailable"), List.of(), () -> DeviceTensor.allocate(s));
        } else {
            expectBad(call, "device/no-gpu", "LeakyReLU on Backend.CUDA", f("unavailable"), List.of(),
                    () -> LeakyReLU.builder().backend(Backend.CUDA).build());
        }
    }

    // -- parameters at the builders
    static final float[] NONFINITE = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};

    float nonFinite() {
        return NONFINITE[r.nextInt(3)];
    }

    float[] withBad(int n, float bad) {
        float[] a = values(n, 1);
        a[r.nextInt(n)] = bad;
        return a;
    }

    void badParameters(int call) {
        int which = r.nextInt(7);
        Runnable body;
        String[] frag;
        String what;
        switch (which) {
            case 0 -> {  // LeakyReLU
                if (r.nextInt(4) == 0) {
                    what = "LeakyReLU backend null";
                    frag = f("backend is null");
                    body = () -> LeakyReLU.builder().backend(null).build().close();
                } else {
                    float a = nonFinite();
                    what = "LeakyReLU alpha " + a;
                    frag = f("alpha = " + a);
                    body = () -> LeakyReLU.of(a).close();
                }
            }
            case 1 -> {  // PReLU
                int k = r.nextInt(3);
                if (k == 0) {
                    what = "PReLU alphas null";
                    frag = f("alphas is null");
                    body = () -> PReLU.builder().alphas((float[]) null).build().close();
                } else if (k == 1) {
                    what = "PReLU alphas empty";
                    frag = f("alphas is empty");
                    body = () -> PReLU.of().close();
                } else {
                    float[] a = withBad(1 + r.nextInt(8), nonFinite());
                    what = "PReLU alphas " + Arrays.toString(a);
                    frag = f("alphas[");
                    body = () -> PReLU.of(a).close();
                }
            }
            case 2, 3 -> {  // FReLU
                FreluFault ff = freluFault(which == 3);
                what = ff.what;
                frag = ff.frag;
                body = ff.body;
            }
            case 4 -> {  // Star
                if (r.nextBoolean()) {
                    what = "Star act null";
                    frag = f("act is null");
                    body = () -> Star.builder().act(null).build().close();
                } else {
                    float a = nonFinite();
                    Star.Act act = Star.Act.values()[r.nextInt(4)];
                    what = "Star " + act + " alpha " + a;
                    frag = f("alpha = " + a);
                    body = () -> Star.builder().act(act).alpha(a).build().close();
                }
            }
            default -> {  // TD / NTD
                TdFault tf = tdFault(which == 6);
                what = tf.what;
                frag = tf.frag;
                body = tf.body;
            }
        }
        expectBad(call, "parameters/" + what.split(" ")[0], what, frag, List.of(), body);
    }

    record FreluFault(String what, String[] frag, Runnable body) {}

    FreluFault freluFault(boolean light) {
        final int c = 1 + r.nextInt(4);
        final int k = 1 + 2 * r.nextInt(4);
        final String v = light ? "light" : "full";
        Supplier<FReLU.Builder> base = () -> {
            FReLU.Builder b = light ? FReLU.lightBuilder(c) : FReLU.builder(c);
            b.kernelSize(k).weight(values(light ? c * k : c * k * k, 0.5));
            if (light) b.weightVertical(values(c * k, 0.5));
            return b;
        };
        float[] one = values(c, 1);
        float[] pos = new float[c];
        Arrays.fill(pos, 1f);
        int fault = r.nextInt(light ? 13 : 14);
        switch (fault) {
            case 0: {
                int[] bad = {0, -1, Integer.MIN_VALUE, -r.nextInt(1000) - 2};
                int ch = bad[r.nextInt(bad.length)];
                return new FreluFault("FReLU-" + v + " channels " + ch, f("channels = " + ch),
                        () -> (light ? FReLU.lightBuilder(ch) : FReLU.builder(ch)).build().close());
            }
            case 1: {
                int[] bad = {0, -1, 2, 4, 6, 8, 9, 11, Integer.MAX_VALUE, Integer.MIN_VALUE, -3};
                int kk = bad[r.nextInt(bad.length)];
                return new FreluFault("FReLU-" + v + " k " + kk, f("k = " + kk), () -> base.get().kernelSize(kk).build().close());
            }
            case 2:
                return new FreluFault("FReLU-" + v + " weight null", f("is null"), () -> base.get().weight(null).build().close());
            case 3: {
                int len = (light ? c * k : c * k * k) + (r.nextBoolean() ? 1 : -1);
                return new FreluFault("FReLU-" + v + " weight length " + len, f("has " + len + " values"),
                        () -> base.get().weight(values(len, 1)).build().close());
            }
            case 4: {
                float[] w = withBad(light ? c * k : c * k * k, nonFinite());
                return new FreluFault("FReLU-" + v + " weight non-finite", f("must be finite"),
                        () -> base.get().weight(w).build().close());
            }
            case 5: {
                int g = r.nextInt(4);
                String[] names = {"gamma", "beta", "running_mean", "running_var"};
                float[][] arrs = {one.clone(), one.clone(), one.clone(), pos.clone()};
                int mode = r.nextInt(3);
                if (mode == 0) arrs[g] = null;
                else if (mode == 1) arrs[g] = values(c + 1 + r.nextInt(3), 1);
                else arrs[g] = withBad(c, nonFinite());
                String fr = mode == 0 ? names[g] + " is null" : mode == 1 ? names[g] + " has" : names[g] + "[";
                return new FreluFault("FReLU-" + v + " batchNorm " + names[g] + " mode " + mode, f(fr),
                        () -> base.get().batchNorm(arrs[0], arrs[1], arrs[2], arrs[3]).build().close());
            }
            case 6: {
                float[] var = pos.clone();
                int i = r.nextInt(c);
                var[i] = -(float) (0.01 + r.nextDouble() * 10);
                return new FreluFault("FReLU-" + v + " running_var negative", f("running_var[" + i + "]"),
                        () -> base.get().batchNorm(one, one, one, var).build().close());
            }
            case 7: {
                float[] bad = {0f, -1f, -Float.MIN_VALUE, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
                float e = bad[r.nextInt(bad.length)];
                return new FreluFault("FReLU-" + v + " eps " + e, f("eps = " + e),
                        () -> base.get().batchNorm(one, one, one, pos).eps(e).build().close());
            }
            case 8:
                return new FreluFault("FReLU-" + v + " raw and folded BN", f("not both"),
                        () -> base.get().batchNorm(one, one, one, pos).foldedBatchNorm(one, one).build().close());
            case 9: {
                int mode = r.nextInt(3);
                float[] sc = mode == 0 ? null : mode == 1 ? values(c + 2, 1) : withBad(c, nonFinite());
                String fr = mode == 0 ? "scale is null" : mode == 1 ? "scale has" : "scale[";
                return new FreluFault("FReLU-" + v + " folded scale mode " + mode, f(fr),
                        () -> base.get().foldedBatchNorm(sc, one).build().close());
            }
            case 10:
                if (light)
                    return new FreluFault("FReLU-light convBias", f("no conv bias"), () -> base.get().convBias(one).build().close());
                else {
                    int mode = r.nextInt(2);
                    float[] b = mode == 0 ? values(c + 1, 1) : withBad(c, nonFinite());
                    return new FreluFault("FReLU-full convBias mode " + mode, mode == 0 ? f("convBias has") : f("convBias[", "conv_bias["),
                            () -> base.get().convBias(b).build().close());
                }
            case 11:
                if (light) {
                    int mode = r.nextInt(3);
                    float[] w2 = mode == 0 ? null : mode == 1 ? values(c * k + 1, 1) : withBad(c * k, nonFinite());
                    // Values are checked natively, which names the C parameter (weight_vertical).
                    String[] fr = mode == 0 ? f("weightVertical (k x 1) is null") : mode == 1 ? f("weightVertical (k x 1) has")
                            : f("weightVertical (k x 1)[", "weight_vertical[");
                    return new FreluFault("FReLU-light weightVertical mode " + mode, fr,
                            () -> base.get().weightVertical(w2).build().close());
                } else {
                    return new FreluFault("FReLU-full weightVertical", f("light variant only"),
                            () -> base.get().weightVertical(values(c * k, 1)).build().close());
                }
            case 12:
                if (light) {
                    float[] var = pos.clone();
                    var[0] = r.nextBoolean() ? -1f : Float.NaN;
                    return new FreluFault("FReLU-light batchNormVertical running_var " + var[0], f("running_var"),
                            () -> base.get().batchNormVertical(one, one, one, var).build().close());
                } else {
                    return new FreluFault("FReLU-full batchNormVertical", f("light variant only"),
                            () -> base.get().batchNormVertical(one, one, one, pos).build().close());
                }
            default:
                return new FreluFault("FReLU-" + v + " backend null", f("backend is null"),
                        () -> base.get().backend(null).build().close());
        }
    }

    record TdFault(String what, String[] frag, Runnable body) {}

    TdFault tdFault(boolean nonlocal) {
        String name = nonlocal ? "NTD-LReLU" : "TD-LReLU";
        Supplier<TDLReLU.AbstractBuilder<?>> base = () -> nonlocal ? (TDLReLU.AbstractBuilder<?>) NTDLReLU.builder()
                : (TDLReLU.AbstractBuilder<?>) TDLReLU.builder();
        int fault = r.nextInt(nonlocal ? 12 : 7);
        switch (fault) {
            case 0: {
                float[] bad = {-0.5f, 1f, 1.5f, -Float.MIN_VALUE, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE};
                float a = bad[r.nextInt(bad.length)];
                return new TdFault(name + " alpha " + a, f("alpha = " + a), () -> build(base.get().alpha(a)));
            }
            case 1: {
                float[] bad = {-1f, -Float.MIN_VALUE, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -Float.MAX_VALUE};
                float l = bad[r.nextInt(bad.length)];
                return new TdFault(name + " lambda " + l, f("lambda = " + l), () -> build(base.get().lambda(l)));
            }
            case 2: {
                float[] bad = {0f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
                float s = bad[r.nextInt(bad.length)];
                return new TdFault(name + " sigma " + s, f("sigma = " + s), () -> build(base.get().sigma(s)));
            }
            case 3: {
                float[] huge = {11f, 100f, 1e30f, Float.MAX_VALUE};
                float s = huge[r.nextInt(huge.length)];
                return new TdFault(name + " sigma " + s + " (radius > 32)", f("exceeds the maximum"), () -> build(base.get().sigma(s)));
            }
            case 4: {
                int[] bad = {0, -1, Integer.MIN_VALUE, 33, 1000, Integer.MAX_VALUE};
                int rad = bad[r.nextInt(bad.length)];
                return new TdFault(name + " radius " + rad, f("radius = " + rad), () -> build(base.get().radius(rad)));
            }
            case 5: {
                int[] bad = {-1, 1001, Integer.MAX_VALUE, Integer.MIN_VALUE};
                int it = bad[r.nextInt(bad.length)];
                return new TdFault(name + " iterations " + it, f("iterations = " + it), () -> build(base.get().iterations(it)));
            }
            case 6: {
                float[] bad = {-1e-3f, -Float.MIN_VALUE, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
                float e = bad[r.nextInt(bad.length)];
                return new TdFault(name + " epsilon " + e, f("eps = " + e), () -> build(base.get().epsilon(e)));
            }
            case 7: {
                int[] bad = {-1, 8, Integer.MAX_VALUE, Integer.MIN_VALUE};
                int s = bad[r.nextInt(bad.length)];
                return new TdFault(name + " search " + s, f("search = " + s), () -> NTDLReLU.builder().search(s).build().close());
            }
            case 8: {
                int[] bad = {-1, 4, Integer.MAX_VALUE, Integer.MIN_VALUE};
                int p = bad[r.nextInt(bad.length)];
                return new TdFault(name + " patch " + p, f("patch = " + p), () -> NTDLReLU.builder().patch(p).build().close());
            }
            case 9: {
                float[] bad = {0f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
                float h = bad[r.nextInt(bad.length)];
                return new TdFault(name + " h " + h, f("h = " + h), () -> NTDLReLU.builder().h(h).build().close());
            }
            case 10: {
                int s = r.nextInt(4);
                int window = (2 * s + 1) * (2 * s + 1);
                int[] bad = {-1, window + 1, Integer.MAX_VALUE, Integer.MIN_VALUE};
                int k = bad[r.nextInt(bad.length)];
                return new TdFault(name + " search " + s + " knn " + k, f("knn = " + k),
                        () -> NTDLReLU.builder().search(s).knn(k).build().close());
            }
            default: {
                long[] bad = {-1, Long.MIN_VALUE, -(1L << 40)};
                long g = bad[r.nextInt(bad.length)];
                return new TdFault(name + " guideChannels " + g, f("guideChannels = " + g, "guide_channels = " + g),
                        () -> NTDLReLU.builder().guideChannels(g).build().close());
            }
        }
    }

    static void build(TDLReLU.AbstractBuilder<?> b) {
        if (b instanceof NTDLReLU.Builder nb) nb.build().close();
        else ((TDLReLU.Builder) b).build().close();
    }

    // ---- valid calls --------------------------------------------------------------------

    void validCall(int call) {
        valid++;
        Target t = pick();
        Shape s = validShape(t);
        int nin = t.inputs();
        int n = s.numelInt();
        float[][] x = new float[nin][];
        for (int i = 0; i < nin; i++) x[i] = data(t.inShape(i, s).numelInt());
        // Reference: the float[] path on copies.
        float[][] xc = new float[nin][];
        for (int i = 0; i < nin; i++) xc[i] = x[i].clone();
        float[] expected = new float[n];
        Kind kind = Kind.values()[r.nextInt(3)];
        int inPlace = -1;
        for (int i = 0; i < nin; i++) if (t.sameOk(i) && r.nextInt(4) == 0) inPlace = i;
        String what = t + " valid " + kind + " " + s + (inPlace >= 0 ? " in place of " + t.inName(inPlace) : "");
        try {
            t.apply(xc, expected, s);
            int[] got;
            List<Storage> outside = new ArrayList<>();
            switch (kind) {
                case ARRAY -> {
                    float[] y;
                    if (inPlace >= 0) y = x[inPlace];
                    else { y = new float[n]; Arrays.fill(y, SENTINEL); }
                    t.apply(x, y, s);
                    got = bits(y, 0, n);
                }
                case BUFFER -> {
                    FloatBuffer[] in = new FloatBuffer[nin];
                    for (int i = 0; i < nin; i++) {
                        int pre = r.nextInt(4), post = r.nextInt(4);
                        FloatBuffer b = direct(x[i].length + pre + post);
                        fill(b, SENTINEL);
                        for (int j = 0; j < x[i].length; j++) b.put(pre + j, x[i][j]);
                        b.position(pre);
                        if (r.nextBoolean()) b.limit(pre + x[i].length);
                        in[i] = (inPlace != i && r.nextInt(3) == 0) ? b.asReadOnlyBuffer() : b;
                    }
                    FloatBuffer y;
                    int ypre;
                    FloatBuffer store;
                    if (inPlace >= 0) {
                        y = in[inPlace];
                        store = y.duplicate();
                        ypre = y.position();
                    } else {
                        ypre = r.nextInt(4);
                        store = direct(n + ypre + r.nextInt(4));
                        fill(store, SENTINEL);
                        y = store.duplicate();
                        y.position(ypre);
                    }
                    int posBefore = y.position();
                    t.apply(in, y, s);
                    if (y.position() != posBefore) throw new AssertionError("the call moved y's position");
                    FloatBuffer st = store;
                    int[] g = new int[n];
                    for (int j = 0; j < n; j++) g[j] = Float.floatToRawIntBits(st.get(ypre + j));
                    got = g;
                    if (inPlace < 0) outside.add(window(of(store), ypre, n));
                }
                case POINTER -> {
                    List<FloatPointer> owned = new ArrayList<>();
                    try {
                        FloatPointer[] in = new FloatPointer[nin];
                        for (int i = 0; i < nin; i++) {
                            int pre = r.nextInt(4), post = r.nextInt(4);
                            FloatPointer p = owned(owned, new FloatPointer(x[i].length + pre + post));
                            fill(p, x[i].length + pre + post, SENTINEL);
                            putAt(p, pre, x[i]);
                            in[i] = p.position(pre);
                        }
                        FloatPointer y;
                        long ypre, ylen;
                        FloatPointer store;
                        if (inPlace >= 0) {
                            y = in[inPlace];
                            store = y;
                            ypre = y.position();
                            ylen = y.limit();
                        } else {
                            ypre = r.nextInt(4);
                            ylen = n + ypre + r.nextInt(4);
                            store = owned(owned, new FloatPointer(ylen));
                            fill(store, ylen, SENTINEL);
                            y = new FloatPointer(store).position(ypre);
                        }
                        t.apply(in, y, s);
                        int[] g = new int[n];
                        FloatPointer base = at0(store);
                        for (int j = 0; j < n; j++) g[j] = Float.floatToRawIntBits(base.get(ypre + j));
                        got = g;
                        if (inPlace < 0 && !allSentinel(window(of(store, ylen), ypre, n))) {
                            touched++;
                            problem("call " + call + " " + what + ": wrote outside y's window");
                        }
                    } finally {
                        for (FloatPointer p : owned) p.close();
                    }
                }
                default -> throw new IllegalStateException();
            }
            if (!Arrays.equals(got, bits(expected, 0, n))) {
                validFailures++;
                problem("call " + call + " " + what + ": result differs from the float[] path");
            }
            for (Storage w : outside) {
                if (!allSentinel(w)) {
                    touched++;
                    problem("call " + call + " " + what + ": wrote outside y's window");
                }
            }
        } catch (Throwable e) {
            validFailures++;
            problem("call " + call + " " + what + ": threw " + e);
        }
    }

    static int[] bits(float[] a, int from, int n) {
        int[] b = new int[n];
        for (int i = 0; i < n; i++) b[i] = Float.floatToRawIntBits(a[from + i]);
        return b;
    }

    /** The storage outside [from, from + n): what a call on that window must not touch. */
    static Storage window(Storage s, long from, long n) {
        return new Storage() {
            public int get(long i) { return s.get(i < from ? i : i + n); }
            public long size() { return s.size() - n; }
        };
    }
}
