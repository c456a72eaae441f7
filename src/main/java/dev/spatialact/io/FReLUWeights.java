package dev.spatialact.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import dev.spatialact.Backend;
import dev.spatialact.FReLU;
import dev.spatialact.SpatialActException;
import dev.spatialact.internal.Native;
import dev.spatialact.internal.SpatialActNative;
import dev.spatialact.SpatialActException.Code;

/**
 * The raw parameters of an FReLU module, read from or written to a folder of {@code .npy} files
 * named as in a PyTorch {@code state_dict} ({@code NAME.npy}, optionally with a prefix such as
 * {@code "act."} for {@code act.conv.weight.npy}). float32 or float64 files are accepted.
 *
 * <p><b>FReLU (k x k)</b>, as in the MegEngine original and the YOLOv5 / EasyCV ports
 * ({@code self.conv = nn.Conv2d(C, C, k, 1, k // 2, groups=C, bias=...)},
 * {@code self.bn = nn.BatchNorm2d(C)}):
 * <pre>
 *   conv.weight        (C, 1, k, k)   required; C and k come from here
 *   conv.bias          (C,)           optional (MegEngine has one, YOLOv5 and EasyCV do not)
 *   bn.weight          (C,)           gamma   \
 *   bn.bias            (C,)           beta     | all four required
 *   bn.running_mean    (C,)                    |
 *   bn.running_var     (C,)                   /
 * </pre>
 * ({@code bn.num_batches_tracked} is ignored.)
 *
 * <p><b>FReLU-light</b> (the ShuffleNetV2 variant, T = BN1(conv 1xk (x)) + BN2(conv kx1 (x))); the
 * names this project chose:
 * <pre>
 *   conv1.weight       (C, 1, 1, k)   the horizontal 1 x k depthwise conv
 *   conv2.weight       (C, 1, k, 1)   the vertical k x 1 depthwise conv
 *   conv1.bias, conv2.bias (C,)       optional; folded into the BN's running mean
 *                                     (BN(conv + b) = BN'(conv) with mean' = mean - b)
 *   bn1.weight, bn1.bias, bn1.running_mean, bn1.running_var   (C,)  BN of the 1 x k branch
 *   bn2.weight, bn2.bias, bn2.running_mean, bn2.running_var   (C,)  BN of the k x 1 branch
 * </pre>
 * A folder holds one variant; {@link #read(Path, String)} tells them apart by
 * {@code conv.weight.npy} versus {@code conv1.weight.npy}.
 *
 * <p>Missing files are {@link Code#IO} errors; files of the wrong shape, or a folder holding
 * both variants, are {@link Code#FORMAT} errors naming the file, the expected and the actual
 * shape. Instances are immutable (arrays are copied in and out).
 */
public final class FReLUWeights {
    /** Batch-norm parameter suffixes in PyTorch's state_dict order. */
    public static final String[] BN_PARAMS = {"weight", "bias", "running_mean", "running_var"};

    private final int channels, k;
    private final boolean light;
    /** full: C*k*k; light: the 1 x k weights, C*k. */
    private final float[] weight;
    /** light only: the k x 1 weights, C*k. */
    private final float[] weightVertical;
    /** full only, optional. */
    private final float[] convBias;
    /** {gamma, beta, running_mean, running_var}: BN (full) or BN1 (light). */
    private final float[][] bn;
    /** light only: BN2. */
    private final float[][] bnVertical;

    private FReLUWeights(int channels, int k, boolean light, float[] weight, float[] weightVertical, float[] convBias,
            float[][] bn, float[][] bnVertical) {
        this.channels = channels;
        this.k = k;
        this.light = light;
        this.weight = weight;
        this.weightVertical = weightVertical;
        this.convBias = convBias;
        this.bn = bn;
        this.bnVertical = bnVertical;
    }

    // ---- construction ---------------------------------------------------------------------

