package dev.spatialact;

import dev.spatialact.internal.SpatialActNative;

/**
 * NTD-LReLU, the nonlocal variant of {@link TDLReLU}: the Gaussian G_sigma * v is replaced by a
 * nonlocal weighted average over a (2S+1)^2 search window, with weights exp(-d/h^2) from
 * (2P+1)^2 patch distances on a guide, built once per call and shared by all iterations and
 * channels. The guide is the channel mean of the input (the default, {@code guideChannels = 0}),
 * or a tensor N x Cg x H x W given with each call when the operator is built with
 * {@code guideChannels(Cg)}. Optional k-nearest truncation keeps the k largest weights.
 * With a guide, the operator takes (o, guide) through {@link TwoInputOperator} on every kind
 * of memory: {@code apply(o, guide, y, shape)}. sigma does not apply here. The formulation is the project's own reading of the paper (see
 * {@link TDLReLU} and docs/TD-LReLU.md).
 */
public final class NTDLReLU extends UnaryActivation implements TwoInputOperator {
    /**
     * The defaults of the spec: search radius S 3 (a 7 x 7 window), patch radius P 1 (3 x 3
     * patches), knn 0 (the whole window).
     */
    public static final int DEFAULT_SEARCH = 3, DEFAULT_PATCH = 1, DEFAULT_KNN = 0;
    /** The default filtering parameter h, 1. */
    public static final float DEFAULT_H = 1.0f;

    private final TDLReLU.Settings td;
    private final int search, patch, knn;
    private final float h;
    private final long guideChannels;

    private NTDLReLU(Builder b) {
        super("NTD-LReLU(" + b.s + ", S=" + b.search + ", P=" + b.patch + ", h=" + b.h + (b.knn > 0 ? ", k=" + b.knn : "")
                        + (b.guideChannels > 0 ? ", guide C=" + b.guideChannels : "") + ")",
                SpatialActNative.SA_OP_NTD_LRELU, b.backend,
                b.s.toParams().search(b.search).patch(b.patch).h(b.h).knn(b.knn).guide_channels(b.guideChannels),
                null, null, null);
        this.td = b.s.copy();
        this.search = b.search;
        this.patch = b.patch;
        this.knn = b.knn;
        this.h = b.h;
        this.guideChannels = b.guideChannels;
    }

    /** {@return a builder with the default parameters and the channel mean as the guide, on AUTO} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the TD parameters (sigma and the radius do not apply here)} */
    public TDLReLU.Settings settings() { return td; }
    /** {@return the search radius S: the window is (2S+1)^2} */
    public int search() { return search; }
    /** {@return the patch radius P: patches are (2P+1)^2} */
    public int patch() { return patch; }
    /** {@return the number of largest weights kept, or 0 for the whole window} */
    public int knn() { return knn; }
    /** {@return the filtering parameter h of the weights exp(-d/h^2)} */
    public float h() { return h; }
    /** {@return Cg, the channels of a guide passed with each call, or 0: the channel mean of the input} */
    @Override public long guideChannels() { return guideChannels; }

    @Override
    void checkInputCount(int given) {
        if (given == 1 && guideChannels > 0)
            throw SpatialActException.invalid(name() + " was built for a guide with " + guideChannels
                    + " channels: call apply(o, guide, y, shape)");
        if (given == 2 && guideChannels == 0)
            throw SpatialActException.invalid(name() + " uses the channel mean as its guide: build it with guideChannels(Cg) to pass one");
    }

    /**
     * Builder of an {@link NTDLReLU}: the TD parameters of {@link TDLReLU.AbstractBuilder}, the
     * nonlocal ones, the guide's channels and the backend.
     */
    public static final class Builder extends TDLReLU.AbstractBuilder<Builder> {
        private final TDLReLU.Settings s = new TDLReLU.Settings();
        private int search = DEFAULT_SEARCH, patch = DEFAULT_PATCH, knn = DEFAULT_KNN;
        private float h = DEFAULT_H;
        private long guideChannels = 0;

        private Builder() {}

        @Override TDLReLU.Settings settings() { return s; }

        /**
         * Sets the search radius S: the window is (2S+1)^2.
         *
         * @param v in [0, 7]; default 3
         * @return this builder
         */
        public Builder search(int v) { search = v; return this; }
        /**
         * Sets the patch radius P: patches are (2P+1)^2.
         *
         * @param v in [0, 3]; default 1
         * @return this builder
         */
        public Builder patch(int v) { patch = v; return this; }
        /**
         * Sets the filtering parameter h of the weights exp(-d/h^2).
         *
         * @param v finite, {@code > 0}; default 1
         * @return this builder
         */
        public Builder h(float v) { h = v; return this; }
        /**
         * Keeps only the k largest weights of each window (x itself always).
         *
         * @param v k, in [0, (2S+1)^2]; 0 = the whole window (default)
         * @return this builder
         */
        public Builder knn(int v) { knn = v; return this; }
        /**
         * Sets the channels Cg of a guide passed with each call, as the second input
         * ({@code apply(o, guide, y, shape)}, guide N x Cg x H x W).
         *
         * @param v Cg, {@code >= 0}; 0 = the channel mean of the input as the guide, one input
         *     per call (default)
         * @return this builder
         */
        public Builder guideChannels(long v) { guideChannels = v; return this; }

        /**
         * Builds the operator.
         *
         * @return the operator; the caller closes it
         * @throws SpatialActException INVALID_ARGUMENT if a parameter is out of its range (the
         *     message names it) or the backend is null; BACKEND_UNAVAILABLE if the native library
         *     cannot be loaded, or the backend is CUDA and no GPU is usable
         */
        public NTDLReLU build() {
            return new NTDLReLU(this);
        }
    }
}
