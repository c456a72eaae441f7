package dev.spatialact.jmh;

import dev.spatialact.Backend;
import dev.spatialact.SpatialAct;

/**
 * Prints what the benchmarks will run on (library version, CPU ISA and threads, CUDA devices).
 * With {@code --cuda}: exits 0 if the CUDA backend is usable, 3 if not (run.sh uses it to
 * exclude {@link CudaBench}).
 * <pre>java -cp target/benchmarks.jar dev.spatialact.jmh.Env [--cuda]</pre>
 */
public final class Env {
    private Env() {}

    public static void main(String[] args) {
        boolean cudaOnly = args.length > 0 && args[0].equals("--cuda");
        if (cudaOnly) {
            String r = Backend.CUDA.unavailableReason();
            System.out.println(r == null ? "CUDA: available" : "CUDA: unavailable: " + r);
            System.exit(r == null ? 0 : 3);
        }
        System.out.println("spatialact " + SpatialAct.version());
        System.out.println("java " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        System.out.print(Backend.describe());
    }
}
