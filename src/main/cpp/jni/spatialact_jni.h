/*
 * Glue that only the JNI binding (dev.spatialact.internal.SpatialActNative) uses: the pinned
 * float[] entry with element offsets, so that Java can run a long call on arrays as a sequence
 * of short critical regions (each a run of whole samples or channels), not one that blocks the
 * garbage collector for the whole call. Not part of the C API (C callers offset their pointers).
 */
#ifndef SPATIALACT_JNI_H
#define SPATIALACT_JNI_H

#include "spatialact/spatialact.h"

/* sa_cpu_forward_cancellable on in0 + off0, in1 + off1, y + offy (offsets in floats, checked by
 * the Java caller against the arrays' lengths); shape and p by address; NULL arrays stay NULL. */
static inline int sa_jni_cpu_forward_at(int op, const float* in0, int64_t off0, const float* in1, int64_t off1,
                                        float* y, int64_t offy, const sa_shape* shape, const sa_params* p,
                                        const volatile int32_t* cancel) {
    return sa_cpu_forward_cancellable(op, in0 ? in0 + off0 : 0, in1 ? in1 + off1 : 0, y ? y + offy : 0, *shape, p,
                                      cancel);
}

#endif
