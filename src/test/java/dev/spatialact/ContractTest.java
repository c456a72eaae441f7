package dev.spatialact;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.SpatialActNative;
import dev.spatialact.internal.SpatialActNative.sa_params;

/**
 * The parameter contract is the C header's: the constants mirrored in Java equal the header's,
 * the Java defaults equal sa_params_init's, the operand table is the native one, and the FReLU
 * preparation rounds once.
 */
class ContractTest {
    @org.junit.jupiter.api.BeforeAll
    static void load() {
        dev.spatialact.internal.NativeLoader.ensureLoaded();  // like every entry of SpatialActNative
    }

    @Test
    void mirroredConstantsEqualTheHeader() {
        int[][] pairs = {
            {SpatialActNative.SA_OK, SpatialActNative.SA_OK()},
            {SpatialActNative.SA_ERR_INVALID_ARGUMENT, SpatialActNative.SA_ERR_INVALID_ARGUMENT()},
            {SpatialActNative.SA_ERR_OUT_OF_MEMORY, SpatialActNative.SA_ERR_OUT_OF_MEMORY()},
            {SpatialActNative.SA_ERR_NOT_IMPLEMENTED, SpatialActNative.SA_ERR_NOT_IMPLEMENTED()},
            {SpatialActNative.SA_ERR_NO_CUDA, SpatialActNative.SA_ERR_NO_CUDA()},
            {SpatialActNative.SA_ERR_CUDA, SpatialActNative.SA_ERR_CUDA()},
            {SpatialActNative.SA_ERR_INTERNAL, SpatialActNative.SA_ERR_INTERNAL()},
            {SpatialActNative.SA_ERR_CANCELLED, SpatialActNative.SA_ERR_CANCELLED()},
            {SpatialActNative.SA_ACT_IDENTITY, SpatialActNative.SA_ACT_IDENTITY()},
            {SpatialActNative.SA_ACT_RELU, SpatialActNative.SA_ACT_RELU()},
            {SpatialActNative.SA_ACT_RELU6, SpatialActNative.SA_ACT_RELU6()},
            {SpatialActNative.SA_ACT_LEAKY_RELU, SpatialActNative.SA_ACT_LEAKY_RELU()},
            {SpatialActNative.SA_FRELU_FULL, SpatialActNative.SA_FRELU_FULL()},
            {SpatialActNative.SA_FRELU_LIGHT, SpatialActNative.SA_FRELU_LIGHT()},
            {SpatialActNative.SA_ISA_BASELINE, SpatialActNative.SA_ISA_BASELINE()},
            {SpatialActNative.SA_ISA_AVX2, SpatialActNative.SA_ISA_AVX2()},
            {SpatialActNative.SA_ISA_AVX512, SpatialActNative.SA_ISA_AVX512()},
            {SpatialActNative.SA_FRELU_MAX_K, SpatialActNative.SA_FRELU_MAX_K()},
            {SpatialActNative.SA_TD_MAX_RADIUS, SpatialActNative.SA_TD_MAX_RADIUS()},
            {SpatialActNative.SA_TD_MAX_ITERATIONS, SpatialActNative.SA_TD_MAX_ITERATIONS()},
            {SpatialActNative.SA_NTD_MAX_SEARCH, SpatialActNative.SA_NTD_MAX_SEARCH()},
            {SpatialActNative.SA_NTD_MAX_PATCH, SpatialActNative.SA_NTD_MAX_PATCH()},
            {SpatialActNative.SA_OP_LEAKY_RELU, SpatialActNative.SA_OP_LEAKY_RELU()},
            {SpatialActNative.SA_OP_FRELU, SpatialActNative.SA_OP_FRELU()},
            {SpatialActNative.SA_OP_STAR, SpatialActNative.SA_OP_STAR()},
            {SpatialActNative.SA_OP_TD_LRELU, SpatialActNative.SA_OP_TD_LRELU()},
            {SpatialActNative.SA_OP_NTD_LRELU, SpatialActNative.SA_OP_NTD_LRELU()},
            {SpatialActNative.SA_OP_COUNT, SpatialActNative.SA_OP_COUNT()},
            {SpatialActNative.SA_MAX_INPUTS, SpatialActNative.SA_MAX_INPUTS()},
        };
        for (int i = 0; i < pairs.length; i++) assertEquals(pairs[i][1], pairs[i][0], "mirrored constant #" + i);
        assertEquals(SpatialActNative.SA_FRELU_DEFAULT_BN_EPS(), SpatialActNative.SA_FRELU_DEFAULT_BN_EPS);
    }

