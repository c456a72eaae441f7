package dev.spatialact.internal;

import java.lang.ref.Reference;
import java.nio.FloatBuffer;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.ByVal;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.CriticalRegion;
import org.bytedeco.javacpp.annotation.MemberGetter;
import org.bytedeco.javacpp.annotation.MemberSetter;
import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The JavaCPP mirror of {@code src/main/cpp/include/spatialact/spatialact.h}: the same names in
 * the same order. Pointer arguments are {@link FloatPointer}s on the host and {@code long} device
 * addresses for CUDA. The generic entry points {@code sa_cpu_forward} / {@code sa_cuda_forward},
 * which dispatch on an operator code of the header's table, are the ones the Java API calls:
 * only they have {@code float[]} and direct {@link FloatBuffer} overloads, so every operator
 * reaches every kind of memory through one binding.
 *
 * <p>The {@code float[]} overload pins the arrays with {@code GetPrimitiveArrayCritical} instead
 * of copying them. Inside a critical region JNI allows no other JNI call, but JavaCPP reads a
 * {@link Pointer} argument's address and position with {@code GetLongField}, after it has pinned
 * the arrays: {@code -Xcheck:jni} reports "Calling other JNI functions in the scope of
 * Get/ReleasePrimitiveArrayCritical" on every such call (and a NULL shape would have returned
 * from inside the region without releasing the arrays). The Java wrapper reads the addresses in
 * Java and keeps both structs reachable until the call returns.
 *
 * <p>Each constant exists twice: a compile-time copy (a field) and a getter of the same name that
 * reads the header's value at run time; a test asserts that they are equal.
 *
 * <p>Internal: the public API in {@code dev.spatialact} validates every argument before it calls
 * here, and turns status codes into exceptions. Loading goes through {@link NativeLoader}, which
 * also honours the {@code spatialact.library.path} override.
 */
@Platform(include = {"spatialact/spatialact.h", "spatialact_jni.h"}, link = "spatialact", library = "jnispatialact")
@NoException
public final class SpatialActNative {
    private SpatialActNative() {}

    // ---- status codes ----
    public static final int SA_OK = 0, SA_ERR_INVALID_ARGUMENT = 1, SA_ERR_OUT_OF_MEMORY = 2,
            SA_ERR_NOT_IMPLEMENTED = 3, SA_ERR_NO_CUDA = 4, SA_ERR_CUDA = 5, SA_ERR_INTERNAL = 6, SA_ERR_CANCELLED = 7;
    // ---- enumerations ----
    public static final int SA_ACT_IDENTITY = 0, SA_ACT_RELU = 1, SA_ACT_RELU6 = 2, SA_ACT_LEAKY_RELU = 3;
    public static final int SA_FRELU_FULL = 0, SA_FRELU_LIGHT = 1;
    public static final int SA_ISA_BASELINE = 0, SA_ISA_AVX2 = 1, SA_ISA_AVX512 = 2;
    public static final int SA_FRELU_MAX_K = 7, SA_TD_MAX_RADIUS = 32, SA_TD_MAX_ITERATIONS = 1000,
            SA_NTD_MAX_SEARCH = 7, SA_NTD_MAX_PATCH = 3;
    public static final float SA_FRELU_DEFAULT_BN_EPS = 1e-5f;
    // ---- the operator table ----
    public static final int SA_OP_LEAKY_RELU = 0, SA_OP_FRELU = 1, SA_OP_STAR = 2, SA_OP_TD_LRELU = 3,
            SA_OP_NTD_LRELU = 4, SA_OP_COUNT = 5, SA_MAX_INPUTS = 2;

    /** {@code sa_shape}. */
    public static final class sa_shape extends Pointer {
        static { NativeLoader.ensureLoaded(); }
        public sa_shape() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native long n(); public native sa_shape n(long v);
        public native long c(); public native sa_shape c(long v);
        public native long h(); public native sa_shape h(long v);
        public native long w(); public native sa_shape w(long v);
    }

