package io.fluostream.learning.denoise;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Where and with how many threads the PyTorch engine computes.
 *
 * <p>Device: the first GPU when the engine sees one ({@code Engine.getGpuCount() > 0}, with the
 * {@code gpu} Maven profile's CUDA build), else the CPU; {@code fluostream.device=cpu} or {@code djl-cpu} (or
 * {@code FLUOSTREAM_DEVICE}) keeps it on the CPU.
 *
 * <p>Threads: libtorch's inter-op pool is sized once per process from the system property
 * {@code ai.djl.pytorch.num_interop_threads}, which {@link #init} sets to 1 unless given (the stage
 * runs one frame at a time: there is nothing to overlap). The intra-op count (OpenMP) is per calling
 * thread in libtorch's CPU build, so each caller sets its own with {@link #useThreads} before it
 * computes: the stream thread the inference count, the trainer thread its (smaller) training count.
 * Without this libtorch starts one thread per core in every thread that computes and oversubscribes
 * the machine.
 */
public final class Torch {

    private static volatile boolean initialised;

    private Torch() {
    }

    /** Loads the engine with explicit thread settings (idempotent). */
    public static synchronized Engine init() {
        if (!initialised) {
            // Models come from this project or from files the user gives; never from a model hub.
            if (System.getProperty("ai.djl.offline") == null) {
                System.setProperty("ai.djl.offline", "true");
            }
            if (System.getProperty("ai.djl.pytorch.num_interop_threads") == null) {
                System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
            }
            if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
                System.setProperty("ai.djl.pytorch.num_threads", "1");
            }
            Engine.getEngine("PyTorch");
            initialised = true;
        }
        return Engine.getEngine("PyTorch");
    }

    /** The device models run on: the first GPU if there is one (and it is not switched off), else the CPU. */
    public static Device device() {
        Engine e = init();
        String wanted = System.getProperty("fluostream.device", System.getenv().getOrDefault("FLUOSTREAM_DEVICE", "auto"));
        // cpu and djl-cpu keep libtorch on the CPU even where there is a GPU.
        if (!"cpu".equalsIgnoreCase(wanted) && !"djl-cpu".equalsIgnoreCase(wanted) && e.getGpuCount() > 0) {
            return Device.gpu();
        }
        return Device.cpu();
    }

    /**
     * Sets libtorch's intra-op threads for the calling thread (no-op if already so), and switches its
     * autograd recording off: libtorch's grad mode is per thread and on in every new thread, so a
     * stream thread would otherwise build a backward graph for every frame it serves. (DJL's
     * gradient collector switches it on for the duration of a training step.)
     */
    public static void useThreads(int threads) {
        init();
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        JniUtils.setGradMode(false);
        if (JniUtils.getNumThreads() != threads) {
            JniUtils.setNumThreads(threads);
        }
    }
}
