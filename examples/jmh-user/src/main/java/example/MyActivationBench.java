package example;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import dev.spatialact.FReLU;
import dev.spatialact.LeakyReLU;
import dev.spatialact.Shape;
import dev.spatialact.TDLReLU;
import dev.spatialact.io.FReLUWeights;

/** The user's shape; each operator's score divided by leakyRelu's is its cost in LeakyReLUs. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class MyActivationBench {
    @Param({"1x32x128x128"})
    public String shape;

    Shape s;
    float[] x, y;
    LeakyReLU leaky;
    FReLU frelu;
    TDLReLU td;

    @Setup(Level.Trial)
    public void setup() {
        s = Shape.parse(shape);
        x = new float[s.numelInt()];
        y = new float[x.length];
        Random r = new Random(1);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        leaky = LeakyReLU.of(0.01f);
        frelu = FReLUWeights.random((int) s.c(), 3, false, 1).build();  // or FReLUWeights.load(dir)
        td = TDLReLU.builder().build();
    }

    @TearDown(Level.Trial)
    public void close() {
        leaky.close();
        frelu.close();
        td.close();
    }

    @Benchmark
    public float[] leakyRelu() {
        leaky.apply(x, y, s);
        return y;
    }

    @Benchmark
    public float[] frelu() {
        frelu.apply(x, y, s);
        return y;
    }

    @Benchmark
    public float[] tdLrelu() {
        td.apply(x, y, s);
        return y;
    }
}
