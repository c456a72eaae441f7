package dev.spatialact;

import java.lang.ref.Cleaner;
import java.nio.FloatBuffer;
import java.util.concurrent.ConcurrentHashMap;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import dev.spatialact.internal.Interrupts;
import dev.spatialact.internal.Native;
import dev.spatialact.internal.ResourceGuard;
import dev.spatialact.internal.SpatialActNative;
import dev.spatialact.internal.SpatialActNative.sa_params;

/**
 * What every operator shares: an immutable native parameter block (with its per-channel arrays
 * in native memory), its copies on each GPU that has run it, a close-while-in-use guard, the
 * rules of where a call runs (see {@link Backend}), and the one runner through which every call
 * of every operator goes, for every kind of memory (float[], direct FloatBuffer, FloatPointer,
 * {@link DeviceTensor}, raw device addresses with a stream, host data staged through a GPU) and
 * every operand count. The operands themselves (names, shapes, which input the output may be)
 * come from the native operator table ({@link Operands}). Operators are immutable and
 * thread-safe; a call may run while another thread runs the same operator.
 *
 * <p>A call fails with a {@link SpatialActException} whose code says why:
 * <ul>
 * <li>INVALID_ARGUMENT: an operand is null or too small for the shape, a FloatBuffer is not
 * direct, not in native order or (y) read-only, a FloatPointer reaches past its allocation, an
 * input's shape or GPU is wrong, y aliases or overlaps an input it may not be, the input count is
 * wrong, or device memory reaches an operator built for the CPU. Nothing was written;</li>
 * <li>CLOSED: the operator, a {@link DeviceTensor} or the {@link CudaStream} was closed;</li>
 * <li>CANCELLED: a long CPU call's thread was interrupted (y is incomplete);</li>
 * <li>OUT_OF_MEMORY: a CPU workspace would exceed {@link SpatialAct#cpuWorkspaceLimit()}, or an
 * allocation failed;</li>
 * <li>BACKEND_UNAVAILABLE: device memory or the CUDA backend without a usable GPU;</li>
 * <li>CUDA: a CUDA call failed (a kernel's failure may surface later, on the stream).</li>
 * </ul>
 */
public abstract class NativeOperator implements AutoCloseable {
    static final Cleaner CLEANER = Cleaner.create();

    private final String name;
    private final Backend backend;
    /** The operator's operands, from the native table. */
    final Operands operands;
    /** Host parameter block: pointer fields hold host addresses. */
    final sa_params params;
    private final FloatPointer alphasHost, weightHost, biasHost;
    private final float[] alphas, weight, bias;
    private final ConcurrentHashMap<Integer, DeviceParams> deviceParams = new ConcurrentHashMap<>();
    private final ResourceGuard guard;

    /**
     * @param op the operator's code in the native table (SA_OP_*)
     * @param params scalar fields set; checked here against the native parameter contract
     *     (sa_check_params), its pointer fields then filled from the arrays
     * @param alphas per-channel slopes or null; weight folded weights or null; bias folded shift or null
     */
    NativeOperator(String name, int op, Backend backend, sa_params params, float[] alphas, float[] weight, float[] bias) {
        if (backend == null) {
            params.close();
            throw SpatialActException.invalid(name + ": backend is null");
        }
        try {
            Native.check(SpatialActNative.sa_check_params(op, params));
            if (backend == Backend.CUDA) backend.requireAvailable();
        } catch (RuntimeException e) {
            params.close();
            throw e;
        }
        this.name = name;
        this.backend = backend;
        this.operands = Operands.of(op);
        this.params = params;
        this.alphas = alphas;
        this.weight = weight;
        this.bias = bias;
        this.alphasHost = alphas == null ? null : new FloatPointer(alphas);
        this.weightHost = weight == null ? null : new FloatPointer(weight);
        this.biasHost = bias == null ? null : new FloatPointer(bias);
        params.alpha_per_channel(addr(alphasHost)).weight(addr(weightHost)).bias(addr(biasHost));
        this.guard = new ResourceGuard(name, this::release);
        this.costPerElement = estimateCost();
    }

