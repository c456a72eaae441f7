package dev.spatialact;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * TD-LReLU and NTD-LReLU on the CPU backend against the float64 reference (TdReference), and the
 * properties the spec lists. The native program test_td checks the same and more (energy,
 * boundary length, NaN/Inf) without Java.
 */
class TdOperatorTest {
    static final long SEED = 4242L;
    /** Soft form: relative L2 error bound against float64. */
    static final double SOFT_REL_L2_TOL = 1e-5;
    /** Hard form: fraction of elements whose gate may differ (flips within rounding of f = 0). */
    static final double HARD_MAX_FLIP_FRACTION = 1e-3;
    /** Hard form: where the reference's |f| stays at least this large, the result must be exact. */
    static final double HARD_EXACT_MARGIN = 1e-4;

    static final Shape[] SHAPES = {
        Shape.of(1, 1, 1, 1), Shape.of(1, 1, 1, 2), Shape.of(1, 1, 2, 1), Shape.of(1, 2, 2, 2), Shape.of(2, 3, 5, 7),
        Shape.of(1, 2, 1, 33), Shape.of(1, 1, 40, 1), Shape.of(2, 2, 37, 45), Shape.of(1, 3, 70, 90),
    };

    static TDLReLU.Builder tdBuilder(float lambda, float sigma, int radius, int T, float eps) {
        TDLReLU.Builder b = TDLReLU.builder().alpha(0.05f).lambda(lambda).sigma(sigma).iterations(T).epsilon(eps).backend(Backend.CPU);
        if (radius > 0) b.radius(radius);
        return b;
    }

