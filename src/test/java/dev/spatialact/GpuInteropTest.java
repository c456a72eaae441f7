package dev.spatialact;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;

import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * spatialact inside an existing org.bytedeco.cuda pipeline: cudaMalloc'd Pointers and a
 * cudaStream_t made by the CUDA presets go straight into the operators, with no copies. The
 * presets' cudart class is only touched once a GPU is known to be usable (without a driver its
 * static initialiser throws, and every later use of the class fails).
 */
class GpuInteropTest {
    @BeforeEach
    void needGpu() {
        assumeTrue(Backend.CUDA.isAvailable(), () -> "GPU interop tests skipped: " + Backend.CUDA.unavailableReason());
    }

    static void ok(int err, String call) {
        assertEquals(cudart.cudaSuccess, err, call + " failed: " + cudart.cudaGetErrorString(err).getString());
    }

    @Test
    void freluOnBytedecoPointersAndStream() {
        SplittableRandom r = new SplittableRandom(5);
        Shape s = Shape.of(2, 8, 65, 70);
        long bytes = s.numel() * 4;
        float[] x = Ref.input(r, s.numelInt(), true);
        Ref.FreluParams p = Ref.randomFrelu(r, 8, 3, false, true, true);
        Pointer dx = new Pointer(), dy = new Pointer();
        CUstream_st stream = new CUstream_st();
        ok(cudart.cudaMalloc(dx, bytes), "cudaMalloc");
        ok(cudart.cudaMalloc(dy, bytes), "cudaMalloc");
        ok(cudart.cudaStreamCreate(stream), "cudaStreamCreate");
        try (FReLU op = p.build(Backend.AUTO); FloatPointer hx = new FloatPointer(x); FloatPointer hy = new FloatPointer(s.numel())) {
            ok(cudart.cudaMemcpyAsync(dx, hx, bytes, cudart.cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync");
            op.applyDevice(0, dx, dy, s, stream);
            ok(cudart.cudaMemcpyAsync(hy, dy, bytes, cudart.cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync");
            ok(cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize");
            float[] y = new float[s.numelInt()];
            hy.get(y);
            Ref.assertClose(Ref.frelu(x, s, p), y, Ref.REL_L2_TOL, 5, "FReLU on org.bytedeco.cuda memory " + s);
        } finally {
            cudart.cudaStreamDestroy(stream);
            cudart.cudaFree(dx);
            cudart.cudaFree(dy);
        }
    }
}
