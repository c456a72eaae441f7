package dev.spatialact;

/**
 * The one exception type of spatialact. {@link #code()} says what kind of failure it is; for
 * failures reported by native code the message is the native message (which names the entry
 * point and the argument), and the native status is kept in {@link #nativeStatus()}.
 */
public class SpatialActException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Kinds of failure. The first seven mirror the C header's status codes. */
    public enum Code {
        INVALID_ARGUMENT(1), OUT_OF_MEMORY(2), NOT_IMPLEMENTED(3), NO_CUDA(4), CUDA(5), INTERNAL(6),
        /**
         * A long CPU call was cancelled because its thread was interrupted (the interrupt status
         * stays set): the output is incomplete, the inputs are untouched.
         */
        CANCELLED(7),
        /** The native library or the requested backend cannot be used here; the cause says why. */
        BACKEND_UNAVAILABLE(-1),
        /** The object (operator, tensor, stream) was closed. */
        CLOSED(-2),
        /** A file (e.g. .npy) is malformed or unsupported. */
        FORMAT(-3),
        /** Reading or writing a file failed. */
        IO(-4);

        private final int nativeStatus;

        Code(int nativeStatus) {
            this.nativeStatus = nativeStatus;
        }

        public static Code fromNative(int status) {
            for (Code c : values()) if (c.nativeStatus == status) return c;
            return INTERNAL;
        }
    }

    private final Code code;

    public SpatialActException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public SpatialActException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Code code() {
        return code;
    }

    /** The C status code ({@code SA_ERR_*}), or a negative number for Java-side failures. */
    public int nativeStatus() {
        return code.nativeStatus;
    }

    static SpatialActException invalid(String message) {
        return new SpatialActException(Code.INVALID_ARGUMENT, message);
    }
}
