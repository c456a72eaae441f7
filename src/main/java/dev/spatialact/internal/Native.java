package dev.spatialact.internal;

import dev.spatialact.Shape;
import dev.spatialact.SpatialActException;

/** Small glue between the public API and {@link SpatialActNative}. */
public final class Native {
    private Native() {}

    private static final ThreadLocal<SpatialActNative.sa_shape> SHAPE = ThreadLocal.withInitial(() -> {
        NativeLoader.ensureLoaded();
        return new SpatialActNative.sa_shape();
    });

    /** This thread's native shape struct, filled with s (no allocation per call). */
    public static SpatialActNative.sa_shape shape(Shape s) {
        SpatialActNative.sa_shape n = SHAPE.get();
        n.n(s.n()).c(s.c()).h(s.h()).w(s.w());
        return n;
    }

    /** Throws the library's exception for a non-zero status, with the native message. */
    public static void check(int status) {
        if (status != SpatialActNative.SA_OK) throw error(status);
    }

    public static SpatialActException error(int status) {
        String msg = SpatialActNative.sa_last_error().getString();
        return new SpatialActException(SpatialActException.Code.fromNative(status),
                msg == null || msg.isEmpty() ? "native status " + status : msg);
    }

    /** A fresh native params block with the spec's defaults. */
    public static SpatialActNative.sa_params newParams() {
        NativeLoader.ensureLoaded();
        SpatialActNative.sa_params p = new SpatialActNative.sa_params();
        check(SpatialActNative.sa_params_init(p));
        return p;
    }
}