    /** {@code sa_params}. The pointer fields hold host or device addresses, as the entry point needs. */
    public static final class sa_params extends Pointer {
        static { NativeLoader.ensureLoaded(); }
        public sa_params() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native float alpha(); public native sa_params alpha(float v);
        @MemberGetter public native @Cast("uintptr_t") long alpha_per_channel(); @MemberSetter public native sa_params alpha_per_channel(@Cast("const float*") long v);
        public native int act(); public native sa_params act(int v);
        public native int k(); public native sa_params k(int v);
        public native int variant(); public native sa_params variant(int v);
        @MemberGetter public native @Cast("uintptr_t") long weight(); @MemberSetter public native sa_params weight(@Cast("const float*") long v);
        @MemberGetter public native @Cast("uintptr_t") long bias(); @MemberSetter public native sa_params bias(@Cast("const float*") long v);
        public native float lambda(); public native sa_params lambda(float v);
        public native float sigma(); public native sa_params sigma(float v);
        public native float eps(); public native sa_params eps(float v);
        public native int radius(); public native sa_params radius(int v);
        public native int iterations(); public native sa_params iterations(int v);
        public native int search(); public native sa_params search(int v);
        public native int patch(); public native sa_params patch(int v);
        public native float h(); public native sa_params h(float v);
        public native int knn(); public native sa_params knn(int v);
        public native long guide_channels(); public native sa_params guide_channels(long v);
    }

    /** {@code sa_op_info}: one row of the operator table. */
    public static final class sa_op_info extends Pointer {
        static { NativeLoader.ensureLoaded(); }
        public sa_op_info() { super((Pointer) null); allocate(); }
        private native void allocate();
        @MemberGetter public native @Cast("const char*") BytePointer name();
        @MemberGetter public native int inputs();
        @MemberGetter public native @Cast("const char*") BytePointer input_names(int i);
        @MemberGetter public native int inplace_mask();
        @MemberGetter public native int guide_input();
    }

    /** {@code sa_frelu_bn}: one FReLU branch's batch norm, raw or folded (host addresses). */
    public static final class sa_frelu_bn extends Pointer {
        static { NativeLoader.ensureLoaded(); }
        public sa_frelu_bn() { super((Pointer) null); allocate(); }
        private native void allocate();
        @MemberSetter public native sa_frelu_bn gamma(@Cast("const float*") long v);
        @MemberSetter public native sa_frelu_bn beta(@Cast("const float*") long v);
        @MemberSetter public native sa_frelu_bn running_mean(@Cast("const float*") long v);
        @MemberSetter public native sa_frelu_bn running_var(@Cast("const float*") long v);
        public native float eps(); public native sa_frelu_bn eps(float v);
        @MemberSetter public native sa_frelu_bn scale(@Cast("const float*") long v);
        @MemberSetter public native sa_frelu_bn shift(@Cast("const float*") long v);
    }

    // ---- library ----
    public static native @Cast("const char*") BytePointer sa_version();
    public static native @Cast("const char*") BytePointer sa_last_error();
    public static native int sa_params_init(sa_params p);
    public static native int sa_op_info_get(int op, sa_op_info info);
    public static native int sa_check_params(int op, @Const sa_params p);
    public static native int sa_td_radius(@Const sa_params p);
    public static native int sa_frelu_fold_bn(long channels, @Const float[] gamma, @Const float[] beta,
            @Const float[] running_mean, @Const float[] running_var, @Const float[] conv_bias, float eps,
            float[] scale, float[] shift);
    public static native int sa_frelu_prepare(long channels, int k, int variant, @Const FloatPointer weight,
            @Const FloatPointer weight_vertical, @Const FloatPointer conv_bias, @Const sa_frelu_bn bn,
            @Const sa_frelu_bn bn_vertical, FloatPointer weight_out, FloatPointer bias_out);
    public static native int sa_cpu_isa();
    public static native int sa_cpu_isa_supported(int isa);
    public static native int sa_cpu_set_isa(int isa);
    public static native int sa_cpu_threads();
    public static native int sa_cpu_set_threads(int threads);
    public static native int sa_cpu_spin_us();
    public static native int sa_cpu_set_spin_us(int us);
    public static native long sa_cpu_workspace_limit();
    public static native int sa_cpu_set_workspace_limit(long bytes);

