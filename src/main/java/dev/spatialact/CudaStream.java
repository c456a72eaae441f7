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

    /** A new non-blocking stream on GPU {@code device}. */
    public static CudaStream create(int device) {
        Backend.CUDA.requireAvailable();
        long[] h = new long[1];
        Native.check(SpatialActNative.sa_cuda_stream_create(device, h));
        return new CudaStream(device, h[0], true);
    }

    /** Wraps a cudaStream_t owned by other code (0 is the legacy default stream). */
    public static CudaStream wrap(int device, long handle) {
        Backend.CUDA.requireAvailable();
        return new CudaStream(device, handle, false);
    }

    public int device() { return device; }

    public long handle() {
        if (guard.isClosed()) throw new SpatialActException(SpatialActException.Code.CLOSED, "CudaStream is closed");
        return handle;
    }

    /** Waits until all work queued on the stream is done; CUDA errors of that work surface here. */
    public void synchronize() {
        guard.enter();
        try {
            Native.check(SpatialActNative.sa_cuda_stream_synchronize(device, handle));
        } finally {
            guard.exit();
        }
    }

    @Override
    public void close() {
        guard.close();
    }
}
