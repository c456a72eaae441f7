package dev.spatialact;

import java.nio.charset.StandardCharsets;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.NativeLoader;
import dev.spatialact.internal.SpatialActNative;

/** Library-wide facts and settings of the native backends. */
public final class SpatialAct {
    private SpatialAct() {}

    /**
     * The version of the native library.
     *
     * @return the version string, e.g. "0.1.0"
     * @throws SpatialActException BACKEND_UNAVAILABLE if the native library cannot be loaded (as
     *     every method here that reaches native code)
     */
    public static String version() {
        NativeLoader.ensureLoaded();
        return SpatialActNative.sa_version().getString();
    }

    /**
     * The instruction set the CPU kernels use now: the best this CPU supports unless
     * {@link #setCpuIsa} chose another.
     *
     * @return "baseline (SSE2)", "AVX2" or "AVX-512"
     */
    public static String cpuIsa() {
        NativeLoader.ensureLoaded();
        return isaName(SpatialActNative.sa_cpu_isa());
    }

    /**
     * The name of an instruction-set code. Pure Java; never throws.
     *
     * @param isa 0 (baseline), 1 (AVX2) or 2 (AVX-512)
     * @return "baseline (SSE2)", "AVX2" or "AVX-512"; "baseline (SSE2)" for any other value
     */
    public static String isaName(int isa) {
        return switch (isa) {
            case SpatialActNative.SA_ISA_AVX512 -> "AVX-512";
            case SpatialActNative.SA_ISA_AVX2 -> "AVX2";
            default -> "baseline (SSE2)";
        };
    }

    /**
     * Forces the instruction set of the CPU kernels, library-wide, e.g. to test every path.
     *
     * @param isa 0 (baseline SSE2), 1 (AVX2 + FMA) or 2 (AVX-512); one this CPU supports
     * @throws SpatialActException INVALID_ARGUMENT if this CPU does not support it (or it is out
     *     of range)
     */
    public static void setCpuIsa(int isa) {
        NativeLoader.ensureLoaded();
        Native.check(SpatialActNative.sa_cpu_set_isa(isa));
    }

    /**
     * Whether this CPU supports an instruction set.
     *
     * @param isa 0 (baseline), 1 (AVX2) or 2 (AVX-512)
     * @return true if {@link #setCpuIsa} accepts it; false for a value out of range
     */
    public static boolean cpuIsaSupported(int isa) {
        NativeLoader.ensureLoaded();
        return SpatialActNative.sa_cpu_isa_supported(isa) != 0;
    }

    /** {@return the threads a CPU call may use, the calling thread included} */
    public static int cpuThreads() {
        NativeLoader.ensureLoaded();
        return SpatialActNative.sa_cpu_threads();
    }

    /**
     * Sets the threads a CPU call may use, library-wide.
     *
     * @param n the threads, the calling thread included; {@code n <= 0} means all cores; at most
     *     4096
     * @throws SpatialActException INVALID_ARGUMENT if n is above 4096; OUT_OF_MEMORY if the
     *     threads cannot be started
     */
    public static void setCpuThreads(int n) {
        NativeLoader.ensureLoaded();
        Native.check(SpatialActNative.sa_cpu_set_threads(n));
    }

    /** {@return how long, in microseconds, idle CPU workers poll for the next call before they block} */
    public static int cpuSpinMicros() {
        NativeLoader.ensureLoaded();
        return SpatialActNative.sa_cpu_spin_us();
    }

    /**
     * Sets how long the CPU pool's idle workers (and a call waiting for them) poll for the next
     * job before they block, library-wide. A blocked worker is woken by the kernel at the next
     * call, ~100 us in a virtual machine: polling keeps back-to-back calls (a network's layers, a
     * benchmark loop) from paying it, at the price of up to this long of CPU time per worker after
     * each call. Not applied while the threads outnumber the cores.
     *
     * @param micros the budget; 0 blocks at once; {@code micros < 0} restores the default (200)
     * @throws SpatialActException INVALID_ARGUMENT above 1000000 (one second)
     */
    public static void setCpuSpinMicros(int micros) {
        NativeLoader.ensureLoaded();
        Native.check(SpatialActNative.sa_cpu_set_spin_us(micros));
    }

    /**
     * The CPU workspace budget in bytes: no workspace buffer larger than this is allocated, and a
     * call that would need one fails with OUT_OF_MEMORY before it allocates anything. Default:
     * half of the physical memory.
     *
     * @return the budget in bytes
     */
    public static long cpuWorkspaceLimit() {
        NativeLoader.ensureLoaded();
        return SpatialActNative.sa_cpu_workspace_limit();
    }

    /**
     * Sets the CPU workspace budget, library-wide (see {@link #cpuWorkspaceLimit()}).
     *
     * @param bytes the budget in bytes; {@code bytes <= 0} restores the default
     */
    public static void setCpuWorkspaceLimit(long bytes) {
        NativeLoader.ensureLoaded();
        Native.check(SpatialActNative.sa_cpu_set_workspace_limit(bytes));
    }

