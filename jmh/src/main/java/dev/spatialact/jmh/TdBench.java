package dev.spatialact.jmh;

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
import dev.spatialact.LeakyReLU;
import dev.spatialact.NTDLReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialAct;
import dev.spatialact.TDLReLU;

/**
 * TD-LReLU (T in {1, 5, 10}, r in {2, 3, 5}, hard gate) and NTD-LReLU (S = 3, P = 1, T = 5)
 * against native LeakyReLU on the same shape, out-of-place on float[], CPU backend. Throughput
 * in ops/s summed over the JMH threads; the ratio to {@code leakyRelu} of the same run is the
 * figure of the bar (TD-LReLU T = 5, r = 3 >= 0.2x at 1x64x256x256).
 * {@code nativeThreads} as in {@link ActivationBench}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class TdBench {

    @State(Scope.Benchmark)
    public static class Ops {
        @Param({"1x64x256x256"})
        public String shape;

        @Param({"1", "5", "10"})
        public int iterations;

        @Param({"2", "3", "5"})
        public int radius;

        @Param({"1"})
        public int nativeThreads;

        Shape s;
        LeakyReLU leaky;
        TDLReLU td;
        NTDLReLU ntd;

        @Setup(Level.Trial)
        public void setup() {
            s = Shape.parse(shape);
            SpatialAct.setCpuThreads(nativeThreads);
            leaky = LeakyReLU.builder().alpha(Data.ALPHA).backend(Backend.CPU).build();
            // sigma = r / 3, so that r = ceil(3 sigma) would have been the default radius.
            td = TDLReLU.builder().alpha(Data.ALPHA).lambda(0.3f).sigma(radius / 3f).radius(radius).iterations(iterations)
                    .backend(Backend.CPU).build();
            ntd = NTDLReLU.builder().alpha(Data.ALPHA).lambda(0.3f).iterations(5).search(3).patch(1).backend(Backend.CPU).build();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            leaky.close();
            td.close();
            ntd.close();
        }
    }

    @State(Scope.Thread)
    public static class Buffers {
        float[] x, y;

        @Setup(Level.Trial)
        public void setup(Ops ops) {
            x = Data.gaussian(ops.s.numelInt(), 21);
            y = new float[x.length];
        }
    }

    @Benchmark
    public float[] leakyRelu(Ops ops, Buffers b) {
        ops.leaky.apply(b.x, b.y, ops.s);
        return b.y;
    }

    @Benchmark
    public float[] tdLrelu(Ops ops, Buffers b) {
        ops.td.apply(b.x, b.y, ops.s);
        return b.y;
    }

    /** Independent of T and r here (S = 3, P = 1, T = 5): run it with -p iterations=5 -p radius=3. */
    @Benchmark
    public float[] ntdLrelu(Ops ops, Buffers b) {
        ops.ntd.apply(b.x, b.y, ops.s);
        return b.y;
    }
}
