package dev.spatialact.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.spatialact.SpatialActException;
import dev.spatialact.SpatialActException.Code;

/**
 * NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0) of float32 and float64 data.
 *
 * <p><b>Reading</b> accepts C-order ({@code fortran_order: False}) arrays of any shape (0-d
 * to n-d, zero-size included) with dtype {@code '<f4'} or {@code '<f8'} ({@code '=f4'} and
 * {@code '=f8'} too, on a little-endian host); float64 data is converted to float32 (rounding
 * to nearest) and also kept exactly ({@link NpyArray#toDoubleArray()}). Everything else is a
 * {@link SpatialActException} with {@link Code#FORMAT} naming the file and the problem: bad
 * magic, unknown version, an unparseable header or one with missing or extra keys,
 * big-endian or non-float dtypes, structured or object arrays, {@code fortran_order: True},
 * negative or overflowing dimensions, more than {@link Integer#MAX_VALUE}-8 elements (a Java
 * array's limit), and data shorter than the shape needs. Trailing bytes after the data are
 * ignored, as {@code numpy.load} ignores them. A file that cannot be read at all is
 * {@link Code#IO}.
 *
 * <p><b>Writing</b> produces what {@code numpy.save} (numpy 1.23 and later) writes: version
 * 1.0 (2.0 only if the header does not fit 1.0), the header dict with sorted keys, spare
 * space for growing the first axis, padded with spaces and ending in {@code '\n'} so that
 * magic + header is a multiple of 64 bytes; little-endian C-order data. The file is written
 * to a temporary file beside the target and then moved over it, so a failed write leaves no
 * half-written {@code .npy}.
 *
 * <p>Data moves through {@link ByteBuffer} bulk views in chunks of {@value #CHUNK_BYTES}
 * bytes, never element by element through a stream.
 */
public final class Npy {
    private Npy() {}

    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** numpy's ARRAY_ALIGN: magic + header length is a multiple of this. */
    static final int ALIGN = 64;
    /** numpy's GROWTH_AXIS_MAX_DIGITS: spare header space for growing the first axis. */
    static final int GROWTH_AXIS_MAX_DIGITS = 21;
    /** Largest header this reader accepts (numpy's own default limit is 10000 characters). */
    static final int MAX_HEADER_BYTES = 1 << 20;
    static final int CHUNK_BYTES = 1 << 22;
    /** The most elements a Java array may hold, portably. */
    public static final int MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    /** The contents of a .npy file: its shape and its data as float32 (C order). Immutable. */
    public static final class NpyArray {
        private final long[] shape;
        private final float[] data;
        private final double[] data64;
        private boolean f64;  // set once by the reader

        NpyArray(long[] shape, float[] data, double[] data64) {
            this.shape = shape;
            this.data = data;
            this.data64 = data64;
        }

        /**
         * An array of float32 values (copied) with this shape (copied); the sizes must agree.
         *
         * @param shape the dimensions, each {@code >= 0}; empty for a 0-d array (one value)
         * @param data the values in C order, as many as the shape has elements
         * @return the array
         * @throws SpatialActException INVALID_ARGUMENT if shape or data is null, a dimension is
         *     negative, the element count overflows, or data has another length
         */
        public static NpyArray of(long[] shape, float[] data) {
            if (data == null) throw invalid("data is null");
            checkedNumel(shape, data.length);
            return new NpyArray(shape.clone(), data.clone(), null);
        }

        /** {@return the shape (a copy); length 0 for a 0-d array} */
        public long[] shape() {
            return shape.clone();
        }

        /** {@return the number of dimensions (0 for a 0-d array)} */
        public int ndim() {
            return shape.length;
        }

        /**
         * The extent of one dimension.
         *
         * @param i the dimension, in [0, {@link #ndim()})
         * @return its extent
         * @throws ArrayIndexOutOfBoundsException if i is out of range
         */
        public long dim(int i) {
            return shape[i];
        }

        /** {@return the number of elements (1 for a 0-d array)} */
        public int size() {
            return data.length;
        }

