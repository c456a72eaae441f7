package dev.spatialact;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import org.bytedeco.javacpp.Pointer;

import dev.spatialact.internal.Extents;

/** Argument checks run before any native work; each failure names the argument and the problem. */
final class Checks {
    private Checks() {}

    static Shape shape(Shape s) {
        if (s == null) throw SpatialActException.invalid("shape is null");
        return s;
    }

    static void array(float[] a, String name, Shape s) {
        if (a == null) throw SpatialActException.invalid(name + " is null");
        int n = s.numelInt();
        if (a.length != n)
            throw SpatialActException.invalid(name + " has " + a.length + " elements; shape " + s + " needs " + n);
    }

    static void buffer(FloatBuffer b, String name, Shape s, boolean output) {
        if (b == null) throw SpatialActException.invalid(name + " is null");
        if (!b.isDirect())
            throw SpatialActException.invalid(name + " is not a direct FloatBuffer (use ByteBuffer.allocateDirect(4*n)"
                    + ".order(ByteOrder.nativeOrder()).asFloatBuffer(), or a float[])");
        if (b.order() != ByteOrder.nativeOrder())
            throw SpatialActException.invalid(name + " is in " + b.order() + " byte order; native code needs "
                    + ByteOrder.nativeOrder() + " (ByteBuffer.order(ByteOrder.nativeOrder()))");
        if (output && b.isReadOnly()) throw SpatialActException.invalid(name + " is read-only");
        int n = s.numelInt();
        if (b.remaining() < n)
            throw SpatialActException.invalid(name + " has " + b.remaining() + " elements remaining; shape " + s + " needs " + n);
    }

    /**
     * A host FloatPointer operand: its n floats from its position must lie inside the native
     * allocation it was made from ({@link Extents}), and inside its own limit where it has one. A
     * pointer whose allocation is unknown is refused unless the caller vouched for it with
     * {@link SpatialAct#uncheckedPointer}.
     */
    static void pointer(Pointer p, String name, Shape s) {
        if (p == null) throw SpatialActException.invalid(name + " is null");
        if (p.isNull()) throw SpatialActException.invalid(name + " is a NULL pointer (closed or never allocated)");
        if (p.position() < 0) throw SpatialActException.invalid(name + " has a negative position " + p.position());
        final long n = s.numel(), limit = p.limit();
        if (p instanceof SpatialAct.UncheckedPointer) {
            long have = ((SpatialAct.UncheckedPointer) p).floats - p.position();
            if (have < n) throw SpatialActException.invalid(name + " has " + have + " floats from its position (uncheckedPointer); shape " + s + " needs " + n);
            return;
        }
        if (limit > 0 && limit - p.position() < n)
            throw SpatialActException.invalid(name + " has " + (limit - p.position()) + " elements from its position to its limit; shape "
                    + s + " needs " + n);
        long[] owner = Extents.of(p);
        if (owner == null) {
            if (Extents.available())
                throw SpatialActException.invalid(name + " points into memory whose size the library cannot check: JavaCPP did not allocate it"
                        + " (a raw address, Pointer.malloc, or memory from other native code), so position and limit are the only word on"
                        + " its size, and they may count another type's elements. Allocate it with new FloatPointer(n), pass a direct"
                        + " FloatBuffer, or vouch for its size with SpatialAct.uncheckedPointer(" + name + ", floats)");
            // This JavaCPP's records cannot be read (a test fails then): the pointer's own limit.
            if (limit <= 0)
                throw SpatialActException.invalid(name + " has no known extent (limit 0): allocate it with new FloatPointer(n), "
                        + "or vouch for its size with SpatialAct.uncheckedPointer(" + name + ", floats)");
        } else {
            long start = p.address() + 4 * p.position(), size = owner[1] - owner[0];
            if (start < owner[0] || start - owner[0] > size || (size - (start - owner[0])) / 4 < n)
                throw SpatialActException.invalid(name + " reaches past the memory it was made from: shape " + s + " needs " + n
                        + " floats (" + 4 * n + " bytes) from byte " + (start - owner[0]) + " of a " + size + "-byte allocation"
                        + (limit > 0 ? " (its limit says " + (limit - p.position()) + " floats: set beyond the allocation, or,"
                                + " made from a pointer of another element size, e.g. new FloatPointer(bytePointer), it counts that"
                                + " type's elements)" : ""));
        }
    }

    static void address(long a, String name) {
        if (a == 0) throw SpatialActException.invalid(name + " is a NULL device address");
    }

    /** A parameter array is present and has its length (its values are the native checks'). */
    static float[] length(float[] a, String name, long expected) {
        if (a == null) throw SpatialActException.invalid(name + " is null");
        if (a.length != expected)
            throw SpatialActException.invalid(name + " has " + a.length + " values; expected " + expected);
        return a;
    }

    static float[] finiteArray(float[] a, String name, long expected) {
        length(a, name, expected);
        for (int i = 0; i < a.length; i++)
            if (!Float.isFinite(a[i])) throw SpatialActException.invalid(name + "[" + i + "] = " + a[i] + " must be finite");
        return a.clone();
    }
}
