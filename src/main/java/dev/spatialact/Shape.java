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

    /**
     * The shape N x C x H x W.
     *
     * @param n samples, at least 1
     * @param c channels, at least 1
     * @param h rows, at least 1
     * @param w columns, at least 1
     * @return the shape
     * @throws SpatialActException INVALID_ARGUMENT if a dimension is below 1, or the element
     *     count times 16 overflows a long
     */
    public static Shape of(long n, long c, long h, long w) {
        return new Shape(n, c, h, w);
    }

    /**
     * Parses "NxCxHxW" (e.g. 1x64x256x256): four ASCII decimal numbers separated by x or X,
     * surrounding whitespace ignored. The inverse of {@link #toString()}.
     *
     * @param s the text; may be null (rejected)
     * @return the shape
     * @throws SpatialActException INVALID_ARGUMENT if s is null, not of that form, has a
     *     dimension below 1 or beyond 64 bits, or is too large (as {@link #of})
     */
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

    /** {@return N, the number of samples} */
    public long n() { return n; }
    /** {@return C, the number of channels} */
    public long c() { return c; }
    /** {@return H, the number of rows} */
    public long h() { return h; }
    /** {@return W, the number of columns} */
    public long w() { return w; }

    /** {@return the number of elements, N*C*H*W} */
    public long numel() { return numel; }

    /** {@return the number of elements of one (n, c) plane, H*W} */
    public long planeSize() { return h * w; }

    /**
     * The number of elements as an int, for float[] and buffers.
     *
     * @return {@link #numel()}
     * @throws SpatialActException INVALID_ARGUMENT if it exceeds {@code Integer.MAX_VALUE - 8},
     *     the most a Java array may hold (a FloatPointer takes such a tensor)
     */
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

    /** {@return "NxCxHxW", e.g. "1x64x256x256", as {@link #parse} reads it} */
    @Override public String toString() {
        return str(n, c, h, w);
    }

    private static String str(long n, long c, long h, long w) {
        return n + "x" + c + "x" + h + "x" + w;
    }
}
