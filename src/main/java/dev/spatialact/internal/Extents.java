package dev.spatialact.internal;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.DoubleBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;

import org.bytedeco.javacpp.Pointer;

/**
 * The memory a JavaCPP pointer really points into, as far as it can be established: the native
 * allocation it was made from (JavaCPP records the owner's address and its size in bytes in the
 * pointer's deallocator), followed through every pointer or direct buffer it was copied from.
 *
 * <p>Why: a pointer's own position, limit and capacity are not evidence. They count elements of
 * the class that made them, and JavaCPP's copy constructor copies the counts, not the bytes: a
 * {@code FloatPointer} made from a 400-byte {@code BytePointer} says it has 400 floats (1600
 * bytes), and {@code limit(n)} can be set to anything. Kernels trusting them read and write past
 * the allocation (a JVM crash, or silent heap corruption). The owner's record cannot be changed
 * from outside JavaCPP.
 *
 * <p>The record is JavaCPP-internal, read by reflection (JavaCPP is on the class path, not a
 * named module). {@link #available()} says whether it could be read with this JavaCPP version; a
 * test asserts that it can, so an upgrade that moves it fails the build instead of weakening the
 * check.
 */
public final class Extents {
    private Extents() {}

    private static final Method DEALLOCATOR;
    private static final Field BYTES, PROXY_POINTER, PROXY_BUFFER;
    private static final Method OWNER;
    private static final Class<?> NATIVE, PROXY;

    static {
        Method d = null, o = null;
        Field b = null, pp = null, pb = null;
        Class<?> n = null, x = null;
        try {
            d = Pointer.class.getDeclaredMethod("deallocator");
            d.setAccessible(true);
            Class<?> ref = Class.forName("org.bytedeco.javacpp.Pointer$DeallocatorReference");
            b = ref.getDeclaredField("bytes");
            b.setAccessible(true);
            n = Class.forName("org.bytedeco.javacpp.Pointer$NativeDeallocator");
            o = n.getDeclaredMethod("ownerAddress");
            o.setAccessible(true);
            x = Class.forName("org.bytedeco.javacpp.Pointer$ProxyDeallocator");
            pp = x.getDeclaredField("pointer");
            pp.setAccessible(true);
            pb = x.getDeclaredField("buffer");
            pb.setAccessible(true);
        } catch (ReflectiveOperationException | RuntimeException e) {
            d = null;
        }
        DEALLOCATOR = d;
        BYTES = b;
        OWNER = o;
        NATIVE = n;
        PROXY = x;
        PROXY_POINTER = pp;
        PROXY_BUFFER = pb;
    }

    /** True if this JavaCPP's allocation records can be read (else {@link #of} always says unknown). */
    public static boolean available() {
        return DEALLOCATOR != null;
    }

    /**
     * {lo, hi}: the byte range [lo, hi) of the native allocation p was made from, or null when it
     * cannot be established (no deallocator: memory JavaCPP did not allocate, e.g. a raw address,
     * {@code Pointer.malloc}, memory from other native code; or a custom deallocator).
     */
    public static long[] of(Pointer p) {
        if (DEALLOCATOR == null) return null;
        try {
            for (int depth = 0; p != null && depth < 64; depth++) {
                Object d = DEALLOCATOR.invoke(p);
                if (d == null) return null;
                if (NATIVE.isInstance(d)) {
                    long owner = (Long) OWNER.invoke(d), bytes = BYTES.getLong(d);
                    return owner == 0 || bytes <= 0 ? null : new long[] {owner, owner + bytes};
                }
                if (!PROXY.isInstance(d)) return null;
                Buffer b = (Buffer) PROXY_BUFFER.get(d);
                if (b != null) return ofBuffer(b);
                p = (Pointer) PROXY_POINTER.get(d);
            }
            return null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** The whole of a direct buffer: its address at index 0 up to its capacity. */
    private static long[] ofBuffer(Buffer b) {
        if (!b.isDirect()) return null;
        Buffer all = b.duplicate().clear();
        long base;
        try (Pointer p = new Pointer(all)) {
            base = p.address();
        }
        if (base == 0) return null;
        return new long[] {base, base + (long) b.capacity() * elementBytes(b)};
    }

    private static int elementBytes(Buffer b) {
        if (b instanceof ByteBuffer) return 1;
        if (b instanceof ShortBuffer || b instanceof CharBuffer) return 2;
        if (b instanceof DoubleBuffer || b instanceof LongBuffer) return 8;
        return 4;  // FloatBuffer, IntBuffer
    }
}
