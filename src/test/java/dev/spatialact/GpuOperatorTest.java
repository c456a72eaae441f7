package dev.spatialact;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The CUDA backend against the CPU backend and the float64 reference on the same random data
 * (faiss style: parameters printed on failure). Skipped, with the reason, where no GPU is usable.
 */
class GpuOperatorTest {
    static final long SEED = 7_2026_11_22L;

    @BeforeEach
    void needGpu() {
        assumeTrue(Backend.CUDA.isAvailable(), () -> "GPU tests skipped: " + Backend.CUDA.unavailableReason());
    }

    @Test
    void everyOperatorOnDeviceTensorsMatchesCpu() {
        SplittableRandom r = new SplittableRandom(SEED);
        for (Shape s : CpuOperatorTest.SHAPES) {
            float[] x = Ref.input(r, s.numelInt(), true);
            for (int k : new int[] {1, 3, 5, 7})
                for (boolean light : new boolean[] {false, true}) {
                    Ref.FreluParams p = Ref.randomFrelu(r, (int) s.c(), k, light, !light, true);
                    double[] want = Ref.frelu(x, s, p);
                    try (FReLU op = p.build(Backend.AUTO); DeviceTensor dx = DeviceTensor.upload(0, s, x);
                            DeviceTensor dy = DeviceTensor.allocate(0, s)) {
                        op.apply(dx, dy);
                        float[] gpu = dy.download();
                        Ref.assertClose(want, gpu, Ref.REL_L2_TOL, SEED, "CUDA " + p + " " + s);
                        Ref.assertClose(toDouble(op.apply(x, s)), gpu, Ref.REL_L2_TOL, SEED, "CUDA vs CPU " + p + " " + s);
                    }
                }
            try (LeakyReLU op = LeakyReLU.of(0.01f); DeviceTensor dx = DeviceTensor.upload(0, s, x);
                    DeviceTensor dy = DeviceTensor.allocate(0, s)) {
                op.apply(dx, dy);
                Ref.assertClose(Ref.leakyRelu(x, s, 0.01f, null), dy.download(), Ref.REL_L2_TOL, SEED, "CUDA LeakyReLU " + s);
            }
            float[] b = Ref.input(r, s.numelInt(), true);
            for (Star.Act act : Star.Act.values()) {
                try (Star op = Star.builder().act(act).build(); DeviceTensor da = DeviceTensor.upload(0, s, x);
                        DeviceTensor db = DeviceTensor.upload(0, s, b); DeviceTensor dy = DeviceTensor.allocate(0, s)) {
                    op.apply(da, db, dy, null);
                    Ref.assertClose(Ref.star(x, b, act, 0.01f), dy.download(), Ref.REL_L2_TOL, SEED, "CUDA " + op + " " + s);
                }
            }
        }
    }

    @Test
    void hostDataStagedThroughTheGpu() {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        Shape s = Shape.of(2, 8, 33, 65);
        float[] x = Ref.input(r, s.numelInt(), true);
        Ref.FreluParams p = Ref.randomFrelu(r, 8, 3, false, true, true);
        try (FReLU op = p.build(Backend.CUDA)) {
            Ref.assertClose(Ref.frelu(x, s, p), op.apply(x, s), Ref.REL_L2_TOL, SEED + 1, "staged " + p + " " + s);
        }
    }

    @Test
    void ownStreamAndRawPointers() {
        SplittableRandom r = new SplittableRandom(SEED + 2);
        Shape s = Shape.of(1, 3, 64, 64);
        float[] x = Ref.input(r, s.numelInt(), false);
        try (LeakyReLU op = LeakyReLU.of(0.2f); CudaStream st = CudaStream.create(0);
                DeviceTensor dx = DeviceTensor.upload(0, s, x); DeviceTensor dy = DeviceTensor.allocate(0, s)) {
            op.applyDevice(0, dx.address(), dy.address(), s, st.handle());
            st.synchronize();
            Ref.assertClose(Ref.leakyRelu(x, s, 0.2f, null), dy.download(), Ref.REL_L2_TOL, SEED + 2, "raw pointers on own stream");
        }
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