    /**
     * Parameters of the k x k FReLU. weight is C*k*k (PyTorch's C x 1 x k x k flattened);
     * convBias is C values or null; gamma, beta, runningMean and runningVar are C values each.
     * The arrays are copied.
     *
     * @param channels C, at least 1
     * @param k the kernel size, odd in [1, 7]
     * @param weight the depthwise conv weights, C*k*k values
     * @param convBias the conv bias, C values, or null for none
     * @param gamma the batch norm's scales, C values
     * @param beta the batch norm's shifts, C values
     * @param runningMean the batch norm's running means, C values
     * @param runningVar the batch norm's running variances, C values
     * @return the parameters
     * @throws SpatialActException INVALID_ARGUMENT if channels is below 1, k is not odd in
     *     [1, 7], C*k*k exceeds a Java array, or an array is null or of the wrong length (the
     *     values are checked when the operator is built); BACKEND_UNAVAILABLE if the native
     *     library cannot be loaded (it checks k)
     */
    public static FReLUWeights full(int channels, int k, float[] weight, float[] convBias, float[] gamma, float[] beta,
            float[] runningMean, float[] runningVar) {
        checkDims(channels, k);
        float[] w = copy(weight, "weight", (long) channels * k * k);
        float[] b = convBias == null ? null : copy(convBias, "convBias", channels);
        return new FReLUWeights(channels, k, false, w, null, b, bn(channels, "", gamma, beta, runningMean, runningVar), null);
    }

    /**
     * Parameters of FReLU-light: weight1xk and weightkx1 are C*k each; the two batch norms C
     * values per array. The arrays are copied.
     *
     * @param channels C, at least 1
     * @param k the kernel size, odd in [1, 7]
     * @param weight1xk the horizontal 1 x k depthwise weights, C*k values
     * @param weightkx1 the vertical k x 1 depthwise weights, C*k values
     * @param gamma1 the scales of the 1 x k branch's batch norm, C values
     * @param beta1 its shifts, C values
     * @param runningMean1 its running means, C values
     * @param runningVar1 its running variances, C values
     * @param gamma2 the scales of the k x 1 branch's batch norm, C values
     * @param beta2 its shifts, C values
     * @param runningMean2 its running means, C values
     * @param runningVar2 its running variances, C values
     * @return the parameters
     * @throws SpatialActException INVALID_ARGUMENT if channels is below 1, k is not odd in
     *     [1, 7], C*k*k exceeds a Java array, or an array is null or of the wrong length (the
     *     values are checked when the operator is built); BACKEND_UNAVAILABLE if the native
     *     library cannot be loaded (it checks k)
     */
    public static FReLUWeights light(int channels, int k, float[] weight1xk, float[] weightkx1, float[] gamma1, float[] beta1,
            float[] runningMean1, float[] runningVar1, float[] gamma2, float[] beta2, float[] runningMean2, float[] runningVar2) {
        checkDims(channels, k);
        float[] wh = copy(weight1xk, "weight1xk", (long) channels * k);
        float[] wv = copy(weightkx1, "weightkx1", (long) channels * k);
        return new FReLUWeights(channels, k, true, wh, wv, null, bn(channels, "1", gamma1, beta1, runningMean1, runningVar1),
                bn(channels, "2", gamma2, beta2, runningMean2, runningVar2));
    }

    /**
     * Deterministic random parameters for trying FReLU out (and for tests and the demo): conv
     * weights He-initialised for a depthwise fan-in (normal, std sqrt(2 / fan_in)), a small conv
     * bias (full variant), gamma in [0.5, 1.5], beta and running_mean normal with std 0.1,
     * running_var in [0.5, 1.5]. The same seed always gives the same parameters.
     *
     * @param channels C, at least 1
     * @param k the kernel size, odd in [1, 7]
     * @param light true for FReLU-light, false for the k x k variant
     * @param seed the random seed
     * @return the parameters
     * @throws SpatialActException INVALID_ARGUMENT if channels is below 1, k is not odd in
     *     [1, 7], or C*k*k exceeds a Java array; BACKEND_UNAVAILABLE if the native library cannot
     *     be loaded
     */
    public static FReLUWeights random(int channels, int k, boolean light, long seed) {
        checkDims(channels, k);
        SplittableRandom r = new SplittableRandom(seed);
        int fanIn = light ? k : k * k;
        double std = Math.sqrt(2.0 / fanIn);
        float[] w = normal(r, channels * (light ? k : k * k), std);
        if (!light)
            return new FReLUWeights(channels, k, false, w, null, normal(r, channels, 0.05), randomBn(r, channels), null);
        float[] wv = normal(r, channels * k, std);
        return new FReLUWeights(channels, k, true, w, wv, null, randomBn(r, channels), randomBn(r, channels));
    }

