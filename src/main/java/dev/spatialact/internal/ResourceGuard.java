package dev.spatialact.internal;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.spatialact.SpatialActException;

/**
 * Close-while-in-use guard for native resources: every native call runs between
 * {@link #enter()} and {@link #exit()}; {@link #close()} marks the resource closed at once (later
 * calls fail with a CLOSED exception) and frees it when the last running call exits. The release
 * action runs exactly once.
 */
public final class ResourceGuard {
    private static final int CLOSED = 1 << 30;
    private final AtomicInteger state = new AtomicInteger();
    private final AtomicBoolean released = new AtomicBoolean();
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

    public void close() {
        int before = state.getAndUpdate(v -> v | CLOSED);
        if ((before & CLOSED) == 0 && before == 0) release();
    }

    public boolean isClosed() {
        return (state.get() & CLOSED) != 0;
    }

    private void release() {
        if (released.compareAndSet(false, true)) release.run();
    }
}
