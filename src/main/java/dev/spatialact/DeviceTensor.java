package dev.spatialact;

import java.lang.ref.Cleaner;
import java.nio.FloatBuffer;

import org.bytedeco.javacpp.FloatPointer;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.ResourceGuard;
import dev.spatialact.internal.SpatialActNative;

/**
 * A float32 NCHW tensor in GPU memory, owned by Java: allocated on a chosen GPU, filled and read
 * with synchronous copies, freed by {@link #close()} (or, if never closed, by a Cleaner once it
 * is unreachable: no finalizer). {@link #wrap} views memory owned by other CUDA code without
 * taking ownership.
 */
public final class DeviceTensor implements AutoCloseable {
    private final int device;
    private final Shape shape;
    private final long address;
    private final ResourceGuard guard;
    private final Cleaner.Cleanable cleanable;

    private DeviceTensor(int device, Shape shape, long address, boolean owned) {
        this.device = device;
        this.shape = shape;
        this.address = address;
        Runnable free = owned ? new Free(device, address) : () -> {};
        this.cleanable = NativeOperator.CLEANER.register(this, free);
        this.guard = new ResourceGuard("DeviceTensor " + shape + " on GPU " + device, cleanable::clean);
    }

    /** Freeing action; holds no reference to the tensor so the Cleaner can run it. */
    private record Free(int device, long address) implements Runnable {
        public void run() {
            SpatialActNative.sa_cuda_free(device, address);  // best effort: nothing to report to
        }
    }

    /** Allocates an uninitialised tensor on GPU {@code device}. */
    public static DeviceTensor allocate(int device, Shape shape) {
        Checks.shape(shape);
        Backend.CUDA.requireAvailable();
        if (device < 0 || device >= Backend.cudaDeviceCount())
            throw SpatialActException.invalid("device " + device + " does not exist (" + Backend.cudaDeviceCount() + " GPU(s))");
        long[] ptr = new long[1];
        Native.check(SpatialActNative.sa_cuda_malloc(device, shape.numel() * 4, ptr));
        return new DeviceTensor(device, shape, ptr[0], true);
    }

    /** Allocates on GPU 0. */
    public static DeviceTensor allocate(Shape shape) {
        return allocate(0, shape);
    }

    /** Allocates and uploads x. */
    public static DeviceTensor upload(int device, Shape shape, float[] x) {
        Checks.array(x, "x", Checks.shape(shape));
        DeviceTensor t = allocate(device, shape);
        try {
            t.upload(x);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** A view of device memory owned elsewhere (e.g. cudaMalloc from org.bytedeco.cuda). close() frees nothing. */
    public static DeviceTensor wrap(int device, long address, Shape shape) {
        Checks.shape(shape);
        Checks.address(address, "address");
        Backend.CUDA.requireAvailable();
        return new DeviceTensor(device, shape, address, false);
    }

    /** A 1x1x1xN tensor holding a, or null for null (operator parameters). */
    static DeviceTensor fromHost(int device, float[] a) {
        return a == null ? null : upload(device, Shape.of(1, 1, 1, a.length), a);
    }

    public int device() { return device; }
    public Shape shape() { return shape; }

    /** The device address. Valid until close(). */
    public long address() {
        if (guard.isClosed()) throw new SpatialActException(SpatialActException.Code.CLOSED, "DeviceTensor is closed");
        return address;
    }

    public void upload(float[] x) {
        Checks.array(x, "x", shape);
        call(() -> SpatialActNative.sa_cuda_memcpy_h2d(device, address, x, shape.numel() * 4, 0));
    }

    public void upload(FloatBuffer x) {
        Checks.buffer(x, "x", shape, false);
        call(() -> SpatialActNative.sa_cuda_memcpy_h2d(device, address, x, shape.numel() * 4, 0));
    }

    public void upload(FloatPointer x) {
        Checks.pointer(x, "x", shape);
        call(() -> SpatialActNative.sa_cuda_memcpy_h2d(device, address, x, shape.numel() * 4, 0));
    }

    public void download(float[] y) {
        Checks.array(y, "y", shape);
        call(() -> SpatialActNative.sa_cuda_memcpy_d2h(device, y, address, shape.numel() * 4, 0));
    }

    public float[] download() {
        float[] y = new float[shape.numelInt()];
        download(y);
        return y;
    }

    public void download(FloatBuffer y) {
        Checks.buffer(y, "y", shape, true);
        call(() -> SpatialActNative.sa_cuda_memcpy_d2h(device, y, address, shape.numel() * 4, 0));
    }

    public void download(FloatPointer y) {
        Checks.pointer(y, "y", shape);
        call(() -> SpatialActNative.sa_cuda_memcpy_d2h(device, y, address, shape.numel() * 4, 0));
    }

    void enter() { guard.enter(); }
    void exit() { guard.exit(); }

    public boolean isClosed() { return guard.isClosed(); }

    /**
     * Frees the memory once no call of the library is using it, and waits for that (interruptibly,
     * as {@link NativeOperator#close()}). Idempotent.
     */
    @Override
    public void close() {
        guard.close();
    }

    private void call(java.util.function.IntSupplier op) {
        guard.enter();
        try {
            Native.check(op.getAsInt());
        } finally {
            guard.exit();
        }
    }

    @Override
    public String toString() {
        return "DeviceTensor " + shape + " on GPU " + device;
    }
}
