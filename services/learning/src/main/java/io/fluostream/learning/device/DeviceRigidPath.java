package io.fluostream.learning.device;

import ai.djl.Device;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.stabilise.PhaseCorrelator;
import io.fluostream.imaging.stabilise.RigidPath;
import io.fluostream.imaging.stabilise.Shift;
import io.fluostream.imaging.stabilise.Stabiliser;
import java.util.HashMap;
import java.util.Map;

/**
 * The stabilise stage's rigid registration on the device, plugged into the stage's
 * {@link Stabiliser} (which keeps binning, templates, confidence policies and piecewise patches on
 * the host): templates are prepared and shifts measured by a {@link DeviceStabiliser} per plane
 * shape and correlator settings, frames are shifted by one per frame shape.
 *
 * <p>Host/device traffic per frame: the registration plane (one channel, binned) goes up to be
 * measured; the frame goes up once and comes down once corrected. Not thread-safe (one per stream
 * thread); {@link #close()} frees all device memory, prepared templates included.
 */
public final class DeviceRigidPath implements RigidPath, AutoCloseable {

    private final Device device;
    private final Map<EstimatorKey, DeviceStabiliser> estimators = new HashMap<>();
    private final Map<Long, DeviceStabiliser> resamplers = new HashMap<>();

    private record EstimatorKey(int height, int width, PhaseCorrelator.Settings settings) {
    }

    public DeviceRigidPath(Device device) {
        this.device = device;
    }

    public Device device() {
        return device;
    }

    @Override
    public Template prepare(Image templatePlane, PhaseCorrelator.Settings settings) {
        DeviceStabiliser estimator = estimators.computeIfAbsent(
                new EstimatorKey(templatePlane.height(), templatePlane.width(), settings),
                k -> new DeviceStabiliser(k.height(), k.width(), k.settings(), device));
        DeviceStabiliser.Reference reference = estimator.prepare(templatePlane);
        return new Template() {
            @Override
            public Shift estimate(Image plane) {
                return estimator.estimate(reference, plane);
            }

            @Override
            public void close() {
                reference.close();
            }
        };
    }

    @Override
    public void resample(Image frame, double dx, double dy, Image out) {
        if (!out.sameShape(frame)) {
            throw new IllegalArgumentException("output " + out + " must have the frame's shape " + frame);
        }
        DeviceStabiliser resampler = resamplers.computeIfAbsent(((long) frame.height() << 32) | frame.width(),
                k -> new DeviceStabiliser(frame.height(), frame.width(), PhaseCorrelator.Settings.DEFAULT, device));
        Image shifted = resampler.resample(frame, dx, dy);
        System.arraycopy(shifted.data(), 0, out.data(), 0, shifted.data().length);
    }

    /** Arrays held between frames by all device stabilisers (for leak checks). */
    int heldArrays() {
        int n = 0;
        for (DeviceStabiliser s : estimators.values()) {
            n += s.heldArrays();
        }
        for (DeviceStabiliser s : resamplers.values()) {
            n += s.heldArrays();
        }
        return n;
    }

    @Override
    public void close() {
        estimators.values().forEach(DeviceStabiliser::close);
        resamplers.values().forEach(DeviceStabiliser::close);
        estimators.clear();
        resamplers.clear();
    }
}
