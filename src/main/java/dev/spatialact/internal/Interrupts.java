package dev.spatialact.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

import org.bytedeco.javacpp.IntPointer;

/**
 * Thread interrupts as the native cooperative cancel ({@code sa_cpu_forward_cancellable}). A
 * thread blocked in native code cannot see {@link Thread#interrupt()}, and interrupting has no
 * hook, so one daemon thread ("spatialact-interrupts") watches the threads that are inside a
 * long call and raises the call's native flag when a thread is interrupted; the native call then
 * stops at its next task boundary and fails with {@code SA_ERR_CANCELLED}. The watcher runs only
 * while such calls exist (it polls every {@value #POLL_MILLIS} ms, then parks when none is left).
 *
 * <p>Each thread has one 4-byte native flag, cleared at the start of each watched call. A flag
 * raised after its call has ended is harmless: the next watched call clears it first and, if the
 * thread is still interrupted, the watcher raises it again (the call is cancelled, as it should
 * be).
 */
public final class Interrupts {
    static final long POLL_MILLIS = 5;

    private static final ThreadLocal<IntPointer> FLAG = ThreadLocal.withInitial(() -> new IntPointer(1L));
    private static final Set<Call> CALLS = ConcurrentHashMap.newKeySet();
    private static final Object START = new Object();
    private static volatile Thread watcher;

    private Interrupts() {}

    /** A watched call: its thread and its native flag. Ends with {@link #close()}. */
    public static final class Call implements AutoCloseable {
        final Thread thread;
        final IntPointer flag;

        Call(Thread thread, IntPointer flag) {
            this.thread = thread;
            this.flag = flag;
        }

        /** The address of the native flag, for the entry point's {@code cancel} argument. */
        public long flag() {
            return flag.address();
        }

        /** True if the thread has been interrupted (checked between the chunks of a call). */
        public boolean interrupted() {
            if (!thread.isInterrupted()) return false;
            flag.put(1);
            return true;
        }

        @Override
        public void close() {
            CALLS.remove(this);
        }
    }

    /**
     * Starts watching the calling thread for the length of one call. A thread that is already
     * interrupted gets its flag raised at once (the call is cancelled before any work, as a
     * blocking Java method would throw at once).
     */
    public static Call begin() {
        IntPointer flag = FLAG.get();
        Thread t = Thread.currentThread();
        flag.put(t.isInterrupted() ? 1 : 0);
        Call c = new Call(t, flag);
        CALLS.add(c);
        Thread w = watcher;
        if (w == null) w = startWatcher();
        LockSupport.unpark(w);
        return c;
    }

    private static Thread startWatcher() {
        synchronized (START) {
            if (watcher == null) {
                Thread w = new Thread(Interrupts::watch, "spatialact-interrupts");
                w.setDaemon(true);
                w.start();
                watcher = w;
            }
            return watcher;
        }
    }

    private static void watch() {
        for (;;) {
            if (CALLS.isEmpty()) {
                LockSupport.park(Interrupts.class);
                continue;
            }
            for (Call c : CALLS)
                if (c.thread.isInterrupted()) c.flag.put(1);
            LockSupport.parkNanos(Interrupts.class, POLL_MILLIS * 1_000_000L);
        }
    }
}
