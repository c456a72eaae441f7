package example;

import java.util.Random;

import dev.spatialact.FReLU;
import dev.spatialact.Shape;
import dev.spatialact.SpatialAct;
import dev.spatialact.TDLReLU;
import dev.spatialact.io.FReLUWeights;

/** FReLU and TD-LReLU from a plain main, on the classifier route (classes + linux-x86_64 jar). */
public final class Main {
    private Main() {}

    /** y of FReLU (random parameters) then TD-LReLU on one 1x8x24x24 input. */
    public static float[] run() {
        Shape s = Shape.of(1, 8, 24, 24);
        Random r = new Random(7);
        float[] x = new float[s.numelInt()], t = new float[x.length], y = new float[x.length];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        try (FReLU frelu = FReLUWeights.random(8, 3, false, 1).build(); TDLReLU td = TDLReLU.builder().build()) {
            frelu.apply(x, t, s);
            td.apply(t, y, s);
        }
        return y;
    }

    public static void main(String[] args) {
        float[] y = run();
        double sum = 0;
        for (float v : y) sum += v;
        System.out.printf("spatialact %s: FReLU then TD-LReLU, sum of y = %.6f%nconsumer-classifier: ok%n", SpatialAct.version(), sum);
    }
}
