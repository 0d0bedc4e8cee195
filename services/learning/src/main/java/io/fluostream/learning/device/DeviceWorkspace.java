package io.fluostream.learning.device;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.fluostream.imaging.Image;

/**
 * The device memory of one stage instance: a manager for what lives across frames (spectra
 * tables, windows, index maps, prefilter matrices) and, per frame, a sub-manager plus an
 * {@link NDScope} that free every intermediate when the frame is done.
 *
 * <p>Why a scope and not only the sub-manager: DJL attaches an operation's result to the manager
 * of its receiver, so {@code constant.mul(pixels)} would land in the long-lived manager and leak
 * one array per frame. The scope catches every array created during the frame whatever its
 * manager; an array meant to outlive the frame is handed to {@link #keep}.
 *
 * <p>Not thread-safe (scopes are per thread): one stream thread per stage instance.
 */
final class DeviceWorkspace implements AutoCloseable {

    private final NDManager manager;

    DeviceWorkspace(Device device, String name) {
        this.manager = NDManager.newBaseManager(device);
        manager.setName(name);
    }

    Device device() {
        return manager.getDevice();
    }

    /** The long-lived manager; arrays created outside a frame belong to it. */
    NDManager manager() {
        return manager;
    }

    /** Opens one frame's scope; close it (try-with-resources) after the results are downloaded. */
    Frame frame() {
        return new Frame(manager.newSubManager());
    }

    /** Moves an array made during a frame out of the frame's scope into the long-lived manager. */
    NDArray keep(NDArray array) {
        NDScope.unregister(array);
        array.attach(manager);
        return array;
    }

    /**
     * Arrays the long-lived manager holds (constants and caches, plus any open frame's): flat from
     * frame to frame when nothing leaks.
     */
    int heldArrays() {
        return manager.getManagedArrays().size();
    }

    /**
     * Runs {@code step} in its own scope and frees what it made except the arrays it returns, which
     * go to the enclosing scope: keeps an iterative frame's peak memory to one iteration's worth.
     */
    static NDArray[] step(java.util.function.Supplier<NDArray[]> step) {
        NDArray[] kept;
        try (NDScope scope = new NDScope()) {
            kept = step.get();
            NDScope.unregister(kept);
        }
        for (NDArray a : kept) {
            NDScope.register(a);
        }
        return kept;
    }

    /** Copies {@code image} to the device as a float32 {@code C × H × W} array (the one upload). */
    static NDArray upload(NDManager frame, Image image) {
        return frame.create(image.data(), new Shape(image.channels(), image.height(), image.width()));
    }

    /** Copies a float32 array of {@code channels × height × width} samples back (the one download). */
    static Image download(NDArray array, int channels, int height, int width) {
        return new Image(channels, height, width, array.toFloatArray());
    }

    @Override
    public void close() {
        manager.close();
    }

    /** One frame's arrays: closed together. */
    static final class Frame implements AutoCloseable {

        private final NDManager manager;
        private final NDScope scope;

        private Frame(NDManager manager) {
            this.manager = manager;
            this.scope = new NDScope();
        }

        NDManager manager() {
            return manager;
        }

        @Override
        public void close() {
            scope.close();
            manager.close();
        }
    }
}