    /** Hard form comparison: few flips, and exact agreement where the reference is far from f = 0. */
    static void assertHardClose(TdReference.Result want, float[] got, long seed, String what) {
        int flips = 0, far = 0;
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < got.length; i++) {
            boolean same = (float) want.y[i] == got[i];
            if (!same) flips++;
            if (!same && want.minAbsF[i] >= HARD_EXACT_MARGIN) {
                far++;
                if (bad.size() < Ref.MAX_REPORTED) bad.add("[" + i + "] want " + want.y[i] + " got " + got[i] + " min|f| " + want.minAbsF[i]);
            }
        }
        double frac = flips / (double) got.length;
        if (far > 0 || (frac > HARD_MAX_FLIP_FRACTION && flips > 1))
            throw new AssertionError(what + " (seed " + seed + "): " + flips + " differing elements (" + frac + "), " + far
                    + " of them where min|f| >= " + HARD_EXACT_MARGIN + "; first: " + bad);
    }

    @Test
    void tdSoftAndHardMatchReference() {
        SplittableRandom r = new SplittableRandom(SEED);
        for (Shape s : SHAPES) {
            float[] o = Ref.input(r, s.numelInt(), false);
            for (float[] cfg : new float[][] {{0.3f, 1.0f, 0, 5}, {0.7f, 1.5f, 0, 3}, {0.2f, 0.8f, 2, 10}}) {
                for (float eps : new float[] {0f, 0.05f}) {
                    try (TDLReLU op = tdBuilder(cfg[0], cfg[1], (int) cfg[2], (int) cfg[3], eps).build()) {
                        TdReference.Result want = TdReference.td(o, s, op.settings(), false);
                        float[] got = op.apply(o, s);
                        String what = op + " " + s;
                        if (eps > 0) Ref.assertClose(want.y, got, SOFT_REL_L2_TOL, SEED, what);
                        else assertHardClose(want, got, SEED, what);
                    }
                }
            }
        }
    }

    @Test
    void lambdaZeroOrNoIterationsIsLeakyReluExactly() {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        Shape s = Shape.of(2, 3, 31, 29);
        float[] o = Ref.input(r, s.numelInt(), true);
        float[] leaky;
        try (LeakyReLU l = LeakyReLU.of(0.05f)) {
            leaky = l.apply(o, s);
        }
        try (TDLReLU a = tdBuilder(0f, 1f, 0, 5, 0f).build(); TDLReLU b = tdBuilder(0.5f, 1f, 0, 0, 0f).build()) {
            assertArrayEquals(leaky, a.apply(o, s), "lambda = 0");
            assertArrayEquals(leaky, b.apply(o, s), "T = 0");
        }
    }

    @Test
    void constantSignPlaneIsUnchanged() {
        Shape s = Shape.of(1, 2, 23, 19);
        SplittableRandom r = new SplittableRandom(SEED + 2);
        float[] o = new float[s.numelInt()];
        for (int i = 0; i < o.length; i++) o[i] = (float) (0.1 + r.nextDouble()) * (i < o.length / 2 ? 1 : -1);
        try (TDLReLU op = tdBuilder(0.5f, 1f, 0, 10, 0f).build(); LeakyReLU l = LeakyReLU.of(0.05f)) {
            assertArrayEquals(l.apply(o, s), op.apply(o, s));
        }
    }

    @Test
    void ntdMatchesReference() {
        SplittableRandom r = new SplittableRandom(SEED + 3);
        for (Shape s : new Shape[] {Shape.of(1, 1, 1, 1), Shape.of(1, 2, 2, 3), Shape.of(2, 3, 9, 11), Shape.of(1, 2, 24, 17)}) {
            float[] o = Ref.input(r, s.numelInt(), false);
            float[] guide = Ref.input(r, (int) (s.n() * 2 * s.h() * s.w()), false);
            for (int knn : new int[] {0, 5}) {
                for (float eps : new float[] {0.05f, 0f}) {
                    for (boolean withGuide : new boolean[] {false, true}) {
                        NTDLReLU.Builder b = NTDLReLU.builder().alpha(0.05f).lambda(0.4f).iterations(3).epsilon(eps)
                                .search(2).patch(1).h(0.8f).knn(knn).backend(Backend.CPU);
                        if (withGuide) b.guideChannels(2);
                        try (NTDLReLU op = b.build()) {
                            TdReference.Result want = TdReference.ntd(o, withGuide ? guide : null, 2, s, op.settings(), 2, 1, 0.8, knn);
                            float[] got = new float[o.length];
                            if (withGuide) op.apply(o, guide, got, s);
                            else op.apply(o, got, s);
                            String what = op + " " + s;
                            if (eps > 0) Ref.assertClose(want.y, got, SOFT_REL_L2_TOL, SEED + 3, what);
                            else assertHardClose(want, got, SEED + 3, what);
                        }
                    }
                }
            }
        }
    }

    @Test
    void badParametersAreRejectedWithTheirName() {
        assertBad("alpha = 1.0", () -> TDLReLU.builder().alpha(1f).build());
        assertBad("alpha = -0.1", () -> TDLReLU.builder().alpha(-0.1f).build());
        assertBad("lambda = -1.0", () -> TDLReLU.builder().lambda(-1f).build());
        assertBad("lambda = NaN", () -> TDLReLU.builder().lambda(Float.NaN).build());
        assertBad("sigma = 0.0", () -> TDLReLU.builder().sigma(0f).build());
        assertBad("radius = 33 exceeds", () -> TDLReLU.builder().radius(33).build());
        assertBad("radius = 0", () -> TDLReLU.builder().radius(0));
        assertBad("radius = 45 exceeds", () -> TDLReLU.builder().sigma(15f).build());
        assertBad("iterations = -1", () -> TDLReLU.builder().iterations(-1).build());
        assertBad("eps = -0.5", () -> TDLReLU.builder().epsilon(-0.5f).build());
        assertBad("search = 8", () -> NTDLReLU.builder().search(8).build());
        assertBad("patch = -1", () -> NTDLReLU.builder().patch(-1).build());
        assertBad("h = 0.0", () -> NTDLReLU.builder().h(0f).build());
        assertBad("knn = 50", () -> NTDLReLU.builder().search(3).knn(50).build());
        try (NTDLReLU op = NTDLReLU.builder().guideChannels(2).build()) {
            assertBad("guide with 2 channels", () -> op.apply(new float[4], new float[4], Shape.of(1, 1, 2, 2)));
            float[] y = new float[4];
            java.util.Arrays.fill(y, 9f);
            assertBad("guide has 4 elements", () -> op.apply(new float[4], new float[4], y, Shape.of(1, 1, 2, 2)));
            for (float v : y) assertEquals(9f, v);
        }
        try (TDLReLU op = TDLReLU.builder().build()) {
            float[] x = new float[6];
            assertBad("aliases", () -> op.apply(x, x, Shape.of(1, 1, 2, 3)));
        }
    }

    static void assertBad(String fragment, org.junit.jupiter.api.function.Executable e) {
        SpatialActException ex = assertThrows(SpatialActException.class, e);
        assertEquals(SpatialActException.Code.INVALID_ARGUMENT, ex.code(), ex.getMessage());
        assertTrue(ex.getMessage().contains(fragment), "'" + ex.getMessage() + "' should contain '" + fragment + "'");
    }
}
