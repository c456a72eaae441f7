package dev.spatialact.cli;

/** A command line the tool cannot run (unknown command or option, missing or malformed value): exit code 2. */
final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
