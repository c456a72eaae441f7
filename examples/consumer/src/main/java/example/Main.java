package example;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import dev.spatialact.FReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialAct;
import dev.spatialact.TDLReLU;
import dev.spatialact.io.FReLUWeights;

/**
 * What a user's code looks like: FReLU with weights exported from PyTorch, TD-LReLU on a batch of
 * direct buffers shared by several threads (operators are immutable and thread-safe).
 */
public final class Main {
    private Main() {}

    /** FReLU on one 1x16x32x32 input, its parameters read from a state_dict folder; returns y. */
    public static float[] frelu(Path weights) throws Exception {
        // A PyTorch user exports the module's state_dict as .npy files, one per tensor:
        //   for k, v in frelu.state_dict().items(): numpy.save(f"{dir}/{k}.npy", v.numpy())
        // (conv.weight, bn.weight, bn.bias, bn.running_mean, bn.running_var). Here: random ones.
        if (!Files.exists(weights.resolve("conv.weight.npy"))) FReLUWeights.random(16, 3, false, 42).save(weights);
        Shape s = Shape.of(1, 16, 32, 32);
        float[] x = random(s.numelInt(), 1), y = new float[x.length];
        try (FReLU op = FReLUWeights.load(weights)) {
            op.apply(x, y, s);
        }
        return y;
    }

    /** TD-LReLU on 8 samples of 4x64x64, each a direct buffer, from 4 threads; returns the outputs. */
    public static List<float[]> tdBatch(int threads) throws Exception {
        Shape s = Shape.of(1, 4, 64, 64);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (TDLReLU op = TDLReLU.builder().iterations(5).sigma(1f).lambda(0.1f).build()) {
            List<Future<float[]>> out = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                final int seed = 100 + i;
                out.add(pool.submit(() -> {
                    FloatBuffer x = direct(random(s.numelInt(), seed)), y = direct(new float[s.numelInt()]);
                    op.apply(x, y, s);
                    float[] r = new float[s.numelInt()];
                    y.get(r);
                    return r;
                }));
            }
            List<float[]> results = new ArrayList<>();
            for (Future<float[]> f : out) results.add(f.get());
            return results;
        } finally {
            pool.shutdown();
        }
    }

    static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    static FloatBuffer direct(float[] a) {
        FloatBuffer b = ByteBuffer.allocateDirect(4 * a.length).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.put(a).flip();
        return b;
    }

    static double sum(float[] a) {
        double s = 0;
        for (float v : a) s += v;
        return s;
    }

    public static void main(String[] args) throws Exception {
        System.out.println("spatialact " + SpatialAct.version() + ", CPU " + SpatialAct.cpuIsa() + ", " + SpatialAct.cpuThreads() + " threads");
        Path dir = Files.createTempDirectory("frelu-weights");
        System.out.printf("FReLU: sum of y = %.6f%n", sum(frelu(dir)));
        double total = 0;
        for (float[] y : tdBatch(4)) total += sum(y);
        System.out.printf("TD-LReLU: 8 samples from 4 threads, sum of y = %.6f%n", total);
        System.out.println("consumer: ok");
    }
}