    private static long addr(FloatPointer p) {
        return p == null ? 0 : p.address();
    }

    /** The folded weights and shift the kernels get (tests; copies). */
    float[] preparedWeight() {
        return weight == null ? null : weight.clone();
    }

    float[] preparedBias() {
        return bias == null ? null : bias.clone();
    }

    /** {@return the operator's name with its parameters, e.g. "FReLU(k=3, C=64)"} */
    public String name() {
        return name;
    }

    /** {@return the backend this operator was built for (AUTO: each call runs where its data lives)} */
    public Backend backend() {
        return backend;
    }

    /** {@return true once {@link #close()} has been called (a running call may still be finishing)} */
    public boolean isClosed() {
        return guard.isClosed();
    }

    /**
     * Frees the native parameters (host and device). Later calls throw CLOSED. A call running on
     * another thread finishes first, and close() waits for it: when close() returns, no call of
     * this operator reads or writes the caller's memory any more, so its buffers may be freed.
     * The wait is interruptible: interrupted, close() returns at once with the thread's interrupt
     * status set, and the parameters are freed when the running call ends (do not free the call's
     * buffers then). Idempotent.
     */
    @Override
    public void close() {
        guard.close();
    }

    /**
     * As {@link #close()}, waiting at most {@code timeoutMillis}.
     *
     * @param timeoutMillis the longest wait in milliseconds; 0 or less: do not wait
     * @return true if no call is running any more and the parameters are freed; false if timed
     *     out or interrupted (the running call frees the parameters when it ends)
     */
    public boolean close(long timeoutMillis) {
        return guard.close(timeoutMillis);
    }

    @Override
    public String toString() {
        return name + " [" + backend + "]";
    }

    // ---- operator-specific rules the table cannot express -------------------------------

    /** Operator-specific shape checks (e.g. the channel count of per-channel parameters). */
    void checkShape(Shape shape) {}

    /**
     * Checks that a call passing {@code given} inputs is one this operator takes (all of the
     * table's, or all but an absent guide).
     */
    void checkInputCount(int given) {
        if (given != operands.inputs.length)
            throw SpatialActException.invalid(name + " takes " + operands.inputs.length + " inputs; " + given + " given");
    }

    /** The guide's channel count for the guide input's shape (operators without a guide: 0). */
    long guideChannels() {
        return 0;
    }

    private Shape checkCall(Shape shape, int given) {
        Checks.shape(shape);
        checkShape(shape);
        checkInputCount(given);
        return shape;
    }

    // ---- any operator, generically (the CLI, the demo, benchmarks, tests) -------------------

    /**
     * y = op(inputs) for any operator, the inputs in the order of its row
     * ({@link OperatorKind#inputNames()}; a guide that the operator does not take is left out).
     * The same checks and paths as the operator's own {@code apply} methods.
     *
     * @param shape the shape of y, and of every input but a guide (N x Cg x H x W)
     * @param y the output, shape.numel() elements
     * @param inputs the inputs, one or two as the operator takes
     * @throws SpatialActException as listed in {@link NativeOperator}; INVALID_ARGUMENT also if
     *     inputs is null or empty
     */
    public final void forward(Shape shape, float[] y, float[]... inputs) {
        run(HostMemory.ARRAY, shape, y, given(inputs), inputs[0], inputs.length > 1 ? inputs[1] : null);
    }

    /**
     * As {@link #forward(Shape, float[], float[]...)} on direct native-order buffers, from their
     * positions (which stay unchanged).
     *
     * @param shape the shape of y, and of every input but a guide
     * @param y the output, at least shape.numel() elements remaining, writable
     * @param inputs the inputs, one or two as the operator takes
     * @throws SpatialActException as {@link #forward(Shape, float[], float[]...)}
     */
    public final void forward(Shape shape, FloatBuffer y, FloatBuffer... inputs) {
        run(HostMemory.BUFFER, shape, y, given(inputs), inputs[0], inputs.length > 1 ? inputs[1] : null);
    }