    /**
     * Describes a GPU.
     *
     * @param device the GPU, from 0 to {@link Backend#cudaDeviceCount()} - 1
     * @return "NAME, sm_XY, N MiB": its name, compute capability and memory
     * @throws SpatialActException BACKEND_UNAVAILABLE without a usable GPU; INVALID_ARGUMENT for
     *     a device that does not exist; CUDA if the driver cannot be queried
     */
    public static String cudaDeviceName(int device) {
        Backend.CUDA.requireAvailable();
        byte[] buf = new byte[256];
        Native.check(SpatialActNative.sa_cuda_device_name(device, buf, buf.length));
        int len = 0;
        while (len < buf.length && buf[len] != 0) len++;
        return new String(buf, 0, len, StandardCharsets.UTF_8);
    }

    /**
     * The CUDA versions: the driver's (as cudaDriverGetVersion: 1000 x major + 10 x minor, e.g.
     * 13000; 0 without a driver) and that of the CUDA runtime linked into the library. The CUDA 13
     * runtime needs an NVIDIA driver of branch R580 or newer.
     *
     * @return {driver, runtime}; {0, 0} for a build without CUDA kernels
     */
    public static int[] cudaVersions() {
        int[] driver = new int[1], runtime = new int[1];
        SpatialActNative.sa_cuda_versions(driver, runtime);  // (a build without CUDA: zeros)
        return new int[] {driver[0], runtime[0]};
    }

    /**
     * Turns the synchronous CUDA debug mode on or off, process-wide (also
     * {@code -Dspatialact.cuda.debug=true}, or {@code SA_CUDA_DEBUG=1} in the environment): every
     * kernel launch is followed by a synchronisation of its stream, so that a kernel that faults
     * fails the call that launched it, with the kernel named in the exception, instead of
     * surfacing at a later synchronisation. Slow: for debugging only.
     *
     * @param on true to turn it on
     * @throws SpatialActException BACKEND_UNAVAILABLE without a usable GPU
     */
    public static void setCudaDebug(boolean on) {
        Backend.CUDA.requireAvailable();
        Native.check(SpatialActNative.sa_cuda_set_debug(on ? 1 : 0));
    }

    /**
     * Returns the unused memory of a GPU's workspace pool to the driver. The workspaces of
     * TD-LReLU and NTD-LReLU come from a stream-ordered pool per GPU that keeps freed memory for
     * the next call (at most the largest set of workspaces in flight at once; docs/OPERATORS.md
     * has each operator's workspace). Waits for all work on the GPU.
     *
     * @param device the GPU, from 0
     * @throws SpatialActException BACKEND_UNAVAILABLE without a usable GPU; INVALID_ARGUMENT for a
     *     device that does not exist; CUDA if the GPU reports an error
     */
    public static void releaseGpuWorkspaces(int device) {
        Backend.CUDA.requireAvailable();
        Native.check(SpatialActNative.sa_cuda_release_workspaces(device));
    }

    /**
     * Host memory whose size the library cannot check, vouched for by the caller: a FloatPointer
     * over {@code floats} floats from {@code memory}'s current address ({@code memory.address()}
     * plus its position in its own element size), which keeps {@code memory} reachable. The
     * operators check every other pointer against the allocation JavaCPP made it from, and refuse
     * a pointer whose allocation is unknown (a raw address, {@code Pointer.malloc}, memory from
     * other native code such as {@code cudaMallocHost} of the bytedeco CUDA presets). Unchecked:
     * if {@code floats} is more than the memory holds, kernels read and write past it (a JVM
     * crash or a corrupted heap).
     *
     * @param memory host memory; its address and position are read now, and it is kept
     *     reachable by the result
     * @param floats the number of floats, from that address, the operators may read or write;
     *     {@code >= 0}
     * @return a FloatPointer over those floats, accepted by every operator's FloatPointer methods
     * @throws SpatialActException INVALID_ARGUMENT if memory is null or a NULL pointer, or
     *     floats is negative
     */
    public static FloatPointer uncheckedPointer(Pointer memory, long floats) {
        if (memory == null || memory.isNull()) throw SpatialActException.invalid("memory is null");
        if (floats < 0) throw SpatialActException.invalid("floats = " + floats + " must be >= 0");
        return new UncheckedPointer(memory, memory.address() + memory.position() * memory.sizeof(), floats);
    }

    /**
     * As {@link #uncheckedPointer(Pointer, long)} on a raw host address; the caller keeps the
     * memory allocated while the result is used.
     *
     * @param address the host address of the first float
     * @param floats the number of floats from there the operators may read or write; {@code >= 0}
     * @return a FloatPointer over those floats
     * @throws SpatialActException INVALID_ARGUMENT if address is 0 or floats is negative
     */
    public static FloatPointer uncheckedPointer(long address, long floats) {
        if (address == 0) throw SpatialActException.invalid("address is NULL");
        if (floats < 0) throw SpatialActException.invalid("floats = " + floats + " must be >= 0");
        return new UncheckedPointer(null, address, floats);
    }

    /** The FloatPointer of {@link #uncheckedPointer}: its extent is the caller's word. */
    static final class UncheckedPointer extends FloatPointer {
        final Pointer memory;  // kept reachable
        final long floats;

        UncheckedPointer(Pointer memory, long address, long floats) {
            this.memory = memory;
            this.address = address;
            this.limit = floats;
            this.capacity = floats;
            this.floats = floats;
        }
    }
}