    // ---- CUDA backend: probe, memory, streams ----
    public static native int sa_cuda_compiled();
    public static native int sa_cuda_device_count(int[] count);
    public static native int sa_cuda_device_name(int device, @Cast("char*") byte[] buf, long len);
    public static native int sa_cuda_malloc(int device, long bytes, @Cast("void**") long[] ptr);
    public static native int sa_cuda_free(int device, @Cast("void*") long ptr);
    public static native int sa_cuda_memcpy_h2d(int device, @Cast("void*") long dst, @Const @Cast("const void*") Pointer src, long bytes, @Cast("void*") long stream);
    @CriticalRegion
    public static native int sa_cuda_memcpy_h2d(int device, @Cast("void*") long dst, @Const @Cast("const void*") float[] src, long bytes, @Cast("void*") long stream);
    public static native int sa_cuda_memcpy_h2d(int device, @Cast("void*") long dst, @Const @Cast("const void*") FloatBuffer src, long bytes, @Cast("void*") long stream);
    public static native int sa_cuda_memcpy_d2h(int device, @Cast("void*") Pointer dst, @Cast("const void*") long src, long bytes, @Cast("void*") long stream);
    @CriticalRegion
    public static native int sa_cuda_memcpy_d2h(int device, @Cast("void*") float[] dst, @Cast("const void*") long src, long bytes, @Cast("void*") long stream);
    public static native int sa_cuda_memcpy_d2h(int device, @Cast("void*") FloatBuffer dst, @Cast("const void*") long src, long bytes, @Cast("void*") long stream);
    public static native int sa_cuda_memcpy_d2d(int device, @Cast("void*") long dst, @Cast("const void*") long src, long bytes, @Cast("void*") long stream);
    public static native int sa_cuda_stream_create(int device, @Cast("void**") long[] stream);
    public static native int sa_cuda_stream_destroy(int device, @Cast("void*") long stream);
    public static native int sa_cuda_stream_synchronize(int device, @Cast("void*") long stream);
    public static native int sa_cuda_versions(int[] driver, int[] runtime);
    public static native int sa_cuda_set_debug(int on);
    public static native int sa_cuda_release_workspaces(int device);

    // ---- operators ----
    public static native int sa_cpu_forward(int op, @Const FloatPointer in0, @Const FloatPointer in1, FloatPointer y, @ByVal sa_shape shape, @Const sa_params p);
    public static native int sa_cpu_forward(int op, @Const FloatBuffer in0, @Const FloatBuffer in1, FloatBuffer y, @ByVal sa_shape shape, @Const sa_params p);
    public static int sa_cpu_forward(int op, float[] in0, float[] in1, float[] y, sa_shape shape, sa_params p) {
        try {
            return sa_cpu_forward(op, in0, in1, y, shapeAddress(shape), paramsAddress(p));
        } finally {
            Reference.reachabilityFence(shape);
            Reference.reachabilityFence(p);
        }
    }
    @CriticalRegion
    private static native int sa_cpu_forward(int op, @Const float[] in0, @Const float[] in1, float[] y, @ByVal @Cast("sa_shape*") long shape, @Cast("const sa_params*") long p);
    /** {@code cancel}: the address of an int32 flag another thread may set (0: not cancellable). */
    public static native int sa_cpu_forward_cancellable(int op, @Const FloatPointer in0, @Const FloatPointer in1, FloatPointer y,
            @ByVal sa_shape shape, @Const sa_params p, @Cast("const volatile int32_t*") long cancel);
    public static native int sa_cpu_forward_cancellable(int op, @Const FloatBuffer in0, @Const FloatBuffer in1, FloatBuffer y,
            @ByVal sa_shape shape, @Const sa_params p, @Cast("const volatile int32_t*") long cancel);
    /**
     * The pinned form with element offsets (spatialact_jni.h): one critical region over
     * {@code in0[off0 ..]}, {@code in1[off1 ..]}, {@code y[offy ..]} for {@code shape}. The caller
     * checks the offsets and lengths; in1 may be null.
     */
    public static int sa_cpu_forward_at(int op, float[] in0, long off0, float[] in1, long off1, float[] y, long offy,
            sa_shape shape, sa_params p, long cancel) {
        try {
            return sa_jni_cpu_forward_at(op, in0, off0, in1, off1, y, offy, shapeAddress(shape), paramsAddress(p), cancel);
        } finally {
            Reference.reachabilityFence(shape);
            Reference.reachabilityFence(p);
        }
    }
    @CriticalRegion
    private static native int sa_jni_cpu_forward_at(int op, @Const float[] in0, long off0, @Const float[] in1, long off1,
            float[] y, long offy, @Cast("const sa_shape*") long shape, @Cast("const sa_params*") long p,
            @Cast("const volatile int32_t*") long cancel);
    public static native int sa_cuda_forward(int op, @Cast("const float*") long in0, @Cast("const float*") long in1, @Cast("float*") long y, @ByVal sa_shape shape, @Const sa_params p, @Cast("void*") long stream);
    public static native int sa_cuda_forward_on(int device, int op, @Cast("const float*") long in0, @Cast("const float*") long in1, @Cast("float*") long y, @ByVal sa_shape shape, @Const sa_params p, @Cast("void*") long stream);

