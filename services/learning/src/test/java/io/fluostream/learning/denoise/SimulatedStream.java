package io.fluostream.learning.denoise;

import io.fluostream.imaging.denoise.NoiseEstimator;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;
import java.util.ArrayList;
import java.util.List;

/** Small simulated streams for the learning tests (the rig's forward model, stabilised). */
final class SimulatedStream {

    final SimulationSettings settings;
    final ForwardModel model;
    private final NoiseEstimator estimator = new NoiseEstimator(NoiseEstimator.DEFAULT_BLOCK_SIZE);

    SimulatedStream(int size, int channels, double photons) {
        settings = SimulationSettings.defaults().withSize(size, size)
                .withChannelsAndFluorophores(channels, Math.min(channels, 2)).withPhotonLevel(photons);
        model = new ForwardModel(settings, 0);
    }

    SimulatedFrame frame(int t) {
        return model.frame(t);
    }

    StabilisedFrame stabilised(int t) {
        return StabilisedFrame.of(model.frame(t).raw(), settings.offsetAdu(), estimator);
    }

    /** Whole-frame crops of frames [from, to), without context. */
    List<TrainingCrop> crops(int from, int to) {
        List<TrainingCrop> out = new ArrayList<>();
        for (int t = from; t < to; t++) {
            StabilisedFrame f = stabilised(t);
            out.add(new TrainingCrop("sim", t, 1, f.channels(), f.height(), f.width(), f.values().clone(), null));
        }
        return out;
    }
}
