package dev.spatialact;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import org.bytedeco.javacpp.Pointer;

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

    static void pointer(Pointer p, String name, Shape s) {
        if (p == null) throw SpatialActException.invalid(name + " is null");
        if (p.isNull()) throw SpatialActException.invalid(name + " is a NULL pointer (closed or never allocated)");
        if (p.position() < 0) throw SpatialActException.invalid(name + " has a negative position " + p.position());
        long limit = p.limit();
        // Without a limit the library cannot know how far the memory goes: a kernel would read or
        // write past it (a JVM crash). Pointers JavaCPP allocates (new FloatPointer(n), from an
        // array or buffer) have one; a pointer made from a raw address needs limit(n).
        if (limit <= 0)
            throw SpatialActException.invalid(name + " has no known extent (limit 0): allocate it with new FloatPointer(n), "
                    + "or set its size in floats with " + name + ".limit(n)");
        if (limit - p.position() < s.numel())
            throw SpatialActException.invalid(name + " has " + (limit - p.position()) + " elements from its position to its limit; shape "
                    + s + " needs " + s.numel());
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
