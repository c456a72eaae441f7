package dev.spatialact.internal;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.spatialact.SpatialActException;

/**
 * Close-while-in-use guard for native resources: every native call runs between
 * {@link #enter()} and {@link #exit()}; {@link #close()} marks the resource closed at once (later
 * calls fail with a CLOSED exception), the last running call to exit frees it, and close()
 * returns once it is freed: after close() returns, no call of this resource touches the caller's
 * memory any more, so the caller may free its buffers. The wait is interruptible (close() then
 * returns early with the thread's interrupt status set; the resource is still freed when the
 * last call exits) and {@link #close(long)} bounds it. The release action runs exactly once.
 */
public final class ResourceGuard {
    private static final int CLOSED = 1 << 30;
    private final AtomicInteger state = new AtomicInteger();
    private final AtomicBoolean released = new AtomicBoolean();
    private final CountDownLatch freed = new CountDownLatch(1);
    private final String what;
    private final Runnable release;

    public ResourceGuard(String what, Runnable release) {
        this.what = what;
        this.release = release;
    }

    public void enter() {
        for (;;) {
            int s = state.get();
            if ((s & CLOSED) != 0)
                throw new SpatialActException(SpatialActException.Code.CLOSED, what + " is closed");
            if (state.compareAndSet(s, s + 1)) return;
        }
    }

    public void exit() {
        if (state.decrementAndGet() == CLOSED) release();
    }

    /** Closes and waits until running calls have finished and the resource is freed. */
    public void close() {
        close(Long.MAX_VALUE);
    }

    /**
     * Closes, and waits at most {@code timeoutMillis} for running calls to finish. Returns true
     * if the resource is freed on return (false: a call is still running after the timeout, or
     * the wait was interrupted; the last call to exit frees it).
     */
    public boolean close(long timeoutMillis) {
        int before = state.getAndUpdate(v -> v | CLOSED);
        if ((before & CLOSED) == 0 && before == 0) release();
        try {
            return freed.await(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public boolean isClosed() {
        return (state.get() & CLOSED) != 0;
    }

    private void release() {
        if (released.compareAndSet(false, true)) {
            try {
                release.run();
            } finally {
                freed.countDown();
            }
        }
    }
}
