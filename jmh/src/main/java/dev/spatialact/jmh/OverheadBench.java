package dev.spatialact.jmh;

import java.nio.FloatBuffer;
import java.util.concurrent.TimeUnit;

import org.bytedeco.javacpp.FloatPointer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import dev.spatialact.Backend;
import dev.spatialact.LeakyReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialAct;
import dev.spatialact.internal.Native;
import dev.spatialact.internal.SpatialActNative;
import dev.spatialact.internal.SpatialActNative.sa_params;
import dev.spatialact.internal.SpatialActNative.sa_shape;

/**
 * Cost of the Java API around the native kernel, on a small tensor (1x8x32x32 = 8192 floats,
 * below the library's parallel threshold: one thread per call, whatever the pool size), and on
 * a single element (1x1x1x1) as a control.
 *
 * <p>{@code kernel*}: the JavaCPP binding {@code SpatialActNative.sa_cpu_forward} (LeakyReLU)
 * called directly with a preallocated {@code sa_shape} and {@code sa_params}: JNI + kernel, no
 * Java checks. {@code api*}: the public {@code LeakyReLU.apply} on the same memory kind. The API
 * overhead is {@code apiX - kernelX} (the bar compares {@code apiPointer} and {@code apiArray}
 * against {@code kernelPointer}). {@code jniTrivial} is a native call that does nothing
 * ({@code sa_cpu_threads}); {@code javaLeakyRelu} is the plain Java loop on the same shape.
 *
 * <p>Mode AverageTime, microseconds per call per thread.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class OverheadBench {

    @State(Scope.Benchmark)
    public static class Ops {
        /** 1x8x32x32: the bar's shape; 1x1x1x1: a control where the kernel does (almost) nothing,
         *  so api - kernel there is the Java overhead without the kernel's own noise. */
        @Param({"1x8x32x32", "1x1x1x1"})
        public String shape;

        @Param({"1"})
        public int nativeThreads;

        Shape s;
        int n;
        LeakyReLU leaky;
        /** The raw parameter block of the kernel-alone calls; the kernel only reads it (const). */
        sa_params params;

        @Setup(Level.Trial)
        public void setup() {
            s = Shape.parse(shape);
            n = s.numelInt();
            SpatialAct.setCpuThreads(nativeThreads);
            leaky = LeakyReLU.builder().alpha(Data.ALPHA).backend(Backend.CPU).build();
            params = Native.newParams().alpha(Data.ALPHA);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            leaky.close();
            params.close();
        }
    }

    @State(Scope.Thread)
    public static class Buffers {
        float[] xa, ya;
        FloatBuffer xb, yb;
        FloatPointer xp, yp;
        /** This thread's preallocated native shape. */
        sa_shape ns;

        @Setup(Level.Trial)
        public void setup(Ops ops) {
            xa = Data.gaussian(ops.n, Thread.currentThread().getId() * 7919L);
            ya = new float[ops.n];
            xb = Data.direct(xa);
            yb = Data.direct(ops.n);
            xp = new FloatPointer(xa);
            yp = new FloatPointer(ops.n);
            ns = new sa_shape().n(ops.s.n()).c(ops.s.c()).h(ops.s.h()).w(ops.s.w());
            verify(ops);
        }

        /** The kernel-alone call must succeed and agree with the API and the Java loop. */
        private void verify(Ops ops) {
            float[] want = new float[ops.n], got = new float[ops.n];
            Data.javaLeakyRelu(xa, want, Data.ALPHA);
            int rc = SpatialActNative.sa_cpu_forward(SpatialActNative.SA_OP_LEAKY_RELU, xp, (FloatPointer) null, yp, ns, ops.params);
            if (rc != SpatialActNative.SA_OK) throw new IllegalStateException("kernel alone returned status " + rc);
            yp.get(got);
            if (!java.util.Arrays.equals(want, got)) throw new IllegalStateException("kernel alone disagrees with the Java loop");
            ops.leaky.apply(xa, got, ops.s);
            if (!java.util.Arrays.equals(want, got)) throw new IllegalStateException("LeakyReLU.apply disagrees with the Java loop");
            yp.fill(0);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            xp.close();
            yp.close();
            ns.close();
        }
    }

    /** A native call that does nothing: the JNI floor (the Ops argument loads the library). */
    @Benchmark
    public int jniTrivial(Ops o) {
        return SpatialActNative.sa_cpu_threads();
    }

    /** Kernel alone: the binding with FloatPointers (JNI + kernel). */
    @Benchmark
    public int kernelPointer(Ops o, Buffers d) {
        return SpatialActNative.sa_cpu_forward(SpatialActNative.SA_OP_LEAKY_RELU, d.xp, (FloatPointer) null, d.yp, d.ns, o.params);
    }

    /** Kernel alone on float[] (the binding pins them: GetPrimitiveArrayCritical). */
    @Benchmark
    public int kernelArray(Ops o, Buffers d) {
        return SpatialActNative.sa_cpu_forward(SpatialActNative.SA_OP_LEAKY_RELU, d.xa, (float[]) null, d.ya, d.ns, o.params);
    }

    /** Kernel alone on direct FloatBuffers. */
    @Benchmark
    public int kernelBuffer(Ops o, Buffers d) {
        return SpatialActNative.sa_cpu_forward(SpatialActNative.SA_OP_LEAKY_RELU, d.xb, (FloatBuffer) null, d.yb, d.ns, o.params);
    }

    @Benchmark
    public void apiPointer(Ops o, Buffers d) {
        o.leaky.apply(d.xp, d.yp, o.s);
    }

    @Benchmark
    public void apiArray(Ops o, Buffers d) {
        o.leaky.apply(d.xa, d.ya, o.s);
    }

    @Benchmark
    public void apiBuffer(Ops o, Buffers d) {
        o.leaky.apply(d.xb, d.yb, o.s);
    }

    /** The plain Java loop on the same shape, for scale. */
    @Benchmark
    public void javaLeakyRelu(Buffers d) {
        Data.javaLeakyRelu(d.xa, d.ya, Data.ALPHA);
    }
}
