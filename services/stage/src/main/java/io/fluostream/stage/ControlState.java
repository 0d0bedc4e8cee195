package io.fluostream.stage;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the control topic has set on this replica: whether the stage and which streams are paused,
 * how far the topic has been applied, and the frames held for paused streams. Written by the control
 * thread, read by the stream thread.
 *
 * <p>The kernel lock keeps control calls and frame processing from running a kernel at once.
 */
public final class ControlState {

    private static final Logger LOG = LoggerFactory.getLogger(ControlState.class);

    private volatile boolean stagePaused;
    private final Set<String> pausedStreams = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicLong> parked = new ConcurrentHashMap<>();
    private final AtomicLong appliedOffset = new AtomicLong(-1);
    private final ReentrantLock kernelLock = new ReentrantLock();
    private volatile CountDownLatch replayed = new CountDownLatch(0);
    private volatile long replayWaitMillis = 240_000;

    /**
     * Makes stream tasks wait, when they start, until {@link #replayDone()}: so a replica that was
     * paused before a restart does not process a frame before it has read that it is paused.
     */
    public void holdUntilReplayed(long maxWaitMillis) {
        replayed = new CountDownLatch(1);
        replayWaitMillis = maxWaitMillis;
    }

    public void replayDone() {
        replayed.countDown();
    }

    public boolean isReplayed() {
        return replayed.getCount() == 0;
    }

    /** Called by each stream task at start. */
    void awaitReplay() {
        try {
            if (!replayed.await(replayWaitMillis, TimeUnit.MILLISECONDS)) {
                LOG.error("the control topic was not replayed within {} ms; processing without its pause state", replayWaitMillis);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public boolean stagePaused() {
        return stagePaused;
    }

    public void stagePaused(boolean paused) {
        this.stagePaused = paused;
    }

    public boolean streamPaused(String streamId) {
        return pausedStreams.contains(streamId);
    }

    public void pauseStream(String streamId) {
        pausedStreams.add(streamId);
    }

    public void resumeStream(String streamId) {
        pausedStreams.remove(streamId);
    }

    public Set<String> pausedStreams() {
        return new TreeSet<>(pausedStreams);
    }

    /** Frames held for a paused stream on this replica. */
    public long parked(String streamId) {
        AtomicLong n = parked.get(streamId);
        return n == null ? 0 : n.get();
    }

    public long parkedTotal() {
        return parked.values().stream().mapToLong(AtomicLong::get).sum();
    }

    void addParked(String streamId, long delta) {
        AtomicLong n = parked.computeIfAbsent(streamId, k -> new AtomicLong());
        if (n.addAndGet(delta) <= 0) {
            parked.remove(streamId, n);
        }
    }

    public long appliedOffset() {
        return appliedOffset.get();
    }

    public void applied(long offset) {
        appliedOffset.accumulateAndGet(offset, Math::max);
    }

    public ReentrantLock kernelLock() {
        return kernelLock;
    }
}
