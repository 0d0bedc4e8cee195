package io.fluostream.learning.flow;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.PyramidalFlow;
import io.fluostream.imaging.flow.SimulatedFlowPair;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Training examples for the learned flow estimator, simulated with the rig's forward model: frame
 * pairs with their exact flow, at random light levels (3–150 e⁻ per unit abundance, log-uniform),
 * motion amplitudes (0.5–11 px/frame) and phases of the deformation cycle, each with the
 * pyramidal estimate the network will refine. Kept at a quarter of the resolution ({@link RefinerInputs}),
 * whole frames; {@link FlowBatches} cuts random crops from them.
 */
final class FlowTrainingSet {

    /** Smallest and largest light level drawn, e⁻ per unit abundance (log-uniform between). */
    static final double MIN_PHOTONS = 3;
    static final double MAX_PHOTONS = 150;
    /** Range of the deformation's largest per-frame step drawn, px/frame (uniform). */
    static final double MIN_FLOW = 0.5;
    static final double MAX_FLOW = 11;
    /** Pixels this close to the frame edge are not scored (content enters and leaves there). */
    static final int BORDER_MARGIN = 16;

    /** One pair at a quarter of the resolution: network input, target residual (px) and scoring weight (0–1). */
    record Example(Image input, Image residual, Image weight) {
    }

    private FlowTrainingSet() {
    }

    /**
     * Simulates {@code streams} streams of {@code size × size} px and takes {@code pairsPerStream}
     * consecutive pairs from each, at random phases.
     *
     * @param seed     fixes every draw, so a training set can be made again exactly
     * @param input    raw or denoised frames, as the estimator will see them
     * @param progress receives a line now and then
     */
    static List<Example> simulate(int streams, int pairsPerStream, int size, long seed, SimulatedFlowPair.Input input,
                                  Consumer<String> progress) {
        SplittableRandom rng = new SplittableRandom(seed);
        PyramidalFlow estimator = new PyramidalFlow(PyramidalFlow.Settings.lowLight());
        List<Example> out = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            double photons = MIN_PHOTONS * Math.exp(rng.nextDouble() * Math.log(MAX_PHOTONS / MIN_PHOTONS));
            double maxFlow = MIN_FLOW + rng.nextDouble() * (MAX_FLOW - MIN_FLOW);
            SimulationSettings settings = SimulationSettings.defaults().withSize(size, size).withMaxDriftPx(0)
                    .withPhotonLevel(photons).withMaxFlowPxPerFrame(maxFlow).withSeed(rng.nextLong());
            ForwardModel model = new ForwardModel(settings, 0);
            for (int p = 0; p < pairsPerStream; p++) {
                int t = 1 + rng.nextInt((int) settings.flowPeriodFrames());
                out.add(example(SimulatedFlowPair.simulate(model, t, input), estimator));
            }
            if (progress != null && (s + 1) % 10 == 0) {
                progress.accept("simulated " + (s + 1) + "/" + streams + " streams (" + out.size() + " pairs)");
            }
        }
        return out;
    }

    /** The example of one pair: its inputs around the pyramidal estimate, the residual and weights. */
    static Example example(SimulatedFlowPair pair, PyramidalFlow estimator) {
        FlowField estimate = estimator.estimate(pair.previous(), pair.next());
        return new Example(RefinerInputs.build(pair.previous(), pair.next(), estimate),
                RefinerInputs.residual(pair.truth(), estimate),
                RefinerInputs.mask(pair.signalMask(BORDER_MARGIN)));
    }
}
