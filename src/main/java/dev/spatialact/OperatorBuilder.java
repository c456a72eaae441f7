package dev.spatialact;

/**
 * What every operator's builder has: the backend it builds for. Each operator's builder adds its
 * own parameters; their ranges are checked natively when it builds (sa_check_params).
 *
 * @param <B> the concrete builder type, which the setters return
 */
public abstract class OperatorBuilder<B extends OperatorBuilder<B>> {
    Backend backend = Backend.AUTO;

    OperatorBuilder() {}

    /**
     * The backend: AUTO (default: host data runs on the CPU, device data on the GPU), CPU, or
     * CUDA (host data staged through the GPU). Null is rejected when the operator is built.
     *
     * @param backend the backend
     * @return this builder
     */
    @SuppressWarnings("unchecked")
    public B backend(Backend backend) {
        this.backend = backend;
        return (B) this;
    }
}
