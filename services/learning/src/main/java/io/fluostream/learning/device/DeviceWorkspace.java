package io.fluostream.learning.device;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.fluostream.imaging.Image;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

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
    /** Host staging buffer for uploads, reused (grown when a larger frame comes). */
    private ByteBuffer staging;

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
    NDArray upload(Frame frame, Image image) {
        return upload(frame, new Shape(image.channels(), image.height(), image.width()), image.data());
    }

    /**
     * Copies {@code parts}, one after the other, to the device as one float32 array of {@code shape}.
     * The samples go through a staging buffer this workspace reuses from frame to frame (a fresh
     * direct buffer per frame is what DJL would otherwise allocate); on the CPU the array reads the
     * staging buffer directly, so it must not outlive the frame — every derived array is freed
     * with the frame anyway, and results leave only as copies.
     */
    NDArray upload(Frame frame, Shape shape, float[]... parts) {
        long bytes = shape.size() * Float.BYTES;
        if (staging == null || staging.capacity() < bytes) {
            staging = ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.nativeOrder());
        }
        staging.clear();
        FloatBuffer floats = staging.asFloatBuffer();
        for (float[] p : parts) {
            floats.put(p);
        }
        if (floats.position() != shape.size()) {
            throw new IllegalArgumentException(floats.position() + " samples for shape " + shape);
        }
        staging.limit(Math.toIntExact(bytes));
        return frame.manager().create(staging, shape, DataType.FLOAT32);
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
