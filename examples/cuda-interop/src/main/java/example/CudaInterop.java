package example;

import java.util.Random;

import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import dev.spatialact.Backend;
import dev.spatialact.FReLU;
import dev.spatialact.Shape;
import dev.spatialact.TDLReLU;
import dev.spatialact.io.FReLUWeights;

/**
 * Device pointers and a stream made by other CUDA code (here the bytedeco presets) passed to
 * spatialact's operators: y = TD-LReLU(FReLU(x)) on the GPU, enqueued on that stream.
 */
public final class CudaInterop {
    private CudaInterop() {}

    static void ok(int err, String call) {
        if (err != cudart.cudaSuccess) throw new IllegalStateException(call + " failed: " + cudart.cudaGetErrorString(err).getString());
    }

    public static void main(String[] args) {
        // Ask spatialact first: touching cudart without a driver fails in its static initialiser.
        if (!Backend.CUDA.isAvailable()) {
            System.out.println("cuda-interop: skipped: " + Backend.CUDA.unavailableReason());
            return;
        }
        Shape s = Shape.of(1, 16, 128, 128);
        long bytes = s.numel() * 4;
        float[] x = new float[s.numelInt()];
        Random r = new Random(3);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        Pointer dx = new Pointer(), dt = new Pointer(), dy = new Pointer();
        CUstream_st stream = new CUstream_st();
        ok(cudart.cudaMalloc(dx, bytes), "cudaMalloc");
        ok(cudart.cudaMalloc(dt, bytes), "cudaMalloc");
        ok(cudart.cudaMalloc(dy, bytes), "cudaMalloc");
        ok(cudart.cudaStreamCreate(stream), "cudaStreamCreate");
        try (FReLU frelu = FReLUWeights.random(16, 3, false, 1).build(); TDLReLU td = TDLReLU.builder().build();
                FloatPointer hx = new FloatPointer(x); FloatPointer hy = new FloatPointer(s.numel())) {
            ok(cudart.cudaMemcpyAsync(dx, hx, bytes, cudart.cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync");
            frelu.applyDevice(0, dx, dt, s, stream);  // device 0, the caller's stream
            td.applyDevice(0, dt, dy, s, stream);
            ok(cudart.cudaMemcpyAsync(hy, dy, bytes, cudart.cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync");
            ok(cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize");
            double sum = 0;
            for (long i = 0; i < s.numel(); i++) sum += hy.get(i);
            System.out.printf("cuda-interop: TD-LReLU(FReLU(x)) on %s, sum of y = %.6f%n", Backend.describe(), sum);
        } finally {
            cudart.cudaStreamDestroy(stream);
            cudart.cudaFree(dx);
            cudart.cudaFree(dt);
            cudart.cudaFree(dy);
        }
    }
}
