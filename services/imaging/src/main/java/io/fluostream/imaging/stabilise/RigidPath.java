package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;

/**
 * The rigid registration's heavy steps — preparing a template plane, measuring a plane's shift
 * against it, and the correcting shift of the whole frame — run by another implementation than
 * this package's pure-Java {@link PhaseCorrelator} and {@link ShiftResampler}: the device path
 * (fluostream-learning) runs them as tensor operations on a GPU or libtorch's CPU kernels.
 * {@link Stabiliser} keeps everything else (binning, templates, confidence policies, piecewise
 * patches), so both paths share it.
 *
 * <p>An implementation must give the answers of {@link PhaseCorrelator} and
 * {@link ShiftResampler#resample} to within its stated tolerance. It is called from one thread at
 * a time.
 */
public interface RigidPath {

    /**
     * A template plane (1 × h × w, binned as the frames' planes will be) prepared for
     * {@link Template#estimate}, with the correlator settings for that binning.
     */
    Template prepare(Image templatePlane, PhaseCorrelator.Settings settings);

    /** {@code out(p) = frame(p + (dx, dy))} for every channel, as {@link ShiftResampler#resample}. */
    void resample(Image frame, double dx, double dy, Image out);

    /** A prepared template; {@link #close()} frees what it holds (device memory). */
    interface Template extends AutoCloseable {

        /** The shift of {@code plane} (same shape as the template plane), as {@link PhaseCorrelator#estimate}. */
        Shift estimate(Image plane);

        @Override
        void close();
    }
}
