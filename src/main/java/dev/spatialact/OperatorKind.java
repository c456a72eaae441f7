package dev.spatialact;

import java.util.List;
import java.util.function.BiFunction;

import dev.spatialact.internal.SpatialActNative;
import dev.spatialact.io.FReLUWeights;

/**
 * The library's operators, one row each (lz4-java's {@code Instances} style): the one list that
 * the CLI, the demo, the tests and the benchmarks iterate. A row names the operator as the CLI
 * spells it, the native operator-table row it runs on (its operands: {@link #inputNames()},
 * {@link #mayRunInPlace(int)}), and makes a sample instance with the spec's default parameters
 * and seeded weights. Adding an operator is its kernels, its C table row, its Java class and a
 * row here.
 */
public enum OperatorKind {
    LEAKY_RELU("leaky-relu", SpatialActNative.SA_OP_LEAKY_RELU,
            (c, b) -> LeakyReLU.builder().alpha(LeakyReLU.DEFAULT_ALPHA).backend(b).build()),
    RELU("relu", SpatialActNative.SA_OP_LEAKY_RELU, (c, b) -> LeakyReLU.builder().alpha(0f).backend(b).build()),
    PRELU("prelu", SpatialActNative.SA_OP_LEAKY_RELU, (c, b) -> PReLU.builder().alphas(sampleSlopes(c)).backend(b).build()),
    FRELU("frelu", SpatialActNative.SA_OP_FRELU, (c, b) -> FReLUWeights.random(c, 3, false, 11).build(FReLU.DEFAULT_EPS, b)),
    FRELU_LIGHT("frelu-light", SpatialActNative.SA_OP_FRELU,
            (c, b) -> FReLUWeights.random(c, 3, true, 12).build(FReLU.DEFAULT_EPS, b)),
    STAR("star", SpatialActNative.SA_OP_STAR, (c, b) -> Star.builder().act(Star.Act.RELU).backend(b).build()),
    TD_LRELU("td-lrelu", SpatialActNative.SA_OP_TD_LRELU, (c, b) -> TDLReLU.builder().backend(b).build()),
    NTD_LRELU("ntd-lrelu", SpatialActNative.SA_OP_NTD_LRELU, (c, b) -> NTDLReLU.builder().backend(b).build());

    private final String cliName;
    private final int nativeOp;
    private final BiFunction<Integer, Backend, NativeOperator> sample;

    OperatorKind(String cliName, int nativeOp, BiFunction<Integer, Backend, NativeOperator> sample) {
        this.cliName = cliName;
        this.nativeOp = nativeOp;
        this.sample = sample;
    }

    /** The name the command-line tool uses, e.g. "frelu-light". */
    public String cliName() {
        return cliName;
    }

    /** The row of the native operator table (SA_OP_* of the C header) this operator runs on. */
    public int nativeOp() {
        return nativeOp;
    }

    /** The tensor inputs a sample takes, in order, as the native table names them. */
    public List<String> inputNames() {
        return List.of(Operands.of(nativeOp).inputs);
    }

    /** The inputs a {@link #sample} takes: all of {@link #inputNames()} but a guide (the sample uses its default). */
    public int sampleInputs() {
        Operands o = Operands.of(nativeOp);
        int n = 0;
        for (int i = 0; i < o.inputs.length; i++) if (!o.isGuide(i)) n++;
        return n;
    }

    /** True if the output may be input i itself (in place). */
    public boolean mayRunInPlace(int input) {
        return Operands.of(nativeOp).mayAlias(input);
    }

    /**
     * A sample instance for tensors of {@code channels} channels: the spec's default parameters,
     * seeded weights (FReLU), slopes from 0.25 down to 0.05 (PReLU), star with relu. The caller
     * closes it.
     */
    public NativeOperator sample(int channels, Backend backend) {
        return sample.apply(channels, backend);
    }

    /** The row of an operator name as the CLI spells it, or null. */
    public static OperatorKind ofCliName(String name) {
        for (OperatorKind k : values()) if (k.cliName.equals(name)) return k;
        return null;
    }

    /** PReLU slopes of the sample: 0.25 (PyTorch's init) on channel 0 down to 0.05 on the last. */
    static float[] sampleSlopes(int c) {
        float[] s = new float[c];
        for (int i = 0; i < c; i++) s[i] = 0.25f - 0.2f * i / Math.max(1, c - 1);
        return s;
    }
}
