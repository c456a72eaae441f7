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
    /** {@link LeakyReLU}; sample: alpha 0.01. */
    LEAKY_RELU("leaky-relu", SpatialActNative.SA_OP_LEAKY_RELU,
            (c, b) -> LeakyReLU.builder().alpha(LeakyReLU.DEFAULT_ALPHA).backend(b).build()),
    /** ReLU, {@link LeakyReLU} with alpha 0. */
    RELU("relu", SpatialActNative.SA_OP_LEAKY_RELU, (c, b) -> LeakyReLU.builder().alpha(0f).backend(b).build()),
    /** {@link PReLU}; sample: slopes from 0.25 on channel 0 down to 0.05 on the last. */
    PRELU("prelu", SpatialActNative.SA_OP_LEAKY_RELU, (c, b) -> PReLU.builder().alphas(sampleSlopes(c)).backend(b).build()),
    /** {@link FReLU}, k x k; sample: k = 3, seeded random weights with a conv bias, eps 1e-5. */
    FRELU("frelu", SpatialActNative.SA_OP_FRELU, (c, b) -> FReLUWeights.random(c, 3, false, 11).build(FReLU.DEFAULT_EPS, b)),
    /** {@link FReLU}, light (1 x k + k x 1); sample: k = 3, seeded random weights, eps 1e-5. */
    FRELU_LIGHT("frelu-light", SpatialActNative.SA_OP_FRELU,
            (c, b) -> FReLUWeights.random(c, 3, true, 12).build(FReLU.DEFAULT_EPS, b)),
    /** {@link Star}, two inputs (a, b); sample: y = relu(a) * b. */
    STAR("star", SpatialActNative.SA_OP_STAR, (c, b) -> Star.builder().act(Star.Act.RELU).backend(b).build()),
    /** {@link TDLReLU}; sample: the default parameters. */
    TD_LRELU("td-lrelu", SpatialActNative.SA_OP_TD_LRELU, (c, b) -> TDLReLU.builder().backend(b).build()),
    /**
     * {@link NTDLReLU}, inputs (o, guide); sample: the default parameters, the channel mean as
     * the guide (so it takes o alone).
     */
    NTD_LRELU("ntd-lrelu", SpatialActNative.SA_OP_NTD_LRELU, (c, b) -> NTDLReLU.builder().backend(b).build());

    private final String cliName;
    private final int nativeOp;
    private final BiFunction<Integer, Backend, NativeOperator> sample;

    OperatorKind(String cliName, int nativeOp, BiFunction<Integer, Backend, NativeOperator> sample) {
        this.cliName = cliName;
        this.nativeOp = nativeOp;
        this.sample = sample;
    }

    /** {@return the name the command-line tool uses, e.g. "frelu-light"} */
    public String cliName() {
        return cliName;
    }

    /** {@return the row of the native operator table (SA_OP_* of the C header) this operator runs on} */
    public int nativeOp() {
        return nativeOp;
    }

    /**
     * The operator's tensor inputs, in order, as the native table names them.
     *
     * @return the names (unmodifiable), e.g. ["x"], ["a", "b"], ["o", "guide"]
     */
    public List<String> inputNames() {
        return List.of(Operands.of(nativeOp).inputs);
    }

    /**
     * The inputs a {@link #sample} takes: all of {@link #inputNames()} but a guide (the sample
     * uses its default, the channel mean).
     *
     * @return the number of tensor inputs to pass to the sample's {@code forward}
     */
    public int sampleInputs() {
        Operands o = Operands.of(nativeOp);
        int n = 0;
        for (int i = 0; i < o.inputs.length; i++) if (!o.isGuide(i)) n++;
        return n;
    }

    /**
     * Whether the output may be the given input itself (in place). Any other overlap of the
     * output with an input is always rejected.
     *
     * @param input the index of the input in {@link #inputNames()}
     * @return true if y may be that very array, buffer or tensor
     */
    public boolean mayRunInPlace(int input) {
        return Operands.of(nativeOp).mayAlias(input);
    }

    /**
     * A sample instance for tensors of {@code channels} channels: the spec's default parameters,
     * seeded weights (FReLU), slopes from 0.25 down to 0.05 (PReLU), star with relu. The caller
     * closes it.
     *
     * @param channels C of the tensors it will take, at least 1 (PReLU and FReLU have per-channel
     *     parameters; the others take any C)
     * @param backend the backend to build it for
     * @return the new operator
     * @throws SpatialActException as the operator's builder: INVALID_ARGUMENT for channels below
     *     1 (PReLU, FReLU) or a null backend; BACKEND_UNAVAILABLE if the native library, or the
     *     CUDA backend asked for, is unavailable
     */
    public NativeOperator sample(int channels, Backend backend) {
        return sample.apply(channels, backend);
    }

    /**
     * The row of an operator name as the CLI spells it.
     *
     * @param name the name, e.g. "td-lrelu" (exact, case-sensitive); may be null
     * @return the row, or null if no operator has that name
     */
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
