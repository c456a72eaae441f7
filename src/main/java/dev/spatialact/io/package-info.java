/**
 * Files: NumPy {@code .npy} arrays of float32 and float64 data ({@link dev.spatialact.io.Npy}),
 * and FReLU parameters as a folder of {@code .npy} files named as in a PyTorch
 * {@code state_dict} ({@link dev.spatialact.io.FReLUWeights}). A missing or unreadable file is
 * a {@link dev.spatialact.SpatialActException} with code IO, a malformed one FORMAT; writes
 * replace a regular file atomically.
 */
package dev.spatialact.io;
