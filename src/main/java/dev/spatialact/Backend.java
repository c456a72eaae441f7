package dev.spatialact;

import dev.spatialact.internal.NativeLoader;
import dev.spatialact.internal.SpatialActNative;

/**
 * Where an operator runs. {@link #AUTO} (the default) runs each call where its data lives: host
 * memory on the native CPU backend, device memory on CUDA. {@link #CPU} runs only host data;
 * {@link #CUDA} also accepts host data and stages it through the GPU (upload, kernel, download).
 * A backend that cannot run says why ({@link #unavailableReason()}); there is no silent fallback.
 */
public enum Backend {
    /**
     * Each call runs where its data lives: host memory on the CPU, device memory on the GPU. The
     * default.
     */
    AUTO,
    /** Host memory only, on the native CPU kernels; device memory is rejected. */
    CPU,
    /**
     * The GPU: device memory directly, host memory staged through GPU 0 (upload, kernel,
     * download). Staging costs, per call: three device allocations and frees (the inputs and the
     * output), synchronous copies from and to pageable host memory (about half the bandwidth of
     * pinned memory), and a device synchronisation; it is meant for tests and occasional calls.
     * Pipelines keep their data in {@link DeviceTensor}s (or their own device memory) and call
     * the operators' device-memory methods on a {@link CudaStream}.
     */
    CUDA;

    private static volatile String cudaReason;
    private static volatile int cudaDevices = -1;

    /**
     * Whether this backend can run here. Never throws.
     *
     * @return true if it can (AUTO and CPU: if the native library loaded; CUDA: if a GPU is
     *     usable as well)
     */
    public boolean isAvailable() {
        return unavailableReason() == null;
    }

    /**
     * Why this backend cannot run here. Never throws.
     *
     * @return the reason (the native library's load failure, or for CUDA a build without CUDA
     *     kernels or no usable GPU), or null if it can run
     */
    public String unavailableReason() {
        if (!NativeLoader.isLoaded()) return NativeLoader.failure().getMessage();
        if (this == CUDA) {
            probeCuda();
            return cudaReason;
        }
        return null;
    }

    /**
     * Throws unless this backend can run here.
     *
     * @throws SpatialActException BACKEND_UNAVAILABLE, with the reason and the load failure (if
     *     any) chained, if it cannot
     */
    public void requireAvailable() {
        if (this != CUDA || !NativeLoader.isLoaded()) NativeLoader.ensureLoaded();
        String r = unavailableReason();
        if (r != null)
            throw new SpatialActException(SpatialActException.Code.BACKEND_UNAVAILABLE,
                    "backend " + this + " is unavailable: " + r, NativeLoader.failure());
    }

    /**
     * The best backend here. Never throws.
     *
     * @return CUDA when a GPU is usable, else CPU (which may itself be unavailable: see
     *     {@link #isAvailable()})
     */
    public static Backend best() {
        return CUDA.isAvailable() ? CUDA : CPU;
    }

    /**
     * The number of usable GPUs. Never throws.
     *
     * @return the GPU count; 0 when there is none, the build has no CUDA, or the native library
     *     did not load
     */
    public static int cudaDeviceCount() {
        if (!NativeLoader.isLoaded()) return 0;
        probeCuda();
        return Math.max(0, cudaDevices);
    }

    /**
     * A report of the backends, for diagnostics.
     *
     * @return a line (ending in a newline) for the CPU with its instruction set and threads, then
     *     one per GPU with its name, or one saying why CUDA is unavailable; if the native library
     *     is unavailable, only its load failure (no newline)
     */
    public static String describe() {
        StringBuilder sb = new StringBuilder();
        if (!NativeLoader.isLoaded()) return "native library unavailable: " + NativeLoader.failure().getMessage();
        sb.append("CPU: available, ").append(SpatialAct.cpuIsa()).append(", ").append(SpatialAct.cpuThreads())
                .append(" threads\n");
        String r = CUDA.unavailableReason();
        if (r != null) {
            sb.append("CUDA: unavailable: ").append(r).append('\n');
        } else {
            for (int d = 0; d < cudaDeviceCount(); d++)
                sb.append("CUDA: device ").append(d).append(": ").append(SpatialAct.cudaDeviceName(d)).append('\n');
        }
        return sb.toString();
    }

    private static void probeCuda() {
        if (cudaDevices >= 0) return;
        synchronized (Backend.class) {
            if (cudaDevices >= 0) return;
            String reason = null;
            int count = 0;
            if (SpatialActNative.sa_cuda_compiled() == 0) {
                reason = "this build of spatialact has no CUDA kernels (nvcc was not found when it was built)";
            } else {
                int[] n = new int[1];
                int rc = SpatialActNative.sa_cuda_device_count(n);
                count = n[0];
                if (rc != SpatialActNative.SA_OK || count < 1)
                    reason = "no usable GPU: " + SpatialActNative.sa_last_error().getString();
            }
            // -Dspatialact.cuda.debug=true: the synchronous debug mode (SpatialAct.setCudaDebug)
            if (reason == null && Boolean.getBoolean("spatialact.cuda.debug")) SpatialActNative.sa_cuda_set_debug(1);
            cudaReason = reason;
            cudaDevices = count;
        }
    }
}