        /** {@return the data as float32, C order (a copy)} */
        public float[] data() {
            return data.clone();
        }

        /** {@return a read-only heap buffer over the data, without copying (position 0)} */
        public FloatBuffer buffer() {
            return FloatBuffer.wrap(data).asReadOnlyBuffer();
        }

        /**
         * One element of the flattened data.
         *
         * @param i the flat index, in [0, {@link #size()})
         * @return its float32 value
         * @throws ArrayIndexOutOfBoundsException if i is out of range
         */
        public float get(int i) {
            return data[i];
        }

        /** {@return true if the file held float64 data (converted to float32 in {@link #data()})} */
        public boolean wasFloat64() {
            return data64 != null || f64;
        }

        /**
         * {@return the data as double (a copy): the file's exact values for float64 files, widened
         * float32 otherwise}
         */
        public double[] toDoubleArray() {
            if (data64 != null) return data64.clone();
            double[] d = new double[data.length];
            for (int i = 0; i < d.length; i++) d[i] = data[i];
            return d;
        }

        /** {@return the shape as numpy prints it, e.g. "(2, 3)", "(5,)", "()"} */
        public String shapeString() {
            return Npy.shapeString(shape);
        }

        @Override
        public String toString() {
            return "NpyArray" + shapeString() + (wasFloat64() ? " from float64" : " float32");
        }
    }

    // ---- reading ----------------------------------------------------------------------------

    /**
     * Reads a float32 or float64 .npy file (a regular file, or a FIFO or pipe read as a stream).
     *
     * @param file the file
     * @return its shape and data; a float64 file's doubles are kept too
     * @throws SpatialActException INVALID_ARGUMENT if file is null; IO if it does not exist or
     *     cannot be read (the message says why); FORMAT if it is not a .npy file this reader
     *     accepts (see {@link Npy})
     */
    public static NpyArray read(Path file) {
        return read(file, true);
    }

    /** Opens and reads file (keep64: keep a float64 file's doubles), every failure the library's. */
    private static NpyArray read(Path file, boolean keep64) {
        if (file == null) throw invalid("file is null");
        // A FIFO or pipe has no size to seek in: read as a stream (the header, then the data).
        try (SeekableByteChannel ch = FileIo.openForReading(file, MAX_HEADER_BYTES + 12 + 8L * MAX_ELEMENTS)) {
            return read(ch, file, keep64);
        } catch (NoSuchFileException e) {
            throw new SpatialActException(Code.IO, file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new SpatialActException(Code.IO, file + ": cannot read: " + FileIo.denied(file, "read"), e);
        } catch (IOException e) {
            throw new SpatialActException(Code.IO, file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Parsed header. */
    record Header(int major, int minor, String descr, boolean fortranOrder, long[] shape, int dataOffset) {}

    /**
     * A .npy file's shape and float32 data, the array owned by the caller (no copy is made or
     * kept): what {@link #readFloats} returns for large tensors. {@code wasFloat64}: the file held
     * float64 values, rounded to float32 as they were read.
     *
     * @param shape the dimensions (length 0 for a 0-d array)
     * @param data the values in C order, the caller's to keep
     * @param wasFloat64 true if the file held float64 values
     */
    public record Floats(long[] shape, float[] data, boolean wasFloat64) {}

    /**
     * Reads a .npy file as {@link #read} does, without keeping a copy: the memory used is the
     * float32 data itself (a float64 file is converted chunk by chunk, its doubles never held
     * whole). For tools that run one operator on a large file (the CLI's apply: input + output).
     *
     * @param file the file
     * @return its shape and float32 data
     * @throws SpatialActException as {@link #read(Path)}
     */
    public static Floats readFloats(Path file) {
        NpyArray a = read(file, false);
        return new Floats(a.shape, a.data, a.f64);
    }

    /** keep64: keep a float64 file's doubles (for {@link NpyArray#toDoubleArray}). */
    private static NpyArray read(SeekableByteChannel ch, Path file, boolean keep64) throws IOException {
        long fileSize = ch.size();
        Header h = readHeader(ch, file, fileSize);
        boolean f64 = h.descr.endsWith("8");
        int itemSize = f64 ? 8 : 4;
        long n = numel(h.shape, file);
        if (n > MAX_ELEMENTS)
            throw format(file, "shape " + shapeString(h.shape) + " has " + n + " elements, more than a Java array can hold ("
                    + MAX_ELEMENTS + ")");
        long bytes = n * itemSize;
        long available = fileSize - h.dataOffset;
        if (available < bytes)
            throw format(file, "truncated: shape " + shapeString(h.shape) + " of " + h.descr + " needs " + bytes
                    + " data bytes, the file has " + Math.max(0, available) + " after its " + h.dataOffset + "-byte header");
        int count = (int) n;
        ch.position(h.dataOffset);
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, Math.max(bytes, 8))).order(ByteOrder.LITTLE_ENDIAN);
        int chunkElems = buf.capacity() / itemSize;
        if (!f64) {
            float[] data = new float[count];
            // off += len never passes count (off += chunkElems overflowed int near MAX_ELEMENTS).
            for (int off = 0, len; off < count; off += len) {
                len = Math.min(chunkElems, count - off);
                fill(ch, buf, len * 4, file);
                buf.asFloatBuffer().get(data, off, len);
            }
            return new NpyArray(h.shape, data, null);
        }
        double[] d = keep64 ? new double[count] : null;
        float[] data = new float[count];
        for (int off = 0, len; off < count; off += len) {
            len = Math.min(chunkElems, count - off);
            fill(ch, buf, len * 8, file);
            java.nio.DoubleBuffer db = buf.asDoubleBuffer();
            if (d != null) db.duplicate().get(d, off, len);
            for (int i = 0; i < len; i++) data[off + i] = (float) db.get(i);
        }
        NpyArray a = new NpyArray(h.shape, data, d);
        a.f64 = true;
        return a;
    }

    /** Reads exactly len bytes into buf (cleared, then flipped). */
    private static void fill(SeekableByteChannel ch, ByteBuffer buf, int len, Path file) throws IOException {
        buf.clear().limit(len);
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) throw format(file, "truncated: the file ended inside the data");
        }
        buf.flip();
    }

