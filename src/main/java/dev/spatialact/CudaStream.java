package dev.spatialact;

import java.lang.ref.Cleaner;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.ResourceGuard;
import dev.spatialact.internal.SpatialActNative;

/**
 * A CUDA stream: one the library creates (and destroys on close), or a cudaStream_t of other
 * CUDA code wrapped by its handle (e.g. {@code stream.address()} of an org.bytedeco.cuda
 * CUstream_st), which close() leaves alone.
 */
public final class CudaStream implements AutoCloseable {
    private final int device;
    private final long handle;
    private final ResourceGuard guard;

    private CudaStream(int device, long handle, boolean owned) {
        this.device = device;
        this.handle = handle;
        Runnable destroy = owned ? new Destroy(device, handle) : () -> {};
        Cleaner.Cleanable c = NativeOperator.CLEANER.register(this, destroy);
        this.guard = new ResourceGuard("CudaStream on GPU " + device, c::clean);
    }

    private record Destroy(int device, long handle) implements Runnable {
        public void run() {
            SpatialActNative.sa_cuda_stream_destroy(device, handle);
        }
    }

    /**
     * Creates a non-blocking stream, which {@link #close()} destroys.
     *
     * @param device the GPU, from 0
     * @return the new stream
     * @throws SpatialActException BACKEND_UNAVAILABLE without a usable GPU; CUDA (or
     *     INVALID_ARGUMENT for a device that does not exist) if the stream cannot be created
     */
    public static CudaStream create(int device) {
        Backend.CUDA.requireAvailable();
        long[] h = new long[1];
        Native.check(SpatialActNative.sa_cuda_stream_create(device, h));
        return new CudaStream(device, h[0], true);
    }

    /**
     * Wraps a cudaStream_t owned by other code; {@link #close()} leaves it alone, and the caller
     * keeps it alive while the library uses it.
     *
     * @param device the GPU the stream belongs to
     * @param handle the cudaStream_t as an address; 0 is the legacy default stream
     * @return the wrapper
     * @throws SpatialActException BACKEND_UNAVAILABLE without a usable GPU
     */
    public static CudaStream wrap(int device, long handle) {
        Backend.CUDA.requireAvailable();
        return new CudaStream(device, handle, false);
    }

    /** {@return the GPU this stream belongs to} Valid after close(). */
    public int device() { return device; }

    /**
     * The cudaStream_t, to pass to other CUDA code.
     *
     * @return the handle as an address (0: the legacy default stream)
     * @throws SpatialActException CLOSED after {@link #close()}
     */
    public long handle() {
        if (guard.isClosed()) throw new SpatialActException(SpatialActException.Code.CLOSED, "CudaStream is closed");
        return handle;
    }

    /** Keeps the stream open until {@link #exit()} (close() waits). */
    void enter() { guard.enter(); }
    void exit() { guard.exit(); }

    /**
     * Waits until all work queued on the stream is done; CUDA errors of that work surface here.
     *
     * @throws SpatialActException CUDA if the work failed; CLOSED after {@link #close()}
     */
    public void synchronize() {
        guard.enter();
        try {
            Native.check(SpatialActNative.sa_cuda_stream_synchronize(device, handle));
        } finally {
            guard.exit();
        }
    }

    /**
     * Destroys the stream if the library created it (a wrapped one is left alone), after a running
     * {@link #synchronize()} returns. Later {@link #handle()} and {@link #synchronize()} calls, and
     * operator calls on this stream, throw CLOSED. Idempotent.
     */
    @Override
    public void close() {
        guard.close();
    }
}
