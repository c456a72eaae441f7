package dev.spatialact.jmh;

import java.nio.FloatBuffer;
import java.util.concurrent.TimeUnit;

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
import dev.spatialact.FReLU;
import dev.spatialact.LeakyReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialAct;
import dev.spatialact.Star;

/**
 * Out-of-place forward throughput of the CPU kernels, against the plain Java loop.
 *
 * <p>Mode Throughput, ops/s summed over all JMH threads: elements/s = score * shape.numel(),
 * bytes/s = elements/s * 8 (unary: read x, write y) or * 12 (star: read a and b, write y).
 * {@code summarize.py} prints those and the ratios.
 *
 * <p>Operators (one per trial, shared by all JMH threads: they are thread-safe) are in {@link Ops};
 * each thread has its own inputs and outputs ({@link Buffers}), as float[] or as direct
 * native-order FloatBuffers ({@code memory}). {@code nativeThreads} sets the library's CPU
 * thread pool: the default 1 gives each JMH thread one core (with -t 2 on a 2-core machine, the
 * same as the Java loop, which is single-threaded per JMH thread); 0 means all cores per call.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class ActivationBench {

    @State(Scope.Benchmark)
    public static class Ops {
        @Param({"1x64x256x256", "8x32x128x128", "1x256x64x64", "1x8x32x32"})
        public String shape;

        /** array: float[]; buffer: direct native-order FloatBuffer. */
        @Param({"array", "buffer"})
        public String memory;

        /** Threads of the library's CPU pool per call (SpatialAct.setCpuThreads); 0: all cores. */
        @Param({"1"})
        public int nativeThreads;

        /**
         * How long idle pool workers poll before they block (SpatialAct.setCpuSpinMicros): -1 the
         * default (200 us), 0 block at once (the pool before 2026-12-02).
         */
        @Param({"-1"})
        public int spinMicros;

        Shape s;
        int n;
        boolean array;
        LeakyReLU leaky;
        FReLU frelu, freluLight;
        Star star;

        @Setup(Level.Trial)
        public void setup() {
            s = Shape.parse(shape);
            n = s.numelInt();
            array = switch (memory) {
                case "array" -> true;
                case "buffer" -> false;
                default -> throw new IllegalArgumentException("memory = " + memory + ": array or buffer");
            };
            SpatialAct.setCpuThreads(nativeThreads);
            SpatialAct.setCpuSpinMicros(spinMicros);
            int c = (int) s.c();
            leaky = LeakyReLU.builder().alpha(Data.ALPHA).backend(Backend.CPU).build();
            frelu = Data.frelu(c, 3, 11);
            freluLight = Data.freluLight(c, 3, 12);
            star = Star.builder().act(Star.Act.RELU).backend(Backend.CPU).build();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            leaky.close();
            frelu.close();
            freluLight.close();
            star.close();
        }
    }

    @State(Scope.Thread)
    public static class Buffers {
        float[] xa, ba, ya;
        FloatBuffer xb, bb, yb;

        @Setup(Level.Trial)
        public void setup(Ops ops) {
            long seed = Thread.currentThread().getId() * 7919L;
            float[] x = Data.gaussian(ops.n, seed), b = Data.gaussian(ops.n, seed + 1);
            if (ops.array) {
                xa = x;
                ba = b;
                ya = new float[ops.n];
            } else {
                xb = Data.direct(x);
                bb = Data.direct(b);
                yb = Data.direct(ops.n);
            }
        }
    }

    /** JVM baseline: the plain Java LeakyReLU loop (float[], or direct buffer get/put). */
    @Benchmark
    public void javaLeakyRelu(Ops o, Buffers d) {
        if (o.array) Data.javaLeakyRelu(d.xa, d.ya, Data.ALPHA);
        else Data.javaLeakyRelu(d.xb, d.yb, o.n, Data.ALPHA);
    }

    @Benchmark
    public void leakyRelu(Ops o, Buffers d) {
        if (o.array) o.leaky.apply(d.xa, d.ya, o.s);
        else o.leaky.apply(d.xb, d.yb, o.s);
    }

    /** FReLU, depthwise 3x3 conv + BN (folded), y = max(x, T(x)). */
    @Benchmark
    public void frelu(Ops o, Buffers d) {
        if (o.array) o.frelu.apply(d.xa, d.ya, o.s);
        else o.frelu.apply(d.xb, d.yb, o.s);
    }

    /** FReLU light, 1x3 + 3x1 convs + BNs. */
    @Benchmark
    public void freluLight(Ops o, Buffers d) {
        if (o.array) o.freluLight.apply(d.xa, d.ya, o.s);
        else o.freluLight.apply(d.xb, d.yb, o.s);
    }

    /** Star, y = relu(a) * b. */
    @Benchmark
    public void starRelu(Ops o, Buffers d) {
        if (o.array) o.star.apply(d.xa, d.ba, d.ya, o.s);
        else o.star.apply(d.xb, d.bb, d.yb, o.s);
    }
}
