package dev.spatialact;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every operator on the CPU backend against the float64 reference: every instruction set the CPU
 * has, every kind of memory, tiny, odd, wide and large shapes, with NaN and +-Inf.
 */
class CpuOperatorTest {
    static final long SEED = 20261122L;

    static final Shape[] SHAPES = {
        Shape.of(1, 1, 1, 1), Shape.of(1, 1, 1, 2), Shape.of(1, 1, 2, 1), Shape.of(1, 1, 2, 2),
        Shape.of(1, 3, 1, 7), Shape.of(2, 3, 7, 1), Shape.of(2, 3, 2, 5), Shape.of(2, 3, 5, 7),
        Shape.of(1, 1, 17, 33), Shape.of(3, 2, 9, 2), Shape.of(2, 5, 33, 65), Shape.of(1, 2, 5, 2100),
        Shape.of(2, 16, 64, 70), Shape.of(1, 4, 300, 257),
    };
    /** Large enough for the threaded paths (> 2^20 elements). */
    static final Shape BIG = Shape.of(2, 32, 130, 129);

    enum Mem { ARRAY, BUFFER, POINTER }

    @AfterAll
    static void restoreIsa() {
        for (int isa = 2; isa >= 0; isa--) {
            if (SpatialAct.cpuIsaSupported(isa)) {
                SpatialAct.setCpuIsa(isa);
                break;
            }
        }
    }

    static List<Integer> isas() {
        List<Integer> l = new ArrayList<>();
        for (int isa = 0; isa <= 2; isa++) if (SpatialAct.cpuIsaSupported(isa)) l.add(isa);
        return l;
    }

    /** Runs op on x through the given memory kind, with the data at a non-zero position. */
    static float[] run(UnaryActivation op, float[] x, Shape s, Mem mem) {
        int n = x.length;
        switch (mem) {
            case ARRAY: {
                float[] y = new float[n];
                java.util.Arrays.fill(y, -777f);  // poisoned
                op.apply(x, y, s);
                return y;
            }
            case BUFFER: {
                int off = 3;
                FloatBuffer xb = ByteBuffer.allocateDirect(4 * (n + off)).order(ByteOrder.nativeOrder()).asFloatBuffer();
                FloatBuffer yb = ByteBuffer.allocateDirect(4 * (n + off)).order(ByteOrder.nativeOrder()).asFloatBuffer();
                xb.position(off);
                xb.put(x);
                xb.position(off);
                yb.position(off);
                op.apply(xb, yb, s);
                assertEquals(off, yb.position(), "apply must not move the buffer's position");
                float[] y = new float[n];
                yb.get(y);
                return y;
            }
            default: {
                try (FloatPointer xp = new FloatPointer(n + 5L); FloatPointer yp = new FloatPointer(n + 5L)) {
                    xp.position(5).put(x);
                    yp.position(5);
                    op.apply(xp, yp, s);
                    float[] y = new float[n];
                    yp.get(y);
                    return y;
                }
            }
        }
    }

    static Stream<Arguments> freluCases() {
        List<Arguments> l = new ArrayList<>();
        for (int k : new int[] {1, 3, 5, 7})
            for (boolean light : new boolean[] {false, true})
                l.add(Arguments.of(k, light, !light && k != 5, k == 5 || light));
        l.add(Arguments.of(3, false, false, false));  // plain conv, no BN, no bias
        return l.stream();
    }

    @ParameterizedTest(name = "k={0} light={1} bias={2} bn={3}")
    @MethodSource("freluCases")
    void freluMatchesReference(int k, boolean light, boolean bias, boolean bn) {
        long seed = SEED + k * 31L + (light ? 7 : 0);
        SplittableRandom r = new SplittableRandom(seed);
        for (int isa : isas()) {
            SpatialAct.setCpuIsa(isa);
            for (Shape s : SHAPES) {
                Ref.FreluParams p = Ref.randomFrelu(r, (int) s.c(), k, light, bias, bn);
                float[] x = Ref.input(r, s.numelInt(), true);
                double[] want = Ref.frelu(x, s, p);
                try (FReLU op = p.build(Backend.CPU)) {
                    for (Mem mem : Mem.values())
                        Ref.assertClose(want, run(op, x, s, mem), Ref.REL_L2_TOL, seed,
                                p + " " + s + " isa=" + SpatialAct.isaName(isa) + " " + mem);
                }
            }
        }
    }

    @Test
    void freluBigShapeEveryIsa() {
        SplittableRandom r = new SplittableRandom(SEED);
        float[] x = Ref.input(r, BIG.numelInt(), true);
        for (boolean light : new boolean[] {false, true}) {
            Ref.FreluParams p = Ref.randomFrelu(r, (int) BIG.c(), 3, light, !light, true);
            double[] want = Ref.frelu(x, BIG, p);
            try (FReLU op = p.build(Backend.AUTO)) {
                for (int isa : isas()) {
                    SpatialAct.setCpuIsa(isa);
                    Ref.assertClose(want, run(op, x, BIG, Mem.ARRAY), Ref.REL_L2_TOL, SEED, p + " " + BIG + " isa=" + isa);
                }
            }
        }
    }

