package dev.spatialact;

import java.lang.ref.Cleaner;
import java.util.concurrent.ConcurrentHashMap;

import org.bytedeco.javacpp.FloatPointer;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.ResourceGuard;
import dev.spatialact.internal.SpatialActNative;
import dev.spatialact.internal.SpatialActNative.sa_params;

/**
 * What every operator shares: an immutable native parameter block (with its per-channel arrays
 * in native memory), its copies on each GPU that has run it, a close-while-in-use guard, and the
 * rules of where a call runs (see {@link Backend}). Operators are immutable and thread-safe; a
 * call may run while another thread runs the same operator.
 */
public abstract class NativeOperator implements AutoCloseable {
    static final Cleaner CLEANER = Cleaner.create();

    private final String name;
    private final Backend backend;
    /** Host parameter block: pointer fields hold host addresses. */
    final sa_params params;
    private final FloatPointer alphasHost, weightHost, biasHost;
    private final float[] alphas, weight, bias;
    private final ConcurrentHashMap<Integer, DeviceParams> deviceParams = new ConcurrentHashMap<>();
    private final ResourceGuard guard;

    /**
     * @param params scalar fields set; its pointer fields are filled here from the arrays
     * @param alphas per-channel slopes or null; weight folded weights or null; bias folded shift or null
     */
    NativeOperator(String name, Backend backend, sa_params params, float[] alphas, float[] weight, float[] bias) {
        if (backend == null) throw SpatialActException.invalid(name + ": backend is null");
        if (backend == Backend.CUDA) backend.requireAvailable();
        this.name = name;
        this.backend = backend;
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
     * Frees the native parameters (host and device). A call running on another thread finishes
     * first; later calls throw CLOSED. Idempotent.
     */
    @Override
    public void close() {
        guard.close();
    }

    @Override
    public String toString() {
        return name + " [" + backend + "]";
    }

    // ---- call plumbing -----------------------------------------------------------------

    /** A native call; returns the status. */
    @FunctionalInterface
    interface HostCall {
        int run(SpatialActNative.sa_shape s, sa_params p);
    }

    @FunctionalInterface
    interface DeviceCall {
        int run(SpatialActNative.sa_shape s, sa_params p, long stream);
    }

    /** True if host data is to be staged through the GPU (backend CUDA). */
    boolean stagesHostData() {
        return backend == Backend.CUDA;
    }

    void runHost(Shape shape, HostCall call) {
        guard.enter();
        try {
            Native.check(call.run(Native.shape(shape), params));
        } finally {
            guard.exit();
        }
    }

    void runDevice(int device, Shape shape, long stream, DeviceCall call) {
        if (backend == Backend.CPU)
            throw SpatialActException.invalid(name + " was built for the CPU backend; it cannot take device memory");
        Backend.CUDA.requireAvailable();
        if (device < 0 || device >= Backend.cudaDeviceCount())
            throw SpatialActException.invalid("device " + device + " does not exist (" + Backend.cudaDeviceCount() + " GPU(s))");
        guard.enter();
        try {
            DeviceParams dp = deviceParams.computeIfAbsent(device, this::uploadParams);
            Native.check(call.run(Native.shape(shape), dp.params, stream));
        } finally {
            guard.exit();
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