    /**
     * As {@link #forward(Shape, float[], float[]...)} on JavaCPP host pointers, from their
     * positions.
     *
     * @param shape the shape of y, and of every input but a guide
     * @param y the output, shape.numel() floats inside its allocation
     * @param inputs the inputs, one or two as the operator takes
     * @throws SpatialActException as {@link #forward(Shape, float[], float[]...)}
     */
    public final void forward(Shape shape, FloatPointer y, FloatPointer... inputs) {
        run(HostMemory.POINTER, shape, y, given(inputs), inputs[0], inputs.length > 1 ? inputs[1] : null);
    }

    /**
     * As {@link #forward(Shape, float[], float[]...)} on device tensors of one GPU; the shape is
     * that of the first input. Asynchronous on the stream.
     *
     * @param y the output, of the first input's shape
     * @param stream the stream of that GPU, or null for the default stream
     * @param inputs the inputs, one or two as the operator takes
     * @throws SpatialActException as {@link #forward(Shape, float[], float[]...)}
     */
    public final void forward(DeviceTensor y, CudaStream stream, DeviceTensor... inputs) {
        run(y, stream, given(inputs), inputs[0], inputs.length > 1 ? inputs[1] : null);
    }

    private int given(Object[] inputs) {
        if (inputs == null || inputs.length < 1 || inputs.length > SpatialActNative.SA_MAX_INPUTS)
            throw SpatialActException.invalid(name + ": " + (inputs == null ? "inputs is null" : inputs.length + " inputs given")
                    + "; it takes " + String.join(", ", operands.inputs));
        return inputs.length;
    }

    // ---- the runner: every apply of every operator comes here -----------------------------

    /**
     * y = op(in0[, in1]) on host memory of one kind; {@code given} inputs (in1 is null when 1).
     * Every argument is checked before any native work; a rejected call leaves y untouched.
     */
    final <T> void run(HostMemory<T> kind, Shape shape, T y, int given, T in0, T in1) {
        checkCall(shape, given);
        for (int i = 0; i < given; i++)
            kind.check(i == 0 ? in0 : in1, operands.inputs[i], operands.inputShape(i, shape, guideChannels()), false);
        kind.check(y, "y", shape, true);
        for (int i = 0; i < given; i++) {
            if (!operands.mayAlias(i) && kind.same(y, i == 0 ? in0 : in1))
                throw SpatialActException.invalid("y aliases " + operands.inputs[i]
                        + " (the same array); this operator needs a separate output");
        }
        if (backend == Backend.CUDA) {
            stage(kind, shape, y, given, in0, in1);
            return;
        }
        final double cost = (double) shape.numel() * costPerElement;
        guard.enter();
        final boolean split = kind == HostMemory.ARRAY && cost > criticalCost;
        try (Interrupts.Call call = split || cost >= WATCH_COST ? Interrupts.begin() : null) {
            long cancel = call == null ? 0 : call.flag();
            if (split) {
                runArrays(shape, (float[]) y, given, (float[]) in0, (float[]) in1, call);
            } else {
                check(kind.call(operands.op, in0, in1, y, Native.shape(shape), params, cancel));
            }
        } finally {
            guard.exit();
        }
    }

    // ---- long calls: interruptible, and on float[] without blocking the garbage collector ----

    /**
     * Calls whose estimated cost (elements x {@link #costPerElement}, in LeakyReLU elements) is
     * at least this are interruptible: {@link Interrupts} raises their native cancel flag when
     * the thread is interrupted. Below it (2^24 LeakyReLU elements: 5-15 ms on the CI machine) a
     * call is not worth watching, and the watch (a set insert and a wake-up of the watcher
     * thread) would show in the plain LeakyReLU calls of typical CNN layers.
     */
    static final double WATCH_COST = 1 << 24;