    public static native int sa_cpu_leaky_relu_forward(@Const FloatPointer x, FloatPointer y, @ByVal sa_shape shape, @Const sa_params p);
    public static native int sa_cpu_leaky_relu_backward(@Const FloatPointer x, @Const FloatPointer dy, FloatPointer dx, @ByVal sa_shape shape, @Const sa_params p);
    public static native int sa_cuda_leaky_relu_forward(@Cast("const float*") long x, @Cast("float*") long y, @ByVal sa_shape shape, @Const sa_params p, @Cast("void*") long stream);
    public static native int sa_cuda_leaky_relu_backward(@Cast("const float*") long x, @Cast("const float*") long dy, @Cast("float*") long dx, @ByVal sa_shape shape, @Const sa_params p, @Cast("void*") long stream);

    public static native int sa_cpu_frelu_forward(@Const FloatPointer x, FloatPointer y, @ByVal sa_shape shape, @Const sa_params p);
    public static native int sa_cpu_frelu_backward(@Const FloatPointer x, @Const FloatPointer dy, FloatPointer dx, @ByVal sa_shape shape, @Const sa_params p);
    public static native int sa_cuda_frelu_forward(@Cast("const float*") long x, @Cast("float*") long y, @ByVal sa_shape shape, @Const sa_params p, @Cast("void*") long stream);
    public static native int sa_cuda_frelu_backward(@Cast("const float*") long x, @Cast("const float*") long dy, @Cast("float*") long dx, @ByVal sa_shape shape, @Const sa_params p, @Cast("void*") long stream);

    public static native int sa_cpu_star_forward(@Const FloatPointer a, @Const FloatPointer b, FloatPointer y, @ByVal sa_shape shape, @Const sa_params p);
    public static native int sa_cpu_star_backward(@Const FloatPointer a, @Const FloatPointer b, @Const FloatPointer dy, FloatPointer da, FloatPointer db, @ByVal sa_shape shape, @Const sa_params p);
    public static native int sa_cuda_star_forward(@Cast("const float*") long a, @Cast("const float*") long b, @Cast("float*") long y, @ByVal sa_shape shape, @Const sa_params p, @Cast("void*") long stream);
    public static native int sa_cuda_star_backward(@Cast("const float*") long a, @Cast("const float*") long b, @Cast("const float*") long dy, @Cast("float*") long da, @Cast("float*") long db, @ByVal sa_shape shape, @Const sa_params p, @Cast("void*") long stream);

    public static native int sa_cpu_td_lrelu_forward(@Const FloatPointer o, FloatPointer y, @ByVal sa_shape shape, @Const sa_params p);
    public static native int sa_cpu_td_lrelu_backward(@Const FloatPointer o, @Const FloatPointer dy, FloatPointer dx, @ByVal sa_shape shape, @Const sa_params p);
    public static native int sa_cuda_td_lrelu_forward(@Cast("const float*") long o, @Cast("float*") long y, @ByVal sa_shape shape, @Const sa_params p, @Cast("void*") long stream);
    public static native int sa_cuda_td_lrelu_backward(@Cast("const float*") long o, @Cast("const float*") long dy, @Cast("float*") long dx, @ByVal sa_shape shape, @Const sa_params p, @Cast("void*") long stream);

