package dev.spatialact.jmh;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import dev.spatialact.Backend;
import dev.spatialact.CudaStream;
import dev.spatialact.DeviceTensor;
import dev.spatialact.FReLU;
import dev.spatialact.LeakyReLU;
import dev.spatialact.Shape;
import dev.spatialact.Star;
import dev.spatialact.UnaryActivation;

/**
 * GPU forward throughput on device-resident tensors ({@link DeviceTensor}): no host copies are
 * timed. Each JMH thread has its own tensors and its own stream; the operators are shared.
 * {@code perOp}: launch + stream synchronize per call (latency-bound for small shapes);
 * {@code perBatch}: {@value #BATCH} launches, then one synchronize (counted as {@value #BATCH}
 * operations: the GPU's throughput).
 *
 * <p>Needs a usable CUDA GPU. Without one the trial setup throws "CudaBench skipped: ..." and JMH
 * goes on with the next benchmark; {@code run.sh} excludes this class up front when
 * {@code Env --cuda} says CUDA is unavailable.
 *
 * <p>Mode Throughput, ops/s summed over threads, as {@link ActivationBench}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class CudaBench {
    static final int BATCH = 16;

    @State(Scope.Benchmark)
    public static class Ops {
        @Param({"1x64x256x256", "8x32x128x128", "1x256x64x64", "1x8x32x32"})
        public String shape;

        /** leaky | frelu | freluLight | star (star: relu(a) * b). */
        @Param({"leaky", "frelu", "freluLight", "star"})
        public String op;

        Shape s;
        UnaryActivation unary;  // null for star
        Star star;

        @Setup(Level.Trial)
        public void setup() {
            if (!Backend.CUDA.isAvailable())
                throw new UnsupportedOperationException("CudaBench skipped: " + Backend.CUDA.unavailableReason());
            s = Shape.parse(shape);
            int c = (int) s.c();
            switch (op) {
                case "leaky" -> unary = LeakyReLU.builder().alpha(Data.ALPHA).backend(Backend.CUDA).build();
                case "frelu" -> unary = Data.frelu(c, 3, 11);
                case "freluLight" -> unary = Data.freluLight(c, 3, 12);
                case "star" -> star = Star.builder().act(Star.Act.RELU).backend(Backend.CUDA).build();
                default -> throw new IllegalArgumentException("op = " + op + ": leaky, frelu, freluLight or star");
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            if (unary != null) unary.close();
            if (star != null) star.close();
        }
    }

    @State(Scope.Thread)
    public static class Tensors {
        DeviceTensor x, b, y;
        CudaStream stream;

        @Setup(Level.Trial)
        public void setup(Ops ops) {
            long seed = Thread.currentThread().getId() * 7919L;
            int n = ops.s.numelInt();
            stream = CudaStream.create(0);
            x = DeviceTensor.upload(0, ops.s, Data.gaussian(n, seed));
            b = DeviceTensor.upload(0, ops.s, Data.gaussian(n, seed + 1));
            y = DeviceTensor.allocate(0, ops.s);
            // One call outside the timing: uploads the operator's parameters to the GPU, and
            // surfaces a launch error here rather than as a score.
            run(ops);
            stream.synchronize();
        }

        void run(Ops ops) {
            if (ops.star != null) ops.star.apply(x, b, y, stream);
            else ops.unary.apply(x, y, stream);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            for (AutoCloseable c : new AutoCloseable[] {x, b, y, stream}) {
                try {
                    if (c != null) c.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    @Benchmark
    public void perOp(Ops o, Tensors t) {
        t.run(o);
        t.stream.synchronize();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void perBatch(Ops o, Tensors t) {
        for (int i = 0; i < BATCH; i++) t.run(o);
        t.stream.synchronize();
    }
}
