package dev.spatialact;

import java.lang.ref.Cleaner;
import java.nio.FloatBuffer;
import java.util.concurrent.ConcurrentHashMap;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

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

    /** The operator's name, e.g. "FReLU(k=3)". */
    public String name() {
        return name;
    }

    /** The backend this operator was built for (AUTO: each call runs where its data lives). */
    public Backend backend() {
        return backend;
    }

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
     * As {@link #close()}, waiting at most {@code timeoutMillis}; returns true if no call is
     * running any more (false: timed out or interrupted, the running call frees the parameters).
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
     */
    public final void forward(Shape shape, float[] y, float[]... inputs) {
        run(HostMemory.ARRAY, shape, y, given(inputs), inputs[0], inputs.length > 1 ? inputs[1] : null);
    }

    /** As {@link #forward(Shape, float[], float[]...)} on direct native-order buffers. */
    public final void forward(Shape shape, FloatBuffer y, FloatBuffer... inputs) {
        run(HostMemory.BUFFER, shape, y, given(inputs), inputs[0], inputs.length > 1 ? inputs[1] : null);
    }

    /** As {@link #forward(Shape, float[], float[]...)} on JavaCPP host pointers. */
    public final void forward(Shape shape, FloatPointer y, FloatPointer... inputs) {
        run(HostMemory.POINTER, shape, y, given(inputs), inputs[0], inputs.length > 1 ? inputs[1] : null);
    }

    /** As {@link #forward(Shape, float[], float[]...)} on device tensors, on stream (null: default). */
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
        guard.enter();
        try {
            Native.check(kind.call(operands.op, in0, in1, y, Native.shape(shape), params));
        } finally {
            guard.exit();
        }
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
        // Each tensor stays open until the call returns (close() waits for it).
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
            Native.check(SpatialActNative.sa_cuda_forward(operands.op, in0, in1, y, Native.shape(shape), dp.params, stream));
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
