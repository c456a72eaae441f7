/**
 * Spatially-aware neural-network activations on NCHW float32 tensors, computed by native
 * kernels: C++ on the CPU (all cores; SSE2, AVX2 or AVX-512 chosen at run time) and CUDA on
 * NVIDIA GPUs.
 *
 * <p>The operators: {@link dev.spatialact.LeakyReLU} (and ReLU), {@link dev.spatialact.PReLU},
 * {@link dev.spatialact.FReLU}, {@link dev.spatialact.Star}, {@link dev.spatialact.TDLReLU} and
 * {@link dev.spatialact.NTDLReLU}, each made by its builder and listed in
 * {@link dev.spatialact.OperatorKind}. One-input operators are
 * {@link dev.spatialact.UnaryActivation}s, two-input ones {@link dev.spatialact.TwoInputOperator}s;
 * every call takes {@code float[]}, direct {@link java.nio.FloatBuffer}s, JavaCPP
 * {@code FloatPointer}s, {@link dev.spatialact.DeviceTensor}s, or raw device addresses with a
 * {@link dev.spatialact.CudaStream}. {@link dev.spatialact.Backend} says where a call runs,
 * {@link dev.spatialact.Shape} is a tensor's shape, and {@link dev.spatialact.SpatialAct} holds
 * the library-wide settings (CPU instruction set, threads, workspace budget).
 *
 * <p>Every failure is a {@link dev.spatialact.SpatialActException} whose
 * {@link dev.spatialact.SpatialActException.Code} says what kind it is; arguments are checked
 * before any native work, and a rejected call leaves its output untouched. Operators, device
 * tensors and streams are {@link java.lang.AutoCloseable}: close them to free their native
 * memory at once (what is never closed is freed once it is unreachable).
 *
 * <p>Package {@code dev.spatialact.internal} is the native binding and not part of the API.
 */
package dev.spatialact;
