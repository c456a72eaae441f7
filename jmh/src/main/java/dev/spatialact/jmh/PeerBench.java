package dev.spatialact.jmh;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
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

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.spatialact.Backend;
import dev.spatialact.LeakyReLU;
import dev.spatialact.NativeOperator;
import dev.spatialact.Shape;
import dev.spatialact.SpatialAct;
import dev.spatialact.TDLReLU;
import dev.spatialact.io.FReLUWeights;

/**
 * spatialact against ONNX Runtime Java in one JMH run (issue 10, item 5): the same math, shapes
 * and threads. ONNX Runtime runs the graphs of {@code scripts/onnx_models.py} (LeakyRelu; FReLU as
 * Conv(group=C) + BatchNormalization + Max; TD-LReLU hard, T = 5, r = 3, unrolled into depthwise
 * Convs and Where), with intra-op threads = {@code threads}, inter-op 1, all graph optimisations,
 * the input an OnnxTensor over a direct buffer created once and the output pinned (preallocated),
 * as spatialact's float[] output is. spatialact runs the same operators on float[] with
 * {@code threads} native threads. Before timing, each pair's outputs are compared (LeakyReLU and
 * FReLU: relative error 1e-5 of the largest value; TD hard: at most 1e-3 of the elements differ,
 * the gates at |f| ~ 0 may flip). Models: {@code -Dpeer.models=DIR} (default target/onnx), one
 * folder per channel count, {@code DIR/C<c>}; scripts/peers.sh makes them and runs this.
 *
 * <pre>java -Dpeer.models=jmh/target/onnx -jar jmh/target/benchmarks.jar PeerBench -rf json -rff peers.json</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class PeerBench {

    @State(Scope.Benchmark)
    public static class Pair {
        @Param({"1x64x256x256", "1x8x32x32"})
        public String shape;

        @Param({"leaky_relu", "frelu", "td_lrelu"})
        public String op;

        @Param({"2"})
        public int threads;

        Shape s;
        float[] x, y;
        NativeOperator native_;
        OrtEnvironment env;
        OrtSession session;
        OnnxTensor input, output;
        Map<String, OnnxTensor> inputs;
        Map<String, OnnxTensor> outputs;

        @Setup(Level.Trial)
        public void setup() throws Exception {
            s = Shape.parse(shape);
            x = Data.gaussian(s.numelInt(), 20261201L);
            y = new float[x.length];
            SpatialAct.setCpuThreads(threads);
            Path dir = Path.of(System.getProperty("peer.models", "target/onnx"), "C" + s.c());
            Path model = dir.resolve(op + ".onnx");
            if (!Files.exists(model))
                throw new IllegalStateException(model + " is missing: python3 scripts/onnx_models.py --out " + dir.getParent()
                        + "/C" + s.c() + " --channels " + s.c() + " (scripts/peers.sh does this)");
            native_ = switch (op) {
                case "leaky_relu" -> LeakyReLU.builder().alpha(Data.ALPHA).backend(Backend.CPU).build();
                case "frelu" -> FReLUWeights.load(dir.resolve("frelu"), "", 1e-5f, Backend.CPU);
                case "td_lrelu" -> TDLReLU.builder().alpha(Data.ALPHA).lambda(0.1f).sigma(1f).radius(3).iterations(5).backend(Backend.CPU).build();
                default -> throw new IllegalArgumentException(op);
            };
            env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
                o.setIntraOpNumThreads(threads);
                o.setInterOpNumThreads(1);
                o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                session = env.createSession(model.toString(), o);
            }
            long[] dims = {s.n(), s.c(), s.h(), s.w()};
            input = OnnxTensor.createTensor(env, Data.direct(x), dims);
            output = OnnxTensor.createTensor(env, Data.direct(x.length), dims);
            inputs = Map.of(session.getInputNames().iterator().next(), input);
            outputs = Map.of(session.getOutputNames().iterator().next(), output);
            check();
        }

        /** The outputs agree before anything is timed. */
        void check() throws OrtException {
            native_.forward(s, y, x);
            session.run(inputs, outputs).close();
            FloatBuffer o = output.getFloatBuffer();
            double max = 0, worst = 0;
            long differ = 0;
            for (int i = 0; i < y.length; i++) max = Math.max(max, Math.abs(y[i]));
            for (int i = 0; i < y.length; i++) {
                double d = Math.abs(y[i] - o.get(i));
                worst = Math.max(worst, d);
                if (d > 1e-4 * (Math.abs(y[i]) + Math.abs(o.get(i))) + 1e-6) differ++;
            }
            boolean ok = op.equals("td_lrelu") ? differ <= 1e-3 * y.length : worst <= 1e-5 * Math.max(max, 1);
            if (!ok)
                throw new IllegalStateException(op + " " + shape + ": spatialact and ONNX Runtime disagree: " + differ
                        + " elements differ, largest difference " + worst + " (largest value " + max + ")");
        }

        @TearDown(Level.Trial)
        public void tearDown() throws OrtException {
            input.close();
            output.close();
            session.close();
            native_.close();
        }
    }

    @Benchmark
    public float[] spatialact(Pair p) {
        p.native_.forward(p.s, p.y, p.x);
        return p.y;
    }

    @Benchmark
    public Object onnxRuntime(Pair p) throws OrtException {
        try (OrtSession.Result r = p.session.run(p.inputs, p.outputs)) {
            return r;
        }
    }
}
