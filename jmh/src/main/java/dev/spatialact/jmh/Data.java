package dev.spatialact.jmh;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;

import dev.spatialact.FReLU;

/** Test data and operator parameters shared by the benchmarks: seeded, so every run sees the same numbers. */
final class Data {
    private Data() {}

    /** Slope of every LeakyReLU here. */
    static final float ALPHA = 0.01f;

    /** n standard-normal floats (about half of them negative: no predictable branch). */
    static float[] gaussian(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) gaussian(r);
        return a;
    }

    private static double gaussian(SplittableRandom r) {
        // Box-Muller; SplittableRandom has no nextGaussian before Java 17's RandomGenerator default.
        double u = r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2.0 * Math.log(1.0 - u)) * Math.cos(2.0 * Math.PI * v);
    }

    /** A direct, native-order buffer holding a copy of a (position 0, limit a.length). */
    static FloatBuffer direct(float[] a) {
        FloatBuffer b = ByteBuffer.allocateDirect(4 * a.length).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.put(a).flip();
        return b;
    }

    /** An empty direct, native-order buffer of n floats (limit n). */
    static FloatBuffer direct(int n) {
        return ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** FReLU k x k with random depthwise weights and a random (raw) inference batch norm. */
    static FReLU frelu(int channels, int k, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return FReLU.builder(channels).kernelSize(k)
                .weight(scaled(r, channels * k * k, 0.3f))
                .batchNorm(bnGamma(r, channels), scaled(r, channels, 0.1f), scaled(r, channels, 0.1f), bnVar(r, channels))
                .build();
    }

    /** Light FReLU (1 x k + k x 1) with random weights and batch norms on both branches. */
    static FReLU freluLight(int channels, int k, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return FReLU.lightBuilder(channels).kernelSize(k)
                .weight(scaled(r, channels * k, 0.5f))
                .weightVertical(scaled(r, channels * k, 0.5f))
                .batchNorm(bnGamma(r, channels), scaled(r, channels, 0.1f), scaled(r, channels, 0.1f), bnVar(r, channels))
                .batchNormVertical(bnGamma(r, channels), scaled(r, channels, 0.1f), scaled(r, channels, 0.1f), bnVar(r, channels))
                .build();
    }

    private static float[] scaled(SplittableRandom r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (scale * gaussian(r));
        return a;
    }

    private static float[] bnGamma(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (1.0 + 0.1 * gaussian(r));
        return a;
    }

    private static float[] bnVar(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (0.5 + r.nextDouble());
        return a;
    }

    // ---- the JVM baseline ----

    /** The plain Java LeakyReLU: y[i] = x[i] > 0 ? x[i] : alpha * x[i]. */
    static void javaLeakyRelu(float[] x, float[] y, float alpha) {
        for (int i = 0; i < x.length; i++) y[i] = x[i] > 0 ? x[i] : alpha * x[i];
    }

    /** The same loop over direct buffers (absolute get/put). */
    static void javaLeakyRelu(FloatBuffer x, FloatBuffer y, int n, float alpha) {
        for (int i = 0; i < n; i++) {
            float v = x.get(i);
            y.put(i, v > 0 ? v : alpha * v);
        }
    }
}
