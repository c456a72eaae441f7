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
        /**
         * A shape, pointer, array, buffer or parameter is out of range, or the call is one the
         * operator does not take; the message names the argument. Nothing was written.
         */
        INVALID_ARGUMENT(1),
        /**
         * A host or device allocation failed, or a CPU workspace would exceed
         * {@link SpatialAct#cpuWorkspaceLimit()} (then nothing was allocated).
         */
        OUT_OF_MEMORY(2),
        /** The entry point is declared but not implemented on this backend yet. */
        NOT_IMPLEMENTED(3),
        /** The native library was built without CUDA, or has no usable driver or GPU. */
        NO_CUDA(4),
        /** A CUDA call failed; the message names the call and CUDA's error. */
        CUDA(5),
        /** A bug of the library, or a native status it does not know. */
        INTERNAL(6),
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

        /**
         * The code of a native status.
         *
         * @param status an {@code SA_ERR_*} value of the C header
         * @return its code; INTERNAL for a value that is none of them (0, SA_OK, included)
         */
        public static Code fromNative(int status) {
            for (Code c : values()) if (c.nativeStatus == status) return c;
            return INTERNAL;
        }
    }

    /** What kind of failure this is; part of the serialized form. */
    private final Code code;

    /**
     * An exception of this kind.
     *
     * @param code what kind of failure it is; not null
     * @param message what failed and why, naming the argument or file
     */
    public SpatialActException(Code code, String message) {
        super(message);
        this.code = code;
    }

    /**
     * An exception of this kind with a cause.
     *
     * @param code what kind of failure it is; not null
     * @param message what failed and why, naming the argument or file
     * @param cause the underlying failure (e.g. an IOException or the native load failure), or
     *     null
     */
    public SpatialActException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /** {@return what kind of failure this is} */
    public Code code() {
        return code;
    }

    /**
     * The status code of {@link #code()} as the C header numbers it.
     *
     * @return the {@code SA_ERR_*} value (1 to 7), or a negative number for the Java-side kinds
     *     (BACKEND_UNAVAILABLE, CLOSED, FORMAT, IO)
     */
    public int nativeStatus() {
        return code.nativeStatus;
    }

    static SpatialActException invalid(String message) {
        return new SpatialActException(Code.INVALID_ARGUMENT, message);
    }
}