    public static native int sa_cpu_ntd_lrelu_forward(@Const FloatPointer o, @Const FloatPointer guide, FloatPointer y, @ByVal sa_shape shape, @Const sa_params p);
    public static native int sa_cpu_ntd_lrelu_backward(@Const FloatPointer o, @Const FloatPointer guide, @Const FloatPointer dy, FloatPointer dx, @ByVal sa_shape shape, @Const sa_params p);
    public static native int sa_cuda_ntd_lrelu_forward(@Cast("const float*") long o, @Cast("const float*") long guide, @Cast("float*") long y, @ByVal sa_shape shape, @Const sa_params p, @Cast("void*") long stream);
    public static native int sa_cuda_ntd_lrelu_backward(@Cast("const float*") long o, @Cast("const float*") long guide, @Cast("const float*") long dy, @Cast("float*") long dx, @ByVal sa_shape shape, @Const sa_params p, @Cast("void*") long stream);

    // ---- the header's constants as the compiler sees them: each constant above again, read
    // from the header at run time (a test asserts that the copies above equal them) ----
    @MemberGetter public static native int SA_OK();
    @MemberGetter public static native int SA_ERR_INVALID_ARGUMENT();
    @MemberGetter public static native int SA_ERR_OUT_OF_MEMORY();
    @MemberGetter public static native int SA_ERR_NOT_IMPLEMENTED();
    @MemberGetter public static native int SA_ERR_NO_CUDA();
    @MemberGetter public static native int SA_ERR_CUDA();
    @MemberGetter public static native int SA_ERR_INTERNAL();
    @MemberGetter public static native int SA_ERR_CANCELLED();
    @MemberGetter public static native int SA_ACT_IDENTITY();
    @MemberGetter public static native int SA_ACT_RELU();
    @MemberGetter public static native int SA_ACT_RELU6();
    @MemberGetter public static native int SA_ACT_LEAKY_RELU();
    @MemberGetter public static native int SA_FRELU_FULL();
    @MemberGetter public static native int SA_FRELU_LIGHT();
    @MemberGetter public static native int SA_ISA_BASELINE();
    @MemberGetter public static native int SA_ISA_AVX2();
    @MemberGetter public static native int SA_ISA_AVX512();
    @MemberGetter public static native int SA_FRELU_MAX_K();
    @MemberGetter public static native int SA_TD_MAX_RADIUS();
    @MemberGetter public static native int SA_TD_MAX_ITERATIONS();
    @MemberGetter public static native int SA_NTD_MAX_SEARCH();
    @MemberGetter public static native int SA_NTD_MAX_PATCH();
    @MemberGetter public static native float SA_FRELU_DEFAULT_BN_EPS();
    @MemberGetter public static native int SA_OP_LEAKY_RELU();
    @MemberGetter public static native int SA_OP_FRELU();
    @MemberGetter public static native int SA_OP_STAR();
    @MemberGetter public static native int SA_OP_TD_LRELU();
    @MemberGetter public static native int SA_OP_NTD_LRELU();
    @MemberGetter public static native int SA_OP_COUNT();
    @MemberGetter public static native int SA_MAX_INPUTS();


    /** Address of a shape struct (a by-value argument: it must exist). */
    private static long shapeAddress(sa_shape s) {
        if (s == null || s.isNull()) throw new NullPointerException("sa_shape is null");
        if (s.position() != 0) throw new IllegalArgumentException("sa_shape has position " + s.position() + "; expected 0");
        return s.address();
    }

    /** Address of a params struct, 0 for null (the native side reports a NULL params). */
    private static long paramsAddress(sa_params p) {
        if (p == null) return 0;
        if (p.position() != 0) throw new IllegalArgumentException("sa_params has position " + p.position() + "; expected 0");
        return p.address();
    }

    /** Loads the JNI glue the JavaCPP way (from the jar or target/classes). Used by {@link NativeLoader}. */
    static void loadFromJar() {
        Loader.load(SpatialActNative.class);
    }
}
