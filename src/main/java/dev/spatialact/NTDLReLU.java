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
    public static final int DEFAULT_SEARCH = 3, DEFAULT_PATCH = 1, DEFAULT_KNN = 0;
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

    public static Builder builder() {
        return new Builder();
    }

    public TDLReLU.Settings settings() { return td; }
    public int search() { return search; }
    public int patch() { return patch; }
    public int knn() { return knn; }
    public float h() { return h; }
    @Override public long guideChannels() { return guideChannels; }

    @Override
    void checkInputCount(int given) {
        if (given == 1 && guideChannels > 0)
            throw SpatialActException.invalid(name() + " was built for a guide with " + guideChannels
                    + " channels: call apply(o, guide, y, shape)");
        if (given == 2 && guideChannels == 0)
            throw SpatialActException.invalid(name() + " uses the channel mean as its guide: build it with guideChannels(Cg) to pass one");
    }

    public static final class Builder extends TDLReLU.AbstractBuilder<Builder> {
        private final TDLReLU.Settings s = new TDLReLU.Settings();
        private int search = DEFAULT_SEARCH, patch = DEFAULT_PATCH, knn = DEFAULT_KNN;
        private float h = DEFAULT_H;
        private long guideChannels = 0;

        private Builder() {}

        @Override TDLReLU.Settings settings() { return s; }

        /** Search radius S: window (2S+1)^2, in [0, 7]; default 3. */
        public Builder search(int v) { search = v; return this; }
        /** Patch radius P: patches (2P+1)^2, in [0, 3]; default 1. */
        public Builder patch(int v) { patch = v; return this; }
        /** Filtering parameter h > 0; default 1. */
        public Builder h(float v) { h = v; return this; }
        /** Keep the k largest weights (x itself always); 0 = the whole window (default). */
        public Builder knn(int v) { knn = v; return this; }
        /** Channels Cg of a guide passed with each call; 0 = the channel mean of the input (default). */
        public Builder guideChannels(long v) { guideChannels = v; return this; }

        public NTDLReLU build() {
            return new NTDLReLU(this);
        }
    }
}