    /** Reads and checks the preamble and header dict; leaves the data offset in the result. */
    static Header readHeader(SeekableByteChannel ch, Path file, long fileSize) throws IOException {
        if (fileSize == 0) throw format(file, "empty file, not a .npy file");
        ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        pre.limit((int) Math.min(12, fileSize));
        ch.position(0);
        while (pre.hasRemaining() && ch.read(pre) >= 0) {}
        pre.flip();
        for (int i = 0; i < Math.min(MAGIC.length, pre.limit()); i++)
            if (pre.get(i) != MAGIC[i]) throw format(file, "bad magic: not a .npy file (it must start with \\x93NUMPY)");
        if (fileSize < 10) throw format(file, "too short (" + fileSize + " bytes) for a .npy header");
        int major = pre.get(6) & 0xff, minor = pre.get(7) & 0xff;
        long headerLen;
        int prefix;
        if (major == 1) {
            headerLen = pre.getShort(8) & 0xffff;
            prefix = 10;
        } else if (major == 2 || major == 3) {
            if (pre.limit() < 12) throw format(file, "truncated: too short for a version " + major + ".0 header");
            headerLen = pre.getInt(8) & 0xffffffffL;
            prefix = 12;
        } else {
            throw format(file, "unsupported .npy format version " + major + "." + minor + " (supported: 1.0, 2.0, 3.0)");
        }
        if (minor != 0) throw format(file, "unsupported .npy format version " + major + "." + minor + " (supported: 1.0, 2.0, 3.0)");
        if (headerLen > MAX_HEADER_BYTES)
            throw format(file, "header of " + headerLen + " bytes is larger than the " + MAX_HEADER_BYTES + " this reader accepts");
        if (prefix + headerLen > fileSize)
            throw format(file, "truncated: the header says it is " + headerLen + " bytes, the file has only " + (fileSize - prefix)
                    + " after the preamble");
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        ch.position(prefix);
        while (hb.hasRemaining()) {
            if (ch.read(hb) < 0) throw new EOFException();
        }
        String text = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Object parsed;
        try {
            parsed = new LiteralParser(text).parseAll();
        } catch (IllegalArgumentException e) {
            throw format(file, "header is not parseable (" + e.getMessage() + "): " + abbreviate(text));
        }
        if (!(parsed instanceof Map<?, ?> dict)) throw format(file, "header is not a dict: " + abbreviate(text));
        for (String key : new String[] {"descr", "fortran_order", "shape"})
            if (!dict.containsKey(key)) throw format(file, "header has no '" + key + "' key: " + abbreviate(text));
        if (dict.size() != 3) {
            List<Object> extra = new ArrayList<>(dict.keySet());
            extra.removeAll(List.of("descr", "fortran_order", "shape"));
            throw format(file, "header has unexpected keys " + extra + ": " + abbreviate(text));
        }
        Object descr = dict.get("descr");
        if (!(descr instanceof String d))
            throw format(file, "structured dtype " + abbreviate(String.valueOf(descr)) + " is not supported (only float32 '<f4' and float64 '<f8')");
        String dtype = checkDescr(d, file);
        Object fo = dict.get("fortran_order");
        if (!(fo instanceof Boolean fortran)) throw format(file, "fortran_order is not True or False: " + fo);
        if (fortran)
            throw format(file, "fortran_order True (column-major data) is not supported; save a C-order array "
                    + "(numpy.ascontiguousarray)");
        Object sh = dict.get("shape");
        // numpy requires a tuple: a list, or an int in parentheses ("(3)", not "(3,)"), is not one.
        if (!(sh instanceof LiteralParser.Tuple dims)) throw format(file, "shape is not a tuple: " + sh);
        long[] shape = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            Object v = dims.get(i);
            if (!(v instanceof Long l)) throw format(file, "shape " + sh + " has a non-integer dimension " + v);
            if (l < 0) throw format(file, "shape has a negative dimension " + l);
            shape[i] = l;
        }
        numel(shape, file);  // overflow check
        return new Header(major, minor, dtype, false, shape, (int) (prefix + headerLen));
    }

    /** Normalises an accepted descr to "&lt;f4" or "&lt;f8", or throws FORMAT. */
    private static String checkDescr(String d, Path file) {
        String s = d.trim();
        boolean le = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
        // As numpy: '<f4' little-endian; '=f4', '|f4' and 'f4' native order (little-endian here).
        if (s.equals("<f4") || (le && (s.equals("=f4") || s.equals("|f4") || s.equals("f4")))) return "<f4";
        if (s.equals("<f8") || (le && (s.equals("=f8") || s.equals("|f8") || s.equals("f8")))) return "<f8";
        if (s.equals(">f4") || s.equals(">f8"))
            throw format(file, "dtype '" + d + "' is big-endian; only little-endian float32 '<f4' and float64 '<f8' are supported "
                    + "(numpy: a.astype('<f4'))");
        if (s.equals("|O") || s.equals("O")) throw format(file, "object arrays (dtype '" + d + "') are not supported");
        throw format(file, "dtype '" + d + "' is not supported; only little-endian float32 '<f4' and float64 '<f8'");
    }

    private static long numel(long[] shape, Path file) {
        long n = 1;
        try {
            for (long d : shape) n = Math.multiplyExact(n, d);
            Math.multiplyExact(n, 8L);
        } catch (ArithmeticException e) {
            throw format(file, "shape " + shapeString(shape) + " overflows: its size does not fit 64 bits");
        }
        return n;
    }

    // ---- writing ----------------------------------------------------------------------------

    /**
     * Writes float32 data of this shape (C order) as a .npy file (numpy.save's layout), as
     * described in {@link Npy} and {@code FileIo}: a regular file is replaced atomically.
     *
     * @param file the file to write; a symbolic link writes its target
     * @param shape the dimensions, each {@code >= 0}; empty for a 0-d array
     * @param data the values in C order, as many as the shape has elements
     * @throws SpatialActException INVALID_ARGUMENT if an argument is null, a dimension is
     *     negative, or data has another length; IO if the file cannot be written
     */
    public static void write(Path file, long[] shape, float[] data) {
        if (data == null) throw invalid("data is null");
        checkedNumel(shape, data.length);
        writeImpl(file, shape, "<f4", data.length * 4L, buf -> new Filler() {
            int off;

            public void fill(ByteBuffer b) {
                int len = Math.min(b.remaining() / 4, data.length - off);
                b.asFloatBuffer().put(data, off, len);
                b.position(b.position() + len * 4);
                off += len;
            }
        });
    }

    /**
     * Writes the array as float32, as {@link #write(Path, long[], float[])}.
     *
     * @param file the file to write
     * @param a the array
     * @throws SpatialActException INVALID_ARGUMENT if an argument is null; IO if the file cannot
     *     be written
     */
    public static void write(Path file, NpyArray a) {
        if (a == null) throw invalid("array is null");
        write(file, a.shape, a.data);
    }

    /**
     * Writes float64 data of this shape (C order) as a .npy file, as
     * {@link #write(Path, long[], float[])} writes float32.
     *
     * @param file the file to write
     * @param shape the dimensions, each {@code >= 0}; empty for a 0-d array
     * @param data the values in C order, as many as the shape has elements
     * @throws SpatialActException INVALID_ARGUMENT if an argument is null, a dimension is
     *     negative, or data has another length; IO if the file cannot be written
     */
    public static void writeFloat64(Path file, long[] shape, double[] data) {
        if (data == null) throw invalid("data is null");
        checkedNumel(shape, data.length);
        writeImpl(file, shape, "<f8", data.length * 8L, buf -> new Filler() {
            int off;

            public void fill(ByteBuffer b) {
                int len = Math.min(b.remaining() / 8, data.length - off);
                b.asDoubleBuffer().put(data, off, len);
                b.position(b.position() + len * 8);
                off += len;
            }
        });
    }

    private interface Filler {
        /** Puts the next values into b from its position, advancing the position. */
        void fill(ByteBuffer b);
    }

    private interface FillerFactory {
        Filler create(ByteBuffer buf);
    }

    /** Writes header and data to the file as {@link FileIo} writes files (links, special files, atomic replace). */
    private static void writeImpl(Path file, long[] shape, String descr, long dataBytes, FillerFactory factory) {
        if (file == null) throw invalid("file is null");
        byte[] header = header(descr, shape);
        FileIo.write(file, ch -> {
            writeFully(ch, ByteBuffer.wrap(header));
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, Math.max(dataBytes, 8))).order(ByteOrder.LITTLE_ENDIAN);
            Filler f = factory.create(buf);
            long left = dataBytes;
            while (left > 0) {
                buf.clear();
                f.fill(buf);
                buf.flip();
                left -= buf.remaining();
                writeFully(ch, buf);
            }
        });
    }

    private static void writeFully(java.nio.channels.WritableByteChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /**
     * The preamble and header numpy.save writes for a C-order array of this dtype and shape:
     * version 1.0 unless the header needs more than 65535 bytes, then 2.0.
     */
    static byte[] header(String descr, long[] shape) {
        StringBuilder sb = new StringBuilder();
        sb.append("{'descr': '").append(descr).append("', 'fortran_order': False, 'shape': ").append(shapeString(shape))
                .append(", }");
        if (shape.length > 0) sb.append(" ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - Long.toString(shape[0]).length())));
        byte[] dict = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
        for (int major = 1; major <= 2; major++) {
            int prefix = major == 1 ? 10 : 12;
            int hlen = dict.length + 1;  // + '\n'
            int pad = ALIGN - ((prefix + hlen) % ALIGN);  // numpy pads a full 64 when already aligned
            long total = (long) hlen + pad;
            if (major == 1 && total > 0xffff) continue;
            ByteBuffer b = ByteBuffer.allocate((int) (prefix + total)).order(ByteOrder.LITTLE_ENDIAN);
            b.put(MAGIC).put((byte) major).put((byte) 0);
            if (major == 1) b.putShort((short) total);
            else b.putInt((int) total);
            b.put(dict);
            for (int i = 0; i < pad; i++) b.put((byte) ' ');
            b.put((byte) '\n');
            return b.array();
        }
        throw invalid("shape " + shapeString(shape) + " makes a header too long even for .npy version 2.0");
    }

    /**
     * The shape as Python's repr of a tuple: "()", "(5,)", "(2, 3)".
     *
     * @param shape the dimensions; not null
     * @return the text
     */
    public static String shapeString(long[] shape) {
        if (shape.length == 1) return "(" + shape[0] + ",)";
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(shape[i]);
        }
        return sb.append(')').toString();
    }

    private static long checkedNumel(long[] shape, long length) {
        if (shape == null) throw invalid("shape is null");
        long n = 1;
        try {
            for (long d : shape) {
                if (d < 0) throw invalid("shape " + Arrays.toString(shape) + " has a negative dimension");
                n = Math.multiplyExact(n, d);
            }
        } catch (ArithmeticException e) {
            throw invalid("shape " + Arrays.toString(shape) + " overflows");
        }
        if (length >= 0 && n != length)
            throw invalid("shape " + shapeString(shape) + " has " + n + " elements; the data has " + length);
        return n;
    }

    /** A FORMAT error naming the file; control characters from the file are escaped (one line). */
    private static SpatialActException format(Path file, String problem) {
        return new SpatialActException(Code.FORMAT, file + ": " + escape(problem, false));
    }

    /**
     * s with control characters (and, where {@code ascii}, everything outside printable ASCII)
     * escaped as Python's repr does: \n, \t, \xNN. A header's bytes in a message stay one line.
     */
    static String escape(String s, boolean ascii) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean bad = c < 0x20 || (c >= 0x7f && c <= 0x9f) || (ascii && c > 0x7e);
            if (!bad) {
                if (b != null) b.append(c);
                continue;
            }
            if (b == null) b = new StringBuilder(s.length() + 16).append(s, 0, i);
            if (c == '\n') b.append("\\n");
            else if (c == '\r') b.append("\\r");
            else if (c == '\t') b.append("\\t");
            else if (c <= 0xff) b.append(String.format("\\x%02x", (int) c));
            else b.append(String.format("\\u%04x", (int) c));
        }
        return b == null ? s : b.toString();
    }

    private static SpatialActException invalid(String message) {
        return new SpatialActException(Code.INVALID_ARGUMENT, "Npy: " + message);
    }

    private static String abbreviate(String s) {
        String t = s.strip();
        return escape(t.length() <= 200 ? t : t.substring(0, 200) + "...", true);
    }

    // ---- the header dict: a Python literal ---------------------------------------------------

    /**
     * Parses the Python literals numpy writes in .npy headers: dicts, tuples and lists, strings
     * ('...' or "..." with simple escapes), integers (optionally with Python 2's L suffix),
     * True, False and None. Tuples and lists become {@code List}, integers {@code Long}.
     */
    static final class LiteralParser {
        /** Deepest nesting of dicts, tuples and lists taken (a .npy header needs 3). */
        static final int MAX_DEPTH = 32;

        /** A Python tuple, told apart from a list. */
        static final class Tuple extends ArrayList<Object> {
            private static final long serialVersionUID = 1L;
        }

        private final String s;
        private int i, depth;

        LiteralParser(String s) {
            this.s = s;
        }

        Object parseAll() {
            Object v = value();
            ws();
            if (i != s.length()) throw error("unexpected '" + escape(String.valueOf(s.charAt(i)), true) + "' after the value");
            return v;
        }

        private IllegalArgumentException error(String msg) {
            return new IllegalArgumentException(msg + " at character " + i);
        }

        // Python's grammar is ASCII here: its whitespace, digits and letters (Character.isDigit
        // would take any script's digits).
        private static boolean space(char c) {
            return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0b;
        }

        private static boolean digit(char c) {
            return c >= '0' && c <= '9';
        }

        private static boolean letter(char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        }

        private void ws() {
            while (i < s.length() && space(s.charAt(i))) i++;
        }

        private Object value() {
            ws();
            if (i >= s.length()) throw error("unexpected end");
            char c = s.charAt(i);
            if ((c == '{' || c == '(' || c == '[') && ++depth > MAX_DEPTH)
                throw error("nested deeper than " + MAX_DEPTH + " levels");
            switch (c) {
                case '{': return leave(dict());
                case '(': return leave(seq(')'));
                case '[': return leave(seq(']'));
                case '\'':
                case '"': return string();
                default:
                    if (c == '-' || c == '+' || digit(c)) return integer();
                    if (letter(c)) return word();
                    throw error("unexpected '" + escape(String.valueOf(c), true) + "'");
            }
        }

        private Object leave(Object v) {
            depth--;
            return v;
        }

        private Map<Object, Object> dict() {
            i++;  // {
            Map<Object, Object> m = new LinkedHashMap<>();
            while (true) {
                ws();
                if (i < s.length() && s.charAt(i) == '}') {
                    i++;
                    return m;
                }
                Object key = value();
                ws();
                expect(':');
                Object v = value();
                if (m.put(key, v) != null) throw error("duplicate key " + key);
                ws();
                if (i < s.length() && s.charAt(i) == ',') {
                    i++;
                    continue;
                }
                ws();
                expect('}');
                return m;
            }
        }

        /** A list, or for ')' a tuple; "(v)" without a comma is v itself, as in Python. */
        private Object seq(char close) {
            i++;
            List<Object> l = close == ')' ? new Tuple() : new ArrayList<>();
            boolean comma = false;
            while (true) {
                ws();
                if (i < s.length() && s.charAt(i) == close) {
                    i++;
                    return l;
                }
                l.add(value());
                ws();
                if (i < s.length() && s.charAt(i) == ',') {
                    i++;
                    comma = true;
                    continue;
                }
                expect(close);
                return close == ')' && l.size() == 1 && !comma ? l.get(0) : l;
            }
        }

        private void expect(char c) {
            if (i >= s.length()) throw error("expected '" + c + "' but the header ended");
            if (s.charAt(i) != c) throw error("expected '" + c + "' but found '" + s.charAt(i) + "'");
            i++;
        }

        private String string() {
            char q = s.charAt(i++);
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (i >= s.length()) throw error("unterminated string");
                char c = s.charAt(i++);
                if (c == q) return sb.toString();
                if (c == '\\') {
                    if (i >= s.length()) throw error("unterminated string");
                    char e = s.charAt(i++);
                    switch (e) {
                        case 'n' -> sb.append('\n');
                        case 't' -> sb.append('\t');
                        default -> sb.append(e);
                    }
                } else {
                    sb.append(c);
                }
            }
        }

        private Long integer() {
            int start = i;
            if (s.charAt(i) == '-' || s.charAt(i) == '+') i++;
            int digits = i;
            while (i < s.length() && digit(s.charAt(i))) i++;
            if (i == digits) throw error("expected a digit");
            String num = s.substring(start, i);
            if (i < s.length() && (s.charAt(i) == 'L' || s.charAt(i) == 'l')) i++;  // Python 2 long
            if (i < s.length() && (s.charAt(i) == '.' || s.charAt(i) == 'e' || s.charAt(i) == 'E'))
                throw error("expected an integer, found a float");
            try {
                return Long.parseLong(num.startsWith("+") ? num.substring(1) : num);
            } catch (NumberFormatException e) {
                throw error("integer " + num + " does not fit 64 bits");
            }
        }

        private Object word() {
            int start = i;
            while (i < s.length() && (letter(s.charAt(i)) || digit(s.charAt(i)))) i++;
            String w = s.substring(start, i);
            return switch (w) {
                case "True" -> Boolean.TRUE;
                case "False" -> Boolean.FALSE;
                case "None" -> NONE;
                default -> throw error("unknown name '" + w + "'");
            };
        }

        /** Python's None. */
        static final Object NONE = new Object() {
            @Override
            public String toString() {
                return "None";
            }
        };
    }
}