    private static float[][] randomBn(SplittableRandom r, int c) {
        return new float[][] {uniform(r, c, 0.5, 1.5), normal(r, c, 0.1), normal(r, c, 0.1), uniform(r, c, 0.5, 1.5)};
    }

    private static float[] normal(SplittableRandom r, int n, double std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller: deterministic for a seed, independent of the JDK's nextGaussian.
            double u1 = 1.0 - r.nextDouble(), u2 = r.nextDouble();
            a[i] = (float) (std * Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return a;
    }

    private static float[] uniform(SplittableRandom r, int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return a;
    }

    // ---- accessors --------------------------------------------------------------------------

    /** {@return C, the number of channels} */
    public int channels() { return channels; }
    /** {@return the kernel size k} */
    public int kernelSize() { return k; }
    /** {@return true for FReLU-light, false for the k x k variant} */
    public boolean isLight() { return light; }
    /** {@return the conv weights, a copy: full C*k*k; light the 1 x k weights, C*k} */
    public float[] weight() { return weight.clone(); }
    /** {@return light: the k x 1 weights (C*k), a copy; null for the full variant} */
    public float[] weightVertical() { return weightVertical == null ? null : weightVertical.clone(); }
    /** {@return the conv bias (C values), a copy; null if there is none (always for the light variant)} */
    public float[] convBias() { return convBias == null ? null : convBias.clone(); }
    /**
     * A parameter of BN (full) or BN1 (light).
     *
     * @param i the index in {@link #BN_PARAMS}: 0 gamma, 1 beta, 2 running_mean, 3 running_var
     * @return its C values, a copy
     * @throws ArrayIndexOutOfBoundsException if i is not in [0, 3]
     */
    public float[] batchNorm(int i) { return bn[i].clone(); }
    /**
     * A parameter of BN2, the k x 1 branch's batch norm (light only).
     *
     * @param i the index in {@link #BN_PARAMS}: 0 gamma, 1 beta, 2 running_mean, 3 running_var
     * @return its C values, a copy; null for the full variant
     * @throws ArrayIndexOutOfBoundsException if i is not in [0, 3] (light variant)
     */
    public float[] batchNormVertical(int i) { return bnVertical == null ? null : bnVertical[i].clone(); }

    // ---- building the operator --------------------------------------------------------------

    /**
     * The FReLU operator with these parameters, eps 1e-5, on the AUTO backend.
     *
     * @return the operator; the caller closes it
     * @throws SpatialActException as {@link #build(float, Backend)}
     */
    public FReLU build() {
        return build(FReLU.DEFAULT_EPS, Backend.AUTO);
    }

    /**
     * The FReLU operator with these parameters: batch norm with this eps, on this backend.
     *
     * @param eps the batch norm's eps, finite and {@code > 0}
     * @param backend the backend; not null
     * @return the operator; the caller closes it
     * @throws SpatialActException as {@link FReLU.Builder#build()}: INVALID_ARGUMENT for a value
     *     that is not finite, a negative variance, an eps that is not {@code > 0}, a fold that
     *     overflows, or a null backend; BACKEND_UNAVAILABLE if the library or the CUDA backend
     *     asked for is unavailable
     */
    public FReLU build(float eps, Backend backend) {
        FReLU.Builder b = light ? FReLU.lightBuilder(channels) : FReLU.builder(channels);
        b.kernelSize(k).weight(weight).batchNorm(bn[0], bn[1], bn[2], bn[3]).eps(eps).backend(backend);
        if (light) b.weightVertical(weightVertical).batchNormVertical(bnVertical[0], bnVertical[1], bnVertical[2], bnVertical[3]);
        else if (convBias != null) b.convBias(convBias);
        return b.build();
    }

    // ---- files ------------------------------------------------------------------------------

    /**
     * Loads an FReLU (either variant) from a folder without prefix: eps 1e-5, AUTO backend.
     *
     * @param dir the folder of {@code .npy} files
     * @return the operator; the caller closes it
     * @throws SpatialActException as {@link #read(Path, String)} and {@link #build()}
     */
    public static FReLU load(Path dir) {
        return read(dir, "").build();
    }

    /**
     * Loads an FReLU (either variant) from files named {@code prefix + NAME + ".npy"} in dir.
     *
     * @param dir the folder of {@code .npy} files
     * @param prefix the prefix of the file names, e.g. "act."; "" or null for none
     * @param eps the batch norm's eps, finite and {@code > 0}
     * @param backend the backend; not null
     * @return the operator; the caller closes it
     * @throws SpatialActException as {@link #read(Path, String)} and
     *     {@link #build(float, Backend)}
     */
    public static FReLU load(Path dir, String prefix, float eps, Backend backend) {
        return read(dir, prefix).build(eps, backend);
    }

    /**
     * Reads the parameters from files {@code dir/prefix + NAME + ".npy"} (prefix may be "" or
     * null); the variant is that of the files present.
     *
     * @param dir the folder of {@code .npy} files
     * @param prefix the prefix of the file names, e.g. "act."; "" or null for none
     * @return the parameters
     * @throws SpatialActException INVALID_ARGUMENT if dir is null; IO if dir is not a directory
     *     or holds neither variant's weight file; FORMAT if it holds both; otherwise as
     *     {@link #readFull} or {@link #readLight}
     */
    public static FReLUWeights read(Path dir, String prefix) {
        String p = prefix == null ? "" : prefix;
        if (dir == null) throw new SpatialActException(Code.INVALID_ARGUMENT, "FReLUWeights: dir is null");
        if (!Files.isDirectory(dir)) throw new SpatialActException(Code.IO, dir + ": no such directory (FReLU weights)");
        boolean full = Files.exists(file(dir, p, "conv.weight"));
        boolean light = Files.exists(file(dir, p, "conv1.weight"));
        if (full && light)
            throw new SpatialActException(Code.FORMAT, dir + ": holds both " + p + "conv.weight.npy (FReLU) and " + p
                    + "conv1.weight.npy (FReLU-light); keep one variant per folder or use a prefix");
        if (!full && !light)
            throw new SpatialActException(Code.IO, dir + ": no FReLU weights: expected " + file(dir, p, "conv.weight").getFileName()
                    + " (FReLU: conv.weight, [conv.bias], bn.weight, bn.bias, bn.running_mean, bn.running_var) or "
                    + file(dir, p, "conv1.weight").getFileName() + " (FReLU-light: conv1.weight, conv2.weight, bn1.*, bn2.*)");
        return full ? readFull(dir, p) : readLight(dir, p);
    }

    /**
     * Reads the full (k x k) variant: conv.weight (C, 1, k, k), optional conv.bias, and bn.*.
     *
     * @param dir the folder of {@code .npy} files; not null
     * @param prefix the prefix of the file names, e.g. "act."; "" or null for none
     * @return the parameters
     * @throws SpatialActException IO if a required file is missing or cannot be read; FORMAT if a
     *     file is not a float32 or float64 .npy file or has the wrong shape (k even included);
     *     INVALID_ARGUMENT if a value is not finite or a running_var is negative
     */
    public static FReLUWeights readFull(Path dir, String prefix) {
        String p = prefix == null ? "" : prefix;
        Path wf = file(dir, p, "conv.weight");
        Npy.NpyArray w = readRequired(wf);
        long[] s = w.shape();
        if (s.length != 4 || s[1] != 1 || s[2] != s[3] || s[0] < 1 || s[2] < 1)
            throw shapeError(wf, "(C, 1, k, k) with k odd", s);
        int c = toInt(s[0], wf), k = toInt(s[2], wf);
        if (k % 2 == 0) throw shapeError(wf, "(C, 1, k, k) with k odd", s);
        float[] bias = null;
        Path bf = file(dir, p, "conv.bias");
        if (Files.exists(bf)) bias = readVector(bf, c);
        float[][] bn = readBn(dir, p + "bn.", c);
        return new FReLUWeights(c, k, false, w.data(), null, bias, bn, null);
    }

    /**
     * Reads the light variant: conv1.weight (C, 1, 1, k), conv2.weight (C, 1, k, 1), optional
     * conv1.bias and conv2.bias (folded into the running means), bn1.* and bn2.*.
     *
     * @param dir the folder of {@code .npy} files; not null
     * @param prefix the prefix of the file names, e.g. "act."; "" or null for none
     * @return the parameters
     * @throws SpatialActException IO if a required file is missing or cannot be read; FORMAT if a
     *     file is not a float32 or float64 .npy file or has the wrong shape; INVALID_ARGUMENT if
     *     a value is not finite, a running_var is negative, or a light variant's conv bias,
     *     folded into its running_mean, overflows float32
     */
    public static FReLUWeights readLight(Path dir, String prefix) {
        String p = prefix == null ? "" : prefix;
        Path f1 = file(dir, p, "conv1.weight"), f2 = file(dir, p, "conv2.weight");
        Npy.NpyArray w1 = readRequired(f1);
        long[] s1 = w1.shape();
        if (s1.length != 4 || s1[1] != 1 || s1[2] != 1 || s1[0] < 1 || s1[3] < 1 || s1[3] % 2 == 0)
            throw shapeError(f1, "(C, 1, 1, k) with k odd", s1);
        int c = toInt(s1[0], f1), k = toInt(s1[3], f1);
        Npy.NpyArray w2 = readRequired(f2);
        long[] s2 = w2.shape();
        if (!Arrays.equals(s2, new long[] {c, 1, k, 1})) throw shapeError(f2, Npy.shapeString(new long[] {c, 1, k, 1}), s2);
        float[][] bn1 = readBn(dir, p + "bn1.", c), bn2 = readBn(dir, p + "bn2.", c);
        Path b1 = file(dir, p, "conv1.bias"), b2 = file(dir, p, "conv2.bias");
        if (Files.exists(b1)) bn1[2] = foldBiasIntoMean(bn1[2], readVector(b1, c), b1, dir.resolve(p + "bn1.running_mean.npy"));
        if (Files.exists(b2)) bn2[2] = foldBiasIntoMean(bn2[2], readVector(b2, c), b2, dir.resolve(p + "bn2.running_mean.npy"));
        return new FReLUWeights(c, k, true, w1.data(), w2.data(), null, bn1, bn2);
    }

    /** BN(conv + b) = BN'(conv) with running_mean' = running_mean - b; both files named if it overflows. */
    private static float[] foldBiasIntoMean(float[] mean, float[] bias, Path biasFile, Path meanFile) {
        float[] m = new float[mean.length];
        for (int i = 0; i < m.length; i++) {
            m[i] = (float) ((double) mean[i] - bias[i]);
            if (!Float.isFinite(m[i]))
                throw new SpatialActException(Code.INVALID_ARGUMENT, biasFile + ": element (" + i + ",) = " + bias[i] + " folded into "
                        + meanFile.getFileName() + " (" + mean[i] + ") overflows float32");
        }
        return m;
    }

    /**
     * Writes the parameters as {@code dir/NAME.npy} (float32), creating dir if needed.
     *
     * @param dir the folder; not null
     * @throws SpatialActException as {@link #save(Path, String)}
     */
    public void save(Path dir) {
        save(dir, "");
    }

    /**
     * Writes the parameters as {@code dir/prefix + NAME + ".npy"} (float32), creating dir if
     * needed, with the names {@link #read(Path, String)} reads; each file as {@link Npy#write}
     * writes it.
     *
     * @param dir the folder; not null
     * @param prefix the prefix of the file names, e.g. "act."; "" or null for none
     * @throws SpatialActException IO if dir cannot be created or a file cannot be written
     */
    public void save(Path dir, String prefix) {
        String p = prefix == null ? "" : prefix;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new SpatialActException(Code.IO, dir + ": cannot create directory: " + e, e);
        }
        long[] vec = {channels};
        if (!light) {
            Npy.write(file(dir, p, "conv.weight"), new long[] {channels, 1, k, k}, weight);
            if (convBias != null) Npy.write(file(dir, p, "conv.bias"), vec, convBias);
            for (int i = 0; i < 4; i++) Npy.write(file(dir, p, "bn." + BN_PARAMS[i]), vec, bn[i]);
            return;
        }
        Npy.write(file(dir, p, "conv1.weight"), new long[] {channels, 1, 1, k}, weight);
        Npy.write(file(dir, p, "conv2.weight"), new long[] {channels, 1, k, 1}, weightVertical);
        for (int i = 0; i < 4; i++) {
            Npy.write(file(dir, p, "bn1." + BN_PARAMS[i]), vec, bn[i]);
            Npy.write(file(dir, p, "bn2." + BN_PARAMS[i]), vec, bnVertical[i]);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------

    private static Path file(Path dir, String prefix, String name) {
        return dir.resolve(prefix + name + ".npy");
    }

    /**
     * Reads a parameter file; every value must be finite. The file and the element are named
     * here, where they are known: a value that is only found bad later, after folding, would be
     * blamed on whatever it was folded into (a NaN conv1.bias on bn1.running_mean).
     */
    private static Npy.NpyArray readRequired(Path f) {
        if (!Files.exists(f)) throw new SpatialActException(Code.IO, f + ": missing (a required FReLU parameter file)");
        Npy.NpyArray a = Npy.read(f);
        for (int i = 0; i < a.size(); i++)
            if (!Float.isFinite(a.get(i)))
                throw new SpatialActException(Code.INVALID_ARGUMENT, f + ": element " + index(a.shape(), i) + " = " + value(a, i)
                        + "; FReLU parameters must be finite");
        return a;
    }

    /** The value as the file holds it (a float64 beyond float32's range says so). */
    private static String value(Npy.NpyArray a, int i) {
        if (a.wasFloat64() && Double.isFinite(a.toDoubleArray()[i])) return a.toDoubleArray()[i] + " (beyond float32's range)";
        return Float.toString(a.get(i));
    }

    /** Flat index i as numpy's multi-index of this shape, e.g. "(1, 0, 1, 1)". */
    static String index(long[] shape, long i) {
        long[] ix = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            ix[d] = i % shape[d];
            i /= shape[d];
        }
        return Npy.shapeString(ix);
    }

    private static float[] readVector(Path f, int c) {
        Npy.NpyArray a = readRequired(f);
        long[] s = a.shape();
        if (!Arrays.equals(s, new long[] {c})) throw shapeError(f, "(" + c + ",)", s);
        return a.data();
    }

    private static float[][] readBn(Path dir, String prefix, int c) {
        float[][] bn = new float[4][];
        for (int i = 0; i < 4; i++) {
            Path f = dir.resolve(prefix + BN_PARAMS[i] + ".npy");
            bn[i] = readVector(f, c);
            if (BN_PARAMS[i].equals("running_var"))
                for (int j = 0; j < c; j++)
                    if (bn[i][j] < 0)
                        throw new SpatialActException(Code.INVALID_ARGUMENT, f + ": element (" + j + ",) = " + bn[i][j]
                                + "; a variance must be >= 0");
        }
        return bn;
    }

    private static SpatialActException shapeError(Path f, String expected, long[] actual) {
        return new SpatialActException(Code.FORMAT, f + ": shape " + Npy.shapeString(actual) + ", expected " + expected);
    }

    private static int toInt(long v, Path f) {
        if (v > Integer.MAX_VALUE) throw new SpatialActException(Code.FORMAT, f + ": dimension " + v + " is too large");
        return (int) v;
    }

    /** Channels and k, checked before anything is allocated: k by the native contract (odd, 1..7). */
    private static void checkDims(int channels, int k) {
        if (channels < 1) throw new SpatialActException(Code.INVALID_ARGUMENT, "FReLUWeights: channels = " + channels + " must be >= 1");
        try (SpatialActNative.sa_params p = Native.newParams().k(k)) {
            Native.check(SpatialActNative.sa_check_params(SpatialActNative.SA_OP_FRELU, p));
        }
        if ((long) channels * k * k > Npy.MAX_ELEMENTS)
            throw new SpatialActException(Code.INVALID_ARGUMENT, "FReLUWeights: " + channels + " channels of " + k + " x " + k
                    + " weights do not fit a Java array");
    }

    private static float[] copy(float[] a, String name, long n) {
        if (a == null) throw new SpatialActException(Code.INVALID_ARGUMENT, "FReLUWeights: " + name + " is null");
        if (a.length != n)
            throw new SpatialActException(Code.INVALID_ARGUMENT, "FReLUWeights: " + name + " has " + a.length + " values; expected " + n);
        return a.clone();
    }

    private static float[][] bn(int c, String which, float[] g, float[] b, float[] m, float[] v) {
        return new float[][] {copy(g, "gamma" + which, c), copy(b, "beta" + which, c), copy(m, "runningMean" + which, c),
                copy(v, "runningVar" + which, c)};
    }

    @Override
    public String toString() {
        return (light ? "FReLU-light" : "FReLU") + " weights (C=" + channels + ", k=" + k + (convBias != null ? ", conv bias" : "") + ")";
    }
}
