package io.fluostream.imaging.stabilise;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed team of threads that runs one loop body split into {@link #count()} parts: the calling
 * thread does part 0, helper threads the others, and {@link #run} returns when all are done.
 *
 * <p>Why not an executor: a frame is a dozen short phases (an FFT pass, a resampling pass) of
 * 0.1–1 ms each, so handing over a phase must cost microseconds. Helpers spin briefly for the next
 * phase before parking, and a phase is announced by bumping a generation counter.
 *
 * <p>Each part index is served by the same thread for the team's life, so part p may use scratch
 * buffers owned by p. One caller at a time: {@code run} is not reentrant and not for concurrent
 * callers. {@link #close} stops the helpers (they are daemon threads, so a forgotten team does not
 * keep the JVM alive).
 */
public final class Workers implements AutoCloseable {

    /** How long a helper spins for the next phase before it parks, ns. */
    private static final long SPIN_NS = 20_000;

    private final int count;
    private final Thread[] helpers;
    private final AtomicInteger generation = new AtomicInteger();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile IntConsumer body;
    private volatile Thread caller;
    private volatile boolean closed;

    /** A team of {@code threads} (1–64) including the caller; 1 runs everything inline. */
    public Workers(int threads) {
        if (threads < 1 || threads > 64) {
            throw new IllegalArgumentException("threads must be 1..64, got " + threads);
        }
        this.count = threads;
        this.helpers = new Thread[threads - 1];
        for (int i = 0; i < helpers.length; i++) {
            int part = i + 1;
            Thread t = new Thread(() -> serve(part), "stabilise-worker-" + part);
            t.setDaemon(true);
            helpers[i] = t;
            t.start();
        }
    }

    /** Parts per {@link #run}: the thread count. */
    public int count() {
        return count;
    }

    /**
     * Runs {@code body.accept(p)} for every part p in [0, count) and waits for all of them. An
     * exception from any part is rethrown here (after every part has finished).
     */
    public void run(IntConsumer body) {
        if (count == 1) {
            body.accept(0);
            return;
        }
        if (closed) {
            throw new IllegalStateException("workers are closed");
        }
        this.body = body;
        this.caller = Thread.currentThread();
        pending.set(count - 1);
        generation.incrementAndGet();
        for (Thread h : helpers) {
            LockSupport.unpark(h);
        }
        Throwable own = null;
        try {
            body.accept(0);
        } catch (Throwable t) {
            own = t;
        }
        long start = System.nanoTime();
        while (pending.get() > 0) {
            if (System.nanoTime() - start < SPIN_NS) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(this, 100_000);
            }
        }
        this.body = null;
        Throwable helperFailure = failure.getAndSet(null);
        Throwable first = own != null ? own : helperFailure;
        if (first instanceof RuntimeException r) {
            throw r;
        }
        if (first instanceof Error e) {
            throw e;
        }
        if (first != null) {
            throw new IllegalStateException(first);
        }
    }

    /**
     * Start of part p when {@code total} items are split into {@code parts} near-equal runs, each a
     * multiple of {@code grain} long (except the last).
     */
    public static int start(int part, int parts, int total, int grain) {
        long units = (total + grain - 1) / grain;
        return (int) Math.min(total, (units * part / parts) * grain);
    }

    /** End (exclusive) of part p; see {@link #start}. */
    public static int end(int part, int parts, int total, int grain) {
        return start(part + 1, parts, total, grain);
    }

    private void serve(int part) {
        int seen = 0;
        while (!closed) {
            long start = System.nanoTime();
            while (generation.get() == seen && !closed) {
                if (System.nanoTime() - start < SPIN_NS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            if (closed) {
                return;
            }
            seen = generation.get();
            try {
                body.accept(part);
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
            if (pending.decrementAndGet() == 0) {
                LockSupport.unpark(caller);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread h : helpers) {
            LockSupport.unpark(h);
        }
    }
}
