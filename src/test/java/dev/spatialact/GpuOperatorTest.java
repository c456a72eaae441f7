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

    @Test
    void streamOrderedCopies() {
        SplittableRandom r = new SplittableRandom(SEED + 3);
        Shape s = Shape.of(1, 4, 31, 47);
        float[] x = Ref.input(r, s.numelInt(), true);
        float[] y = new float[s.numelInt()];
        try (TDLReLU op = TDLReLU.builder().build(); CudaStream st = CudaStream.create(0);
                DeviceTensor dx = DeviceTensor.allocate(0, s); DeviceTensor dy = DeviceTensor.allocate(0, s)) {
            dx.upload(x, st);
            op.forward(dy, st, dx);
            dy.download(y, st);  // ordered after the forward on st: no synchronize() needed
            try (TDLReLU cpu = TDLReLU.builder().backend(Backend.CPU).build()) {
                Ref.assertClose(toDouble(cpu.apply(x, s)), y, Ref.REL_L2_TOL, SEED + 3, "stream-ordered upload, TD, download");
            }
        }
    }

    @Test
    void callsRunOnTheTensorsGpu() {
        assumeTrue(Backend.cudaDeviceCount() >= 2, "needs two GPUs (the emulated GPU: SA_EMU_DEVICES=2)");
        SplittableRandom r = new SplittableRandom(SEED + 4);
        Shape s = Shape.of(1, 2, 17, 33);
        float[] x = Ref.input(r, s.numelInt(), true);
        try (LeakyReLU op = LeakyReLU.of(0.3f); DeviceTensor d0 = DeviceTensor.allocate(0, s);
                DeviceTensor dx = DeviceTensor.upload(1, s, x); DeviceTensor dy = DeviceTensor.allocate(1, s);
                CudaStream s0 = CudaStream.create(0); CudaStream s1 = CudaStream.create(1)) {
            op.forward(dy, s1, dx);  // GPU 1's tensors, after an allocation on GPU 0
            Ref.assertClose(Ref.leakyRelu(x, s, 0.3f, null), dy.download(), Ref.REL_L2_TOL, SEED + 4, "on GPU 1");
            SpatialActException e = org.junit.jupiter.api.Assertions.assertThrows(SpatialActException.class,
                    () -> op.forward(dy, s0, dx));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("stream is on device 0"), e.getMessage());
            // raw addresses of GPU 1 given as GPU 0's: the native check names both
            e = org.junit.jupiter.api.Assertions.assertThrows(SpatialActException.class,
                    () -> op.applyDevice(0, dx.address(), dy.address(), s, 0));
            org.junit.jupiter.api.Assertions.assertEquals(SpatialActException.Code.INVALID_ARGUMENT, e.code());
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("names GPU 0"), e.getMessage());
            e = org.junit.jupiter.api.Assertions.assertThrows(SpatialActException.class, () -> dy.download(x, s0));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("stream is on device 0"), e.getMessage());
        }
    }

    @Test
    void debugModeAndVersions() {
        int[] v = SpatialAct.cudaVersions();
        org.junit.jupiter.api.Assertions.assertTrue(v[0] > 0 && v[1] > 0, () -> java.util.Arrays.toString(v));
        Shape s = Shape.of(1, 2, 9, 10);
        float[] x = Ref.input(new SplittableRandom(SEED + 5), s.numelInt(), true);
        SpatialAct.setCudaDebug(true);
        try (LeakyReLU op = LeakyReLU.of(0.1f); DeviceTensor dx = DeviceTensor.upload(0, s, x);
                DeviceTensor dy = DeviceTensor.allocate(0, s)) {
            op.forward(dy, null, dx);
            Ref.assertClose(Ref.leakyRelu(x, s, 0.1f, null), dy.download(), Ref.REL_L2_TOL, SEED + 5, "debug mode");
        } finally {
            SpatialAct.setCudaDebug(false);
        }
        SpatialAct.releaseGpuWorkspaces(0);
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
