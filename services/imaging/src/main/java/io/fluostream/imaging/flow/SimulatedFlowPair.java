package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;

/**
 * Two consecutive frames of a simulated stream with their exact flow: what the flow benchmark
 * scores estimators on and what the learned estimator trains on.
 *
 * <p>The stream is simulated without drift, so the raw frames are already in drift-free
 * (stabilised) coordinates and the forward model's flow is their true flow. The frames are
 * single-channel as the flow stage sees them (channels summed) and offset-free, either the raw
 * camera counts minus the offset ({@link Input#RAW}) or the output of the classical denoiser
 * ({@link Input#DENOISED}, as the denoise stage would publish them).
 *
 * @param previous      frame t−1, offset-free ADU, channels summed
 * @param next          frame t, likewise
 * @param truth         exact flow from t−1 to t on t−1's grid
 * @param cleanPrevious noise-free frame t−1 (channels summed): defines where there is signal
 * @param input         what the frames are
 */
public record SimulatedFlowPair(Image previous, Image next, FlowField truth, Image cleanPrevious, Input input) {

    /** What the flow estimator is given. */
    public enum Input {
        /** Raw camera counts minus the camera offset, channels summed. */
        RAW,
        /** The classical denoiser's output (offset-free), channels summed. */
        DENOISED
    }

    /**
     * The pair (t−1, t) of the stream {@code streamIndex} of {@code settings} with its drift set
     * to 0.
     *
     * @throws IllegalArgumentException for t &lt; 1 (frame 0 has no predecessor)
     */
    public static SimulatedFlowPair simulate(SimulationSettings settings, int streamIndex, int t, Input input) {
        if (t < 1) {
            throw new IllegalArgumentException("a flow pair needs t >= 1 (frames t-1 and t), got " + t);
        }
        return simulate(new ForwardModel(settings.withMaxDriftPx(0), streamIndex), t, input);
    }

    /**
     * The pair (t−1, t) of a drift-free stream (several pairs can come from one model, which
     * takes longer to build than a frame).
     *
     * @throws IllegalArgumentException when the model has drift (its raw frames would not be in
     *                                  the truth flow's coordinates) or t &lt; 1
     */
    public static SimulatedFlowPair simulate(ForwardModel model, int t, Input input) {
        if (t < 1) {
            throw new IllegalArgumentException("a flow pair needs t >= 1 (frames t-1 and t), got " + t);
        }
        SimulationSettings driftFree = model.settings();
        if (driftFree.maxDriftPx() != 0) {
            throw new IllegalArgumentException("flow pairs need a drift-free simulation (maxDriftPx 0), got "
                    + driftFree.maxDriftPx() + " px");
        }
        SimulatedFrame a = model.frame(t - 1);
        SimulatedFrame b = model.frame(t);
        Image previous = frame(a.raw(), driftFree.offsetAdu(), input);
        Image next = frame(b.raw(), driftFree.offsetAdu(), input);
        return new SimulatedFlowPair(previous, next, new FlowField(b.flow()),
                Images.sumChannels(a.cleanChannels()), input);
    }

    /** Offset-free single-channel frame from a raw camera frame. */
    private static Image frame(Image raw, double offsetAdu, Input input) {
        if (input == Input.DENOISED) {
            return Images.sumChannels(new ClassicalDenoiser().denoise(raw, offsetAdu).denoised());
        }
        Image sum = Images.sumChannels(raw);
        float offset = (float) (offsetAdu * raw.channels());
        float[] d = sum.data();
        for (int i = 0; i < d.length; i++) {
            d[i] -= offset;
        }
        return sum;
    }

    /**
     * The pixels the pair is scored on: signal in the clean frame t−1 at the default fraction
     * ({@link SignalMask#fromIntensity(Image, double, int)}), at least {@code borderMargin} px from
     * the edge (where content enters and leaves, the flow is not observable).
     */
    public SignalMask signalMask(int borderMargin) {
        return SignalMask.fromIntensity(cleanPrevious, SignalMask.DEFAULT_FRACTION, borderMargin);
    }

    public int height() {
        return previous.height();
    }

    public int width() {
        return previous.width();
    }
}