    /**
     * The most estimated cost one JNI critical region may hold on float[] (the arrays are pinned,
     * and a garbage collection waits for the region to end: JDK 17's GC locker). 2^27 LeakyReLU
     * elements (512 MiB read, 512 MiB written) take about 15-50 ms with 2 threads on the CI
     * machine (a TD-LReLU region then holds about 10 M elements); one thread or a slower machine
     * stays under the 200 ms bound of the hardening issue. Tests lower it to exercise every way of splitting a call; the system
     * property {@code spatialact.maxCriticalCost} sets it (diagnostics: {@code
     * dev.spatialact.jmh.GcStall} measures a stall with and without splitting).
     */
    static volatile double criticalCost = criticalCostProperty();

    private static double criticalCostProperty() {
        String v = System.getProperty("spatialact.maxCriticalCost");
        if (v == null) return 1 << 27;
        try {
            double d = Double.parseDouble(v);
            if (d >= 1) return d;
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new IllegalArgumentException("spatialact.maxCriticalCost = " + v + ": expected a number >= 1");
    }

    /**
     * Upper estimate of this operator's cost per element relative to LeakyReLU, from the ratios
     * measured on the CPU (docs/PERFORMANCE.md: FReLU k=3 about 3x, TD-LReLU T=5 r=3 about 13x,
     * NTD-LReLU S=3 P=1 T=5 about 150x), scaled by the parameters that multiply the work.
     */
    final double costPerElement;

    private double estimateCost() {
        final int op = operands.op;
        if (op == SpatialActNative.SA_OP_FRELU)
            return params.variant() == SpatialActNative.SA_FRELU_LIGHT ? 2 : Math.max(1, params.k() * params.k() / 3.0);
        if (op == SpatialActNative.SA_OP_TD_LRELU || op == SpatialActNative.SA_OP_NTD_LRELU) {
            if (params.iterations() == 0 || params.lambda() == 0) return params.eps() > 0 ? 2 : 1;
            double c;
            if (op == SpatialActNative.SA_OP_TD_LRELU) {
                int r = SpatialActNative.sa_td_radius(params);
                c = 13.0 * params.iterations() / 5.0 * (2 * r + 1) / 7.0;
            } else {
                double k = (2 * params.search() + 1) * (2 * params.search() + 1), q = (2 * params.patch() + 1) * (2 * params.patch() + 1);
                c = 150.0 * Math.max(1.0, params.iterations() / 5.0) * k / 49.0 * Math.max(1.0, q / 9.0);
            }
            return Math.max(1, (params.eps() > 0 ? 2 : 1) * c);
        }
        return 1;  // element-wise: LeakyReLU, PReLU, star
    }

    /**
     * True if the channels of a sample are independent (each output channel reads only its own
     * input channel), so a call may be split by channels. NTD-LReLU's weights couple them.
     */
    boolean channelsIndependent() {
        return operands.op != SpatialActNative.SA_OP_NTD_LRELU;
    }

    /**
     * Floats of one input staged in native memory by the copy path of {@link #runArrays}: 16 Mi
     * (64 MiB), or one sample (one channel where channels are independent) if that is larger.
     */
    static final long STAGE_FLOATS = 1 << 24;

    /** Floats per piece of a copy between a float[] and native memory (each a short JNI copy). */
    private static final int COPY_CHUNK = 1 << 22;

    /** Part of a call: samples [n0, n0 + nk), channels [c0, c0 + ck) of each. */
    private record Piece(long n0, long nk, long c0, long ck) {}

    /**
     * The call cut into pieces of at most {@code max} elements where it can be: runs of whole
     * samples; else (channels independent) runs of whole channels of one sample; else one sample
     * or one channel per piece, whatever its size.
     */
    private java.util.List<Piece> pieces(Shape shape, long max) {
        final long n = shape.n(), c = shape.c(), plane = shape.h() * shape.w(), sample = c * plane;
        java.util.List<Piece> out = new java.util.ArrayList<>();
        if (sample <= max || !channelsIndependent()) {
            final long step = Math.max(1, Math.min(n, max / sample));
            for (long n0 = 0; n0 < n; n0 += step) out.add(new Piece(n0, Math.min(step, n - n0), 0, c));
        } else {
            final long step = Math.max(1, Math.min(c, max / plane));
            for (long n0 = 0; n0 < n; n0++)
                for (long c0 = 0; c0 < c; c0 += step) out.add(new Piece(n0, 1, c0, Math.min(step, c - c0)));
        }
        return out;
    }

    /**
     * A float[] call too long for one critical region. Where the call splits into pieces (runs of
     * whole samples, or of whole channels of a sample where channels are independent) that each
     * fit the region's budget, each piece is its own critical region on the caller's arrays, with
     * the per-channel parameters offset to the piece. Where one sample (or channel) is itself too
     * long, the arrays are not pinned at all: pieces of up to {@link #STAGE_FLOATS} (or one sample
     * or channel) are copied to native memory, run there, and copied back. Between the pieces the
     * thread's interrupt is checked. The results are the bits of the single call: every
     * operator's output depends only on its own sample (and, where split by channels, its own
     * channel).
     */
    private void runArrays(Shape shape, float[] y, int given, float[] in0, float[] in1, Interrupts.Call call) {
        final long limit = Math.max(1, (long) (criticalCost / costPerElement));  // elements per region
        final long n = shape.n(), c = shape.c(), plane = shape.h() * shape.w(), sample = c * plane;
        final long per0 = operands.inputShape(0, shape, guideChannels()).numel() / n;
        final long per1 = given < 2 ? 0 : operands.inputShape(1, shape, guideChannels()).numel() / n;
        final boolean pinned = sample <= limit || (channelsIndependent() && plane <= limit);
        java.util.List<Piece> pieces = pieces(shape, pinned ? limit : Math.max(limit, STAGE_FLOATS));
        if (pinned) {
            for (Piece q : pieces) {
                // Inputs other than the output's shape (NTD's guide) are only ever split by samples.
                long off = (q.n0 * c + q.c0) * plane, off0 = q.ck == c ? q.n0 * per0 : off, off1 = q.ck == c ? q.n0 * per1 : off;
                try (sa_params p = q.c0 == 0 ? null : paramsFromChannel(q.c0, c)) {
                    check(SpatialActNative.sa_cpu_forward_at(operands.op, in0, off0, in1, off1, y, off,
                            Native.shape(Shape.of(q.nk, q.ck, shape.h(), shape.w())), p == null ? params : p, call.flag()));
                }
                if (call.interrupted()) throw cancelled();
            }
            return;
        }
        long most = 0;
        for (Piece q : pieces) most = Math.max(most, q.nk * q.ck);
        final long stride0 = q0(per0, plane, c), stride1 = q0(per1, plane, c);
        try (FloatPointer b0 = new FloatPointer(most * stride0); FloatPointer b1 = given < 2 ? null : new FloatPointer(most * stride1);
                FloatPointer by = new FloatPointer(most * plane)) {
            for (Piece q : pieces) {
                long off = (q.n0 * c + q.c0) * plane, len = q.nk * q.ck * plane;
                long off0 = q.ck == c ? q.n0 * per0 : off, len0 = q.ck == c ? q.nk * per0 : len;
                long off1 = q.ck == c ? q.n0 * per1 : off, len1 = q.ck == c ? q.nk * per1 : len;
                copy(in0, off0, b0, len0, true);
                if (b1 != null) copy(in1, off1, b1, len1, true);
                try (sa_params p = q.c0 == 0 ? null : paramsFromChannel(q.c0, c)) {
                    check(SpatialActNative.sa_cpu_forward_cancellable(operands.op, b0, b1, by,
                            Native.shape(Shape.of(q.nk, q.ck, shape.h(), shape.w())), p == null ? params : p, call.flag()));
                }
                copy(y, off, by, len, false);
                if (call.interrupted()) throw cancelled();
            }
        }
    }

    /** Floats of an input per (sample x channel) unit of the output: per-sample size / channels. */
    private static long q0(long perSample, long plane, long c) {
        return Math.max(plane, (perSample + c - 1) / c);
    }

    private static void copy(float[] a, long offset, FloatPointer p, long count, boolean toNative) {
        for (long i = 0; i < count; i += COPY_CHUNK) {
            int len = (int) Math.min(COPY_CHUNK, count - i);
            p.position(i);
            if (toNative) p.put(a, (int) (offset + i), len);
            else p.get(a, (int) (offset + i), len);
        }
        p.position(0);
    }

    /** A copy of the parameters whose per-channel arrays start at channel c0 (of channels). */
    private sa_params paramsFromChannel(long c0, long channels) {
        sa_params p = new sa_params();
        p.put(params);
        p.alpha_per_channel(offset(alphasHost, alphas, c0, channels))
                .weight(offset(weightHost, weight, c0, channels))
                .bias(offset(biasHost, bias, c0, channels));
        return p;
    }

    private static long offset(FloatPointer host, float[] values, long c0, long channels) {
        return host == null ? 0 : host.address() + 4 * c0 * (values.length / channels);
    }

    private void check(int status) {
        if (status == SpatialActNative.SA_ERR_CANCELLED) throw cancelled();
        Native.check(status);
    }

    private SpatialActException cancelled() {
        return new SpatialActException(SpatialActException.Code.CANCELLED, name
                + ": cancelled: the calling thread was interrupted during the call; y is incomplete, the inputs are untouched"
                + " (the thread's interrupt status stays set)");
    }

    /** y = op(inputs) on the library's device tensors, on stream (null: the default stream). */
    final void run(DeviceTensor y, CudaStream stream, int given, DeviceTensor in0, DeviceTensor in1) {
        for (int i = 0; i < given; i++)
            if ((i == 0 ? in0 : in1) == null) throw SpatialActException.invalid(operands.inputs[i] + " is null");
        if (y == null) throw SpatialActException.invalid("y is null");
        Shape shape = checkCall(in0.shape(), given);
        int device = in0.device();
        for (int i = 0; i <= given; i++) {
            DeviceTensor t = i < given ? (i == 0 ? in0 : in1) : y;
            String what = i < given ? operands.inputs[i] : "y";
            Shape want = i < given ? operands.inputShape(i, shape, guideChannels()) : shape;
            if (!t.shape().equals(want))
                throw SpatialActException.invalid(what + " has shape " + t.shape() + "; expected " + want
                        + " (" + operands.inputs[0] + " has " + shape + ")");
            if (t.device() != device)
                throw SpatialActException.invalid(what + " is on device " + t.device() + ", " + operands.inputs[0] + " on device " + device);
        }
        if (stream != null && stream.device() != device)
            throw SpatialActException.invalid("stream is on device " + stream.device() + ", the tensors on " + device);
        // Each tensor, and the stream, stays open until the call returns (close() waits for it).
        if (stream != null) stream.enter();
        try {
            runEntered(y, stream, shape, device, in0, in1);
        } finally {
            if (stream != null) stream.exit();
        }
    }

    private void runEntered(DeviceTensor y, CudaStream stream, Shape shape, int device, DeviceTensor in0, DeviceTensor in1) {
        in0.enter();
        try {
            if (in1 != null) in1.enter();
            try {
                y.enter();
                try {
                    runDevice(device, shape, stream == null ? 0 : stream.handle(), y.address(), in0.address(),
                            in1 == null ? 0 : in1.address());
                } finally {
                    y.exit();
                }
            } finally {
                if (in1 != null) in1.exit();
            }
        } finally {
            in0.exit();
        }
    }

    /**
     * y = op(inputs) on raw device addresses of GPU {@code device} from other CUDA code, on the
     * stream handle (0: the default stream); in1 = 0 where absent.
     */
    final void runDevice(int device, Shape shape, long stream, int given, long y, long in0, long in1) {
        checkCall(shape, given);
        for (int i = 0; i < given; i++) Checks.address(i == 0 ? in0 : in1, operands.inputs[i]);
        Checks.address(y, "y");
        runDevice(device, shape, stream, y, in0, in1);
    }

    /** JavaCPP Pointer positions count floats. */
    static long deviceAddress(Pointer p, String name) {
        if (p == null) throw SpatialActException.invalid(name + " is null");
        return p.address() + 4 * p.position();
    }

    private void runDevice(int device, Shape shape, long stream, long y, long in0, long in1) {
        if (backend == Backend.CPU)
            throw SpatialActException.invalid(name + " was built for the CPU backend; it cannot take device memory");
        Backend.CUDA.requireAvailable();
        if (device < 0 || device >= Backend.cudaDeviceCount())
            throw SpatialActException.invalid("device " + device + " does not exist (" + Backend.cudaDeviceCount() + " GPU(s))");
        guard.enter();
        try {
            DeviceParams dp = deviceParams.computeIfAbsent(device, this::uploadParams);
            Native.check(SpatialActNative.sa_cuda_forward_on(device, operands.op, in0, in1, y, Native.shape(shape), dp.params, stream));
        } finally {
            guard.exit();
        }
    }

    /** Host data through the GPU (backend CUDA on host memory): upload, run, download. */
    private <T> void stage(HostMemory<T> kind, Shape shape, T y, int given, T in0, T in1) {
        int device = 0;
        try (DeviceTensor d0 = DeviceTensor.allocate(device, operands.inputShape(0, shape, guideChannels()));
                DeviceTensor d1 = given < 2 ? null : DeviceTensor.allocate(device, operands.inputShape(1, shape, guideChannels()));
                DeviceTensor dy = DeviceTensor.allocate(device, shape)) {
            kind.upload(d0, in0);
            if (d1 != null) kind.upload(d1, in1);
            run(dy, null, given, d0, d1);
            kind.download(dy, y);
        }
    }

    private DeviceParams uploadParams(int device) {
        DeviceParams dp = new DeviceParams(device);
        try {
            sa_params p = new sa_params();
            p.put(params);  // scalars; the pointer fields are replaced below
            dp.alphas = DeviceTensor.fromHost(device, alphas);
            dp.weight = DeviceTensor.fromHost(device, weight);
            dp.bias = DeviceTensor.fromHost(device, bias);
            p.alpha_per_channel(dp.alphas == null ? 0 : dp.alphas.address())
                    .weight(dp.weight == null ? 0 : dp.weight.address())
                    .bias(dp.bias == null ? 0 : dp.bias.address());
            dp.params = p;
            return dp;
        } catch (RuntimeException e) {
            dp.close();
            throw e;
        }
    }

    private void release() {
        for (FloatPointer p : new FloatPointer[] {alphasHost, weightHost, biasHost}) if (p != null) p.close();
        params.close();
        deviceParams.values().forEach(DeviceParams::close);
        deviceParams.clear();
    }

    /** An operator's parameter block on one GPU. */
    private static final class DeviceParams {
        final int device;
        sa_params params;
        DeviceTensor alphas, weight, bias;

        DeviceParams(int device) {
            this.device = device;
        }

        void close() {
            for (DeviceTensor t : new DeviceTensor[] {alphas, weight, bias}) if (t != null) t.close();
            if (params != null) params.close();
        }
    }
}
