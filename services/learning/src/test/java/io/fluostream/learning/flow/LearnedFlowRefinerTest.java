package io.fluostream.learning.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.PyramidalFlow;
import io.fluostream.imaging.flow.SignalMask;
import io.fluostream.imaging.flow.SimulatedFlowPair;
import io.fluostream.imaging.sim.SimulationSettings;
import org.junit.jupiter.api.Test;

/**
 * The model that ships with the flow stage loads and, on a simulated pair it never saw (seed
 * outside the training draws), beats the zero field and is no worse than the pyramidal estimate
 * it refines.
 */
class LearnedFlowRefinerTest {

    @Test
    void theShippedModelLoadsAndImprovesOnAHeldOutLowLightPair() {
        SimulationSettings s = SimulationSettings.defaults().withSize(256, 256).withPhotonLevel(5)
                .withMaxFlowPxPerFrame(4).withSeed(31_337);
        SimulatedFlowPair pair = SimulatedFlowPair.simulate(s, 0, 1, SimulatedFlowPair.Input.RAW);
        SignalMask mask = pair.signalMask(FlowTrainingSet.BORDER_MARGIN);
        FlowField estimate = new PyramidalFlow(PyramidalFlow.Settings.lowLight()).estimate(pair.previous(), pair.next());
        double variational = FlowField.endpointError(estimate, pair.truth(), mask);
        double zero = FlowField.endpointError(new FlowField(256, 256), pair.truth(), mask);
        try (LearnedFlowRefiner refiner = LearnedFlowRefiner.shipped()) {
            assertFalse(refiner.version().isBlank());
            assertTrue(refiner.name().startsWith("learned:"));
            refiner.refine(pair.previous(), pair.next(), estimate);
        }
        double learned = FlowField.endpointError(estimate, pair.truth(), mask);
        // measured 0.414 px learned, 0.495 px variational, 1.020 px zero field
        assertTrue(learned < zero, "learned " + learned + " px vs zero field " + zero + " px");
        assertTrue(learned <= variational, "learned " + learned + " px vs variational " + variational + " px");
    }

    @Test
    void bothDirectionsAreRefinedAsOneBatch() {
        SimulationSettings s = SimulationSettings.defaults().withSize(64, 80).withPhotonLevel(20)
                .withMaxFlowPxPerFrame(2).withSeed(31_338);
        SimulatedFlowPair pair = SimulatedFlowPair.simulate(s, 0, 1, SimulatedFlowPair.Input.RAW);
        PyramidalFlow flow = new PyramidalFlow(PyramidalFlow.Settings.lowLight());
        FlowField forward = flow.estimate(pair.previous(), pair.next());
        FlowField backward = flow.estimate(pair.next(), pair.previous());
        FlowField forwardAlone = new FlowField(forward.asImage().copy());
        FlowField backwardAlone = new FlowField(backward.asImage().copy());
        try (LearnedFlowRefiner refiner = LearnedFlowRefiner.shipped()) {
            refiner.refine(pair.previous(), pair.next(), forward, backward);
            refiner.refine(pair.previous(), pair.next(), forwardAlone);
            refiner.refine(pair.next(), pair.previous(), backwardAlone);
        }
        SignalMask all = SignalMask.all(64, 80);
        assertEquals(0, FlowField.endpointError(forward, forwardAlone, all), 1e-5);
        assertEquals(0, FlowField.endpointError(backward, backwardAlone, all), 1e-5);
    }
}
