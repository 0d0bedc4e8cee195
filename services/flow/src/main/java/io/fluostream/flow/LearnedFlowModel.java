package io.fluostream.flow;

import io.fluostream.learning.flow.LearnedFlowRefiner;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The flow stage's learned model, loaded once: the network that ships with fluostream-learning
 * ({@link LearnedFlowRefiner#shipped()}). When it cannot load (no native engine on this
 * platform, a broken build) the reason is kept and the stage falls back to the variational
 * method, saying so in every frame's provenance note, rather than rejecting frames.
 */
final class LearnedFlowModel implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LearnedFlowModel.class);

    private LearnedFlowRefiner refiner;
    private String failure;

    /** The model, loading it on the first call; empty (with {@link #failure()}) if it cannot load. */
    synchronized Optional<LearnedFlowRefiner> get() {
        if (refiner == null && failure == null) {
            // No model hub is reachable: the native library comes from the pytorch-native jar.
            System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
            // libtorch takes every core unless told otherwise; the flow stage shares the machine.
            System.setProperty("ai.djl.pytorch.num_threads", System.getProperty("ai.djl.pytorch.num_threads", "2"));
            System.setProperty("ai.djl.pytorch.num_interop_threads",
                    System.getProperty("ai.djl.pytorch.num_interop_threads", "1"));
            try {
                refiner = LearnedFlowRefiner.shipped();
                LOG.info("learned flow model {} loaded ({})", refiner.version(), refiner.description());
            } catch (RuntimeException | LinkageError e) {
                failure = e.getMessage() == null ? e.toString() : e.getMessage();
                LOG.warn("learned flow model unavailable, method=learned falls back to variational: {}", failure);
            }
        }
        return Optional.ofNullable(refiner);
    }

    /** Why the model did not load, if it did not. */
    synchronized String failure() {
        return failure;
    }

    @Override
    public synchronized void close() {
        if (refiner != null) {
            refiner.close();
            refiner = null;
        }
    }
}