    @Test
    void javaDefaultsEqualTheHeaderDefaults() {
        try (sa_params p = Native.newParams()) {
            assertEquals(p.alpha(), LeakyReLU.DEFAULT_ALPHA);
            assertEquals(p.alpha(), TDLReLU.DEFAULT_ALPHA);
            assertEquals(p.lambda(), TDLReLU.DEFAULT_LAMBDA);
            assertEquals(p.sigma(), TDLReLU.DEFAULT_SIGMA);
            assertEquals(p.eps(), TDLReLU.DEFAULT_EPS);
            assertEquals(p.iterations(), TDLReLU.DEFAULT_ITERATIONS);
            assertEquals(p.search(), NTDLReLU.DEFAULT_SEARCH);
            assertEquals(p.patch(), NTDLReLU.DEFAULT_PATCH);
            assertEquals(p.h(), NTDLReLU.DEFAULT_H);
            assertEquals(p.knn(), NTDLReLU.DEFAULT_KNN);
            assertEquals(p.k(), FReLU.DEFAULT_KERNEL_SIZE);
            assertEquals(p.variant(), SpatialActNative.SA_FRELU_FULL);
            assertEquals(p.act(), Star.Act.IDENTITY.code);
            assertEquals(0, p.radius());
            assertEquals(0L, p.guide_channels());
        }
        assertEquals(SpatialActNative.SA_FRELU_DEFAULT_BN_EPS(), FReLU.DEFAULT_EPS);
        // What a default builder gives is the defaults too.
        try (TDLReLU td = TDLReLU.builder().build(); NTDLReLU ntd = NTDLReLU.builder().build()) {
            assertEquals(TDLReLU.DEFAULT_LAMBDA, td.settings().lambda());
            assertEquals(3, td.settings().radius(), "ceil(3 sigma) of the default sigma, the native rule");
            assertEquals(NTDLReLU.DEFAULT_SEARCH, ntd.search());
        }
    }

    @Test
    void operandsAreTheNativeTable() {
        assertEquals(SpatialActNative.SA_OP_COUNT, Operands.count());
        String[][] want = {{"leaky_relu", "x"}, {"frelu", "x"}, {"star", "a", "b"}, {"td_lrelu", "o"}, {"ntd_lrelu", "o", "guide"}};
        for (int op = 0; op < want.length; op++) {
            Operands o = Operands.of(op);
            assertEquals(want[op][0], o.name);
            assertEquals(want[op].length - 1, o.inputs.length, o.name);
            for (int i = 0; i < o.inputs.length; i++) assertEquals(want[op][i + 1], o.inputs[i], o.name);
        }
        assertTrue(Operands.of(SpatialActNative.SA_OP_LEAKY_RELU).mayAlias(0));
        assertTrue(!Operands.of(SpatialActNative.SA_OP_FRELU).mayAlias(0));
        assertTrue(Operands.of(SpatialActNative.SA_OP_STAR).mayAlias(0) && Operands.of(SpatialActNative.SA_OP_STAR).mayAlias(1));
        assertTrue(Operands.of(SpatialActNative.SA_OP_NTD_LRELU).isGuide(1));
        assertEquals(Shape.of(2, 5, 3, 4), Operands.of(SpatialActNative.SA_OP_NTD_LRELU).inputShape(1, Shape.of(2, 7, 3, 4), 5));
    }

    @Test
    void builderMessagesAreTheNativeChecks() {
        // The same parameter block rejected by the builder and by sa_check_params: the same text.
        try (sa_params p = Native.newParams().lambda(-2f)) {
            assertEquals(SpatialActNative.SA_ERR_INVALID_ARGUMENT, SpatialActNative.sa_check_params(SpatialActNative.SA_OP_TD_LRELU, p));
            String c = SpatialActNative.sa_last_error().getString();
            SpatialActException e = org.junit.jupiter.api.Assertions.assertThrows(SpatialActException.class,
                    () -> TDLReLU.builder().lambda(-2f).build());
            assertEquals(c, e.getMessage());
            assertTrue(c.contains("lambda = -2.0 must be finite and >= 0"), c);
        }
    }

    /**
     * FReLU's batch norm is folded and multiplied into the weights in double, rounded to float
     * once: w' = (float)(gamma / sqrt(var + eps) * w), t = (float)(beta + s (b - mean)).
     */
    @Test
    void freluPreparationRoundsOnce() {
        Random r = new Random(20261201L);
        int C = 64, k = 5, kk = k * k;
        float[] w = new float[C * kk], g = new float[C], be = new float[C], m = new float[C], v = new float[C], cb = new float[C];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        for (int c = 0; c < C; c++) {
            g[c] = (float) (0.5 + r.nextDouble());
            be[c] = (float) r.nextGaussian();
            m[c] = (float) r.nextGaussian();
            v[c] = (float) (0.1 + r.nextDouble());
            cb[c] = (float) r.nextGaussian();
        }
        float eps = 1e-3f;
        try (FReLU f = FReLU.builder(C).kernelSize(k).weight(w).convBias(cb).batchNorm(g, be, m, v).eps(eps).build()) {
            float[] gotW = f.preparedWeight(), gotB = f.preparedBias();
            float[] wantW = new float[w.length], wantB = new float[C];
            int roundedTwiceDiffers = 0;
            for (int c = 0; c < C; c++) {
                double s = g[c] / Math.sqrt((double) v[c] + eps);
                wantB[c] = (float) (be[c] + s * ((double) cb[c] - m[c]));
                for (int i = 0; i < kk; i++) {
                    wantW[c * kk + i] = (float) (s * w[c * kk + i]);
                    if ((float) ((float) s * (double) w[c * kk + i]) != wantW[c * kk + i]) roundedTwiceDiffers++;
                }
            }
            assertArrayEquals(wantW, gotW);
            assertArrayEquals(wantB, gotB);
            assertTrue(roundedTwiceDiffers > 0, "the data must tell one rounding from two");
        }
    }
}