    @Test
    void leakyReluAndReluAndPrelu() {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        List<Shape> shapes = new ArrayList<>(List.of(SHAPES));
        shapes.add(BIG);
        for (int isa : isas()) {
            SpatialAct.setCpuIsa(isa);
            for (Shape s : shapes) {
                float[] x = Ref.input(r, s.numelInt(), true);
                for (float alpha : new float[] {0.01f, 0f, 0.2f, -0.5f}) {
                    try (LeakyReLU op = LeakyReLU.builder().alpha(alpha).backend(Backend.CPU).build()) {
                        double[] want = Ref.leakyRelu(x, s, alpha, null);
                        for (Mem mem : Mem.values())
                            Ref.assertClose(want, run(op, x, s, mem), Ref.REL_L2_TOL, SEED, op + " " + s + " isa=" + isa + " " + mem);
                    }
                }
                float[] alphas = Ref.uniform(r, (int) s.c(), 0.5);
                try (PReLU op = PReLU.builder().alphas(alphas).backend(Backend.CPU).build()) {
                    double[] want = Ref.leakyRelu(x, s, 0, alphas);
                    for (Mem mem : Mem.values())
                        Ref.assertClose(want, run(op, x, s, mem), Ref.REL_L2_TOL, SEED, op + " " + s + " isa=" + isa + " " + mem);
                }
            }
        }
    }

    @Test
    void leakyReluInPlace() {
        SplittableRandom r = new SplittableRandom(SEED + 2);
        Shape s = Shape.of(2, 3, 40, 41);
        float[] x = Ref.input(r, s.numelInt(), true);
        double[] want = Ref.leakyRelu(x, s, 0.1f, null);
        try (LeakyReLU op = LeakyReLU.of(0.1f)) {
            op.apply(x, x, s);
        }
        Ref.assertClose(want, x, Ref.REL_L2_TOL, SEED + 2, "in-place LeakyReLU");
    }

    @Test
    void starEveryAct() {
        SplittableRandom r = new SplittableRandom(SEED + 3);
        List<Shape> shapes = new ArrayList<>(List.of(SHAPES));
        shapes.add(BIG);
        for (int isa : isas()) {
            SpatialAct.setCpuIsa(isa);
            for (Shape s : shapes) {
                float[] a = Ref.input(r, s.numelInt(), true);
                // a spread past 6 so relu6 clips
                for (int i = 0; i < a.length; i += 5) a[i] *= 4;
                float[] b = Ref.input(r, s.numelInt(), true);
                for (Star.Act act : Star.Act.values()) {
                    try (Star op = Star.builder().act(act).alpha(0.05f).backend(Backend.CPU).build()) {
                        double[] want = Ref.star(a, b, act, 0.05f);
                        String what = op + " " + s + " isa=" + isa;
                        Ref.assertClose(want, op.apply(a, b, s), Ref.REL_L2_TOL, SEED, what + " ARRAY");
                        int n = a.length;
                        FloatBuffer ab = direct(a), bb = direct(b), yb = direct(new float[n]);
                        op.apply(ab, bb, yb, s);
                        float[] y = new float[n];
                        yb.get(y);
                        Ref.assertClose(want, y, Ref.REL_L2_TOL, SEED, what + " BUFFER");
                        try (FloatPointer ap = new FloatPointer(a); FloatPointer bp = new FloatPointer(b);
                                FloatPointer yp = new FloatPointer(n)) {
                            op.apply(ap, bp, yp, s);
                            yp.get(y);
                        }
                        Ref.assertClose(want, y, Ref.REL_L2_TOL, SEED, what + " POINTER");
                    }
                }
            }
        }
    }

    @Test
    void starInPlaceOnEitherInput() {
        SplittableRandom r = new SplittableRandom(SEED + 4);
        Shape s = Shape.of(1, 2, 31, 33);
        float[] a = Ref.input(r, s.numelInt(), false), b = Ref.input(r, s.numelInt(), false);
        double[] want = Ref.star(a, b, Star.Act.RELU, 0);
        try (Star op = Star.of(Star.Act.RELU)) {
            float[] a2 = a.clone(), b2 = b.clone();
            op.apply(a2, b, a2, s);
            op.apply(a, b2, b2, s);
            Ref.assertClose(want, a2, Ref.REL_L2_TOL, SEED + 4, "star into a");
            Ref.assertClose(want, b2, Ref.REL_L2_TOL, SEED + 4, "star into b");
        }
    }

    @Test
    void identityFreluIsMaxOfXAndShift() {
        // k = 1, weight 1, no BN: y = max(x, x) = x exactly, NaN/Inf included.
        SplittableRandom r = new SplittableRandom(SEED + 5);
        Shape s = Shape.of(2, 3, 11, 13);
        float[] w = {1f, 1f, 1f};
        float[] x = Ref.input(r, s.numelInt(), true);
        try (FReLU op = FReLU.builder(3).kernelSize(1).weight(w).build()) {
            float[] y = op.apply(x, s);
            for (int i = 0; i < x.length; i++)
                assertEquals(Float.floatToIntBits(x[i]) == Float.floatToIntBits(Float.NaN) ? Float.NaN : x[i], y[i], 0f, "at " + i);
        }
    }

    static FloatBuffer direct(float[] a) {
        FloatBuffer b = ByteBuffer.allocateDirect(4 * a.length).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.put(a).flip();
        return b;
    }
}
