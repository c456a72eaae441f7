package dev.spatialact;

/**
 * An NCHW tensor shape: N samples, C channels, H rows, W columns. Immutable; every dimension is
 * at least 1. Element (n, c, i, j) sits at {@code ((n*C + c)*H + i)*W + j}.
 */
public final class Shape {
    private final long n, c, h, w;
    private final long numel;

    private Shape(long n, long c, long h, long w) {
        if (n < 1 || c < 1 || h < 1 || w < 1)
            throw SpatialActException.invalid("shape " + str(n, c, h, w) + " has a dimension < 1");
        long total;
        try {
            total = Math.multiplyExact(Math.multiplyExact(Math.multiplyExact(n, c), h), w);
            Math.multiplyExact(total, 16L);
        } catch (ArithmeticException e) {
            throw SpatialActException.invalid("shape " + str(n, c, h, w) + " is too large");
        }
        this.n = n;
        this.c = c;
        this.h = h;
        this.w = w;
        this.numel = total;
    }

    public static Shape of(long n, long c, long h, long w) {
        return new Shape(n, c, h, w);
    }

    /** Parses "NxCxHxW" (e.g. 1x64x256x256). */
    public static Shape parse(String s) {
        // Four ASCII numbers and three x: split() would drop a trailing empty part ("1x2x3x4x"),
        // Long.parseLong would take non-ASCII digits.
        if (s == null || !s.trim().matches("[0-9]+[xX][0-9]+[xX][0-9]+[xX][0-9]+"))
            throw SpatialActException.invalid("shape '" + s + "' is not NxCxHxW (four positive integers, e.g. 1x64x256x256)");
        String[] p = s.trim().toLowerCase().split("x");
        try {
            return of(Long.parseLong(p[0]), Long.parseLong(p[1]), Long.parseLong(p[2]), Long.parseLong(p[3]));
        } catch (NumberFormatException e) {
            throw SpatialActException.invalid("shape '" + s + "' is not NxCxHxW (a dimension does not fit 64 bits)");
        }
    }

    public long n() { return n; }
    public long c() { return c; }
    public long h() { return h; }
    public long w() { return w; }

    /** Number of elements. */
    public long numel() { return numel; }

    /** Elements of one (n, c) plane. */
    public long planeSize() { return h * w; }

    /** numel() as an int, for float[] and buffers; fails if it does not fit. */
    public int numelInt() {
        if (numel > Integer.MAX_VALUE - 8)
            throw SpatialActException.invalid("shape " + this + " has " + numel + " elements: too many for a Java array or buffer; use a FloatPointer");
        return (int) numel;
    }

    @Override public boolean equals(Object o) {
        return o instanceof Shape s && s.n == n && s.c == c && s.h == h && s.w == w;
    }

    @Override public int hashCode() {
        return Long.hashCode(((n * 31 + c) * 31 + h) * 31 + w);
    }

    @Override public String toString() {
        return str(n, c, h, w);
    }

    private static String str(long n, long c, long h, long w) {
        return n + "x" + c + "x" + h + "x" + w;
    }
}
