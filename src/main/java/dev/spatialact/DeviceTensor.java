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

    /**
     * Allocates an uninitialised tensor, freed by {@link #close()}.
     *
     * @param device the GPU, from 0 to {@link Backend#cudaDeviceCount()} - 1
     * @param shape its shape; not null
     * @return the tensor
     * @throws SpatialActException INVALID_ARGUMENT if shape is null or the device does not
     *     exist; BACKEND_UNAVAILABLE without a usable GPU; OUT_OF_MEMORY if the GPU has not
     *     the memory
     */
    public static DeviceTensor allocate(int device, Shape shape) {
        Checks.shape(shape);
        Backend.CUDA.requireAvailable();
        if (device < 0 || device >= Backend.cudaDeviceCount())
            throw SpatialActException.invalid("device " + device + " does not exist (" + Backend.cudaDeviceCount() + " GPU(s))");
        long[] ptr = new long[1];
        Native.check(SpatialActNative.sa_cuda_malloc(device, shape.numel() * 4, ptr));
        return new DeviceTensor(device, shape, ptr[0], true);
    }

    /**
     * As {@link #allocate(int, Shape)} on GPU 0.
     *
     * @param shape its shape; not null
     * @return the tensor
     * @throws SpatialActException as {@link #allocate(int, Shape)}
     */
    public static DeviceTensor allocate(Shape shape) {
        return allocate(0, shape);
    }

    /**
     * Allocates a tensor and uploads x into it.
     *
     * @param device the GPU
     * @param shape its shape; not null
     * @param x the data, shape.numel() elements in NCHW order
     * @return the tensor
     * @throws SpatialActException INVALID_ARGUMENT if x is null or its length is not
     *     shape.numel(); otherwise as {@link #allocate(int, Shape)} and {@link #upload(float[])}
     *     (the tensor is freed then)
     */
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

    /**
     * A view of device memory owned elsewhere (e.g. cudaMalloc from org.bytedeco.cuda).
     * {@link #close()} frees nothing; the owner keeps the memory allocated while the view is
     * used.
     *
     * @param device the GPU the memory is on (checked when an operator uses it)
     * @param address the device address of the first float; the memory must hold shape.numel()
     *     floats (not checked)
     * @param shape its shape; not null
     * @return the view
     * @throws SpatialActException INVALID_ARGUMENT if shape is null or address is 0;
     *     BACKEND_UNAVAILABLE without a usable GPU
     */
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

    /** {@return the GPU the tensor is on} */
    public int device() { return device; }
    /** {@return the tensor's shape} */
    public Shape shape() { return shape; }

    /**
     * The device address, for other CUDA code. Valid until close().
     *
     * @return the address of the first float
     * @throws SpatialActException CLOSED after {@link #close()}
     */
    public long address() {
        if (guard.isClosed()) throw new SpatialActException(SpatialActException.Code.CLOSED, "DeviceTensor is closed");
        return address;
    }

    /**
     * Copies host data into the tensor.
     * The copy is synchronous and ordered after all work queued on this GPU, on any stream (it
     * synchronises the device first); the overload with a {@link CudaStream} orders it on that
     * stream alone.
     *
     * @param x the data, shape.numel() elements
     * @throws SpatialActException INVALID_ARGUMENT if x is null or of another length; CLOSED
     *     after {@link #close()}; CUDA if the copy fails
     */
    public void upload(float[] x) {
        upload(x, null);
    }

    /**
     * As {@link #upload(float[])}, ordered on a stream of this tensor's GPU: after the work queued
     * on it before (an operator's forward, say), and before what is queued after. Returns when
     * the copy is complete.
     *
     * @param x the data, as for {@link #upload(float[])}
     * @param stream a stream of this tensor's GPU, or null for the device-wide order of
     *     {@link #upload(float[])}
     * @throws SpatialActException INVALID_ARGUMENT for a stream of another GPU; CLOSED if the
     *     tensor or the stream is closed; otherwise as {@link #upload(float[])}
     */
    public void upload(float[] x, CudaStream stream) {
        Checks.array(x, "x", shape);
        copy(stream, h -> SpatialActNative.sa_cuda_memcpy_h2d(device, address, x, shape.numel() * 4, h));
    }

    /**
     * Copies host data into the tensor, from the buffer's position (which stays unchanged).
     * The copy is synchronous and ordered after all work queued on this GPU, on any stream (it
     * synchronises the device first); the overload with a {@link CudaStream} orders it on that
     * stream alone.
     *
     * @param x a direct buffer in native byte order, at least shape.numel() elements remaining
     * @throws SpatialActException INVALID_ARGUMENT if x is null, not direct, not in native order
     *     or too short; CLOSED after {@link #close()}; CUDA if the copy fails
     */
    public void upload(FloatBuffer x) {
        upload(x, null);
    }

    /**
     * As {@link #upload(FloatBuffer)}, ordered on a stream of this tensor's GPU: after the work queued
     * on it before (an operator's forward, say), and before what is queued after. Returns when
     * the copy is complete.
     *
     * @param x the data, as for {@link #upload(FloatBuffer)}
     * @param stream a stream of this tensor's GPU, or null for the device-wide order of
     *     {@link #upload(FloatBuffer)}
     * @throws SpatialActException INVALID_ARGUMENT for a stream of another GPU; CLOSED if the
     *     tensor or the stream is closed; otherwise as {@link #upload(FloatBuffer)}
     */
    public void upload(FloatBuffer x, CudaStream stream) {
        Checks.buffer(x, "x", shape, false);
        copy(stream, h -> SpatialActNative.sa_cuda_memcpy_h2d(device, address, x, shape.numel() * 4, h));
    }

    /**
     * Copies host data into the tensor, from the pointer's position.
     * The copy is synchronous and ordered after all work queued on this GPU, on any stream (it
     * synchronises the device first); the overload with a {@link CudaStream} orders it on that
     * stream alone.
     *
     * @param x host memory: shape.numel() floats inside the allocation it was made from (or
     *     vouched for with {@link SpatialAct#uncheckedPointer})
     * @throws SpatialActException INVALID_ARGUMENT if x is null, NULL or reaches past its
     *     memory; CLOSED after {@link #close()}; CUDA if the copy fails
     */
    public void upload(FloatPointer x) {
        upload(x, null);
    }

    /**
     * As {@link #upload(FloatPointer)}, ordered on a stream of this tensor's GPU: after the work queued
     * on it before (an operator's forward, say), and before what is queued after. Returns when
     * the copy is complete.
     *
     * @param x the data, as for {@link #upload(FloatPointer)}
     * @param stream a stream of this tensor's GPU, or null for the device-wide order of
     *     {@link #upload(FloatPointer)}
     * @throws SpatialActException INVALID_ARGUMENT for a stream of another GPU; CLOSED if the
     *     tensor or the stream is closed; otherwise as {@link #upload(FloatPointer)}
     */
    public void upload(FloatPointer x, CudaStream stream) {
        Checks.pointer(x, "x", shape);
        copy(stream, h -> SpatialActNative.sa_cuda_memcpy_h2d(device, address, x, shape.numel() * 4, h));
    }

    /**
     * Copies the tensor into host memory.
     * The copy is synchronous and ordered after all work queued on this GPU, on any stream (it
     * synchronises the device first); the overload with a {@link CudaStream} orders it on that
     * stream alone.
     *
     * @param y the destination, shape.numel() elements
     * @throws SpatialActException INVALID_ARGUMENT if y is null or of another length; CLOSED
     *     after {@link #close()}; CUDA if the copy fails (or earlier work on the stream failed)
     */
    public void download(float[] y) {
        download(y, null);
    }

    /**
     * As {@link #download(float[])}, ordered on a stream of this tensor's GPU: after the work queued
     * on it before (an operator's forward, say), and before what is queued after. Returns when
     * the copy is complete.
     *
     * @param y the destination, as for {@link #download(float[])}
     * @param stream a stream of this tensor's GPU, or null for the device-wide order of
     *     {@link #download(float[])}
     * @throws SpatialActException INVALID_ARGUMENT for a stream of another GPU; CLOSED if the
     *     tensor or the stream is closed; otherwise as {@link #download(float[])}
     */
    public void download(float[] y, CudaStream stream) {
        Checks.array(y, "y", shape);
        copy(stream, h -> SpatialActNative.sa_cuda_memcpy_d2h(device, y, address, shape.numel() * 4, h));
    }

    /**
     * Copies the tensor into a new array, as {@link #download(float[])}.
     *
     * @return the data, NCHW
     * @throws SpatialActException INVALID_ARGUMENT if the tensor has more elements than a Java
     *     array holds; otherwise as {@link #download(float[])}
     */
    public float[] download() {
        float[] y = new float[shape.numelInt()];
        download(y);
        return y;
    }

    /**
     * Copies the tensor into host memory, from the buffer's position (which stays unchanged).
     * The copy is synchronous and ordered after all work queued on this GPU, on any stream (it
     * synchronises the device first); the overload with a {@link CudaStream} orders it on that
     * stream alone.
     *
     * @param y a direct, writable buffer in native byte order, at least shape.numel() elements
     *     remaining
     * @throws SpatialActException INVALID_ARGUMENT if y is null, not direct, not in native
     *     order, read-only or too short; CLOSED after {@link #close()}; CUDA if the copy fails
     */
    public void download(FloatBuffer y) {
        download(y, null);
    }

    /**
     * As {@link #download(FloatBuffer)}, ordered on a stream of this tensor's GPU: after the work queued
     * on it before (an operator's forward, say), and before what is queued after. Returns when
     * the copy is complete.
     *
     * @param y the destination, as for {@link #download(FloatBuffer)}
     * @param stream a stream of this tensor's GPU, or null for the device-wide order of
     *     {@link #download(FloatBuffer)}
     * @throws SpatialActException INVALID_ARGUMENT for a stream of another GPU; CLOSED if the
     *     tensor or the stream is closed; otherwise as {@link #download(FloatBuffer)}
     */
    public void download(FloatBuffer y, CudaStream stream) {
        Checks.buffer(y, "y", shape, true);
        copy(stream, h -> SpatialActNative.sa_cuda_memcpy_d2h(device, y, address, shape.numel() * 4, h));
    }

    /**
     * Copies the tensor into host memory, from the pointer's position.
     * The copy is synchronous and ordered after all work queued on this GPU, on any stream (it
     * synchronises the device first); the overload with a {@link CudaStream} orders it on that
     * stream alone.
     *
     * @param y host memory: shape.numel() floats inside the allocation it was made from (or
     *     vouched for with {@link SpatialAct#uncheckedPointer})
     * @throws SpatialActException INVALID_ARGUMENT if y is null, NULL or reaches past its
     *     memory; CLOSED after {@link #close()}; CUDA if the copy fails
     */
    public void download(FloatPointer y) {
        download(y, null);
    }

    /**
     * As {@link #download(FloatPointer)}, ordered on a stream of this tensor's GPU: after the work queued
     * on it before (an operator's forward, say), and before what is queued after. Returns when
     * the copy is complete.
     *
     * @param y the destination, as for {@link #download(FloatPointer)}
     * @param stream a stream of this tensor's GPU, or null for the device-wide order of
     *     {@link #download(FloatPointer)}
     * @throws SpatialActException INVALID_ARGUMENT for a stream of another GPU; CLOSED if the
     *     tensor or the stream is closed; otherwise as {@link #download(FloatPointer)}
     */
    public void download(FloatPointer y, CudaStream stream) {
        Checks.pointer(y, "y", shape);
        copy(stream, h -> SpatialActNative.sa_cuda_memcpy_d2h(device, y, address, shape.numel() * 4, h));
    }

    void enter() { guard.enter(); }
    void exit() { guard.exit(); }

    /** {@return true once {@link #close()} has been called} */
    public boolean isClosed() { return guard.isClosed(); }

    /**
     * Frees the memory once no call of the library is using it, and waits for that (interruptibly,
     * as {@link NativeOperator#close()}). Idempotent.
     */
    @Override
    public void close() {
        guard.close();
    }

    private void copy(CudaStream stream, java.util.function.LongToIntFunction op) {
        if (stream == null) {
            call(() -> op.applyAsInt(0));
            return;
        }
        if (stream.device() != device)
            throw SpatialActException.invalid("stream is on device " + stream.device() + ", the tensor on " + device);
        stream.enter();
        try {
            long h = stream.handle();
            call(() -> op.applyAsInt(h));
        } finally {
            stream.exit();
        }
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
