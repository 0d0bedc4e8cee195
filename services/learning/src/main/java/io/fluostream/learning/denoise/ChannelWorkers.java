package io.fluostream.learning.denoise;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Spreads the per-channel (or per-plane) Java work of one frame — noise fit, stabilisation, the
 * classical guide, padding, the inverse — over the serving thread and up to {@code threads − 1}
 * helper threads: the same thread budget the stage gives libtorch ({@code inference_threads}), used
 * while libtorch is idle. With one thread everything runs on the caller, as before.
 *
 * <p>Worker {@code k} takes items {@code k, k + threads, …}, so each worker may own scratch (a
 * wavelet denoiser, a noise estimator) indexed by {@code k}. Owned by one serving thread; close it
 * to end the helpers.
 */
public final class ChannelWorkers implements AutoCloseable {

    /** Work on item {@code item} by worker {@code worker} (0 ≤ worker &lt; {@link #threads()}). */
    @FunctionalInterface
    public interface Task {
        void run(int worker, int item);
    }

    /** Everything on the calling thread. */
    public static final ChannelWorkers SERIAL = new ChannelWorkers(1);

    private final int threads;
    private final ExecutorService helpers;

    public ChannelWorkers(int threads) {
        if (threads < 1 || threads > 64) {
            throw new IllegalArgumentException("threads must be 1..64, got " + threads);
        }
        this.threads = threads;
        this.helpers = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(r, "denoise-channel-worker");
            t.setDaemon(true);
            return t;
        });
    }

    public int threads() {
        return threads;
    }

    /** {@code current} when it has {@code threads} threads, else a pool that has (current closed). */
    public static ChannelWorkers withThreads(ChannelWorkers current, int threads) {
        if (current.threads() == threads) {
            return current;
        }
        current.close();
        return threads == 1 ? SERIAL : new ChannelWorkers(threads);
    }

    /** Runs {@code task} for items {@code 0 … count−1}; returns when all are done. */
    public void forEach(int count, Task task) {
        int used = Math.min(threads, count);
        if (used <= 1) {
            for (int i = 0; i < count; i++) {
                task.run(0, i);
            }
            return;
        }
        List<Future<?>> pending = new ArrayList<>(used - 1);
        for (int k = 1; k < used; k++) {
            int worker = k;
            pending.add(helpers.submit(() -> share(worker, used, count, task)));
        }
        RuntimeException failure = null;
        try {
            share(0, used, count, task);
        } catch (RuntimeException e) {
            failure = e;
        }
        for (Future<?> f : pending) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) {
                    failure = new IllegalStateException("interrupted while waiting for channel workers", e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static void share(int worker, int used, int count, Task task) {
        for (int i = worker; i < count; i += used) {
            task.run(worker, i);
        }
    }

    @Override
    public void close() {
        if (helpers != null) {
            helpers.shutdownNow();
        }
    }
}
