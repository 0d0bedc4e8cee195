package io.fluostream.learning.denoise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.denoise.NoiseEstimator;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.proto.TrainedModel;
import org.junit.jupiter.api.Test;

/**
 * Supervised (CARE) mode: pairs of low- and high-SNR frames of the same scene (the simulator at 4
 * and 400 photons, same seed) train a model that lands in the same registry as the blind-spot models
 * and serves through the same path.
 */
class CareTrainingTest {

    @Test
    void pairsTrainAModelThatBeatsTheRawFrame() throws Exception {
        SimulatedStream low = new SimulatedStream(64, 2, 4);
        ForwardModel high = new ForwardModel(low.settings.withPhotonLevel(400), 0);
        NoiseEstimator estimator = new NoiseEstimator(NoiseEstimator.DEFAULT_BLOCK_SIZE);
        try (StreamDenoiser denoiser = StreamDenoiser.standalone("denoise", "test-1")) {
            TrainingOptions care = TrainingOptions.defaults().withMode("care").withNetwork(8, 1)
                    .withTraining(new TrainingSettings(32, 4, 3e-3, 0.05, 2)).withSchedule(4, 1, 150, 1000, 150).withSampling(64, 1);
            denoiser.startTraining(care);
            OnlineTrainer trainer = denoiser.trainer().orElseThrow();
            for (int t = 0; t < 6; t++) {
                CareTargets.Pair pair = CareTargets.pair(low.frame(t).raw(), low.settings.offsetAdu(), high.frame(t).raw(),
                        low.settings.offsetAdu(), estimator);
                trainer.offerPair("sim", t, pair.low(), pair.target());
            }
            BlindSpotTrainerTest.waitForVersion(trainer);
            TrainedModel m = denoiser.registry().models().get(0);
            assertEquals("care-unet", m.getName());
            assertEquals("care", m.getTraining());
            // Put it in force explicitly: whether 150 steps already beat the classical guide (and so
            // activate on their own) is not what this test is about.
            denoiser.activate("care-unet/1", "test");
            assertEquals("care-unet/1", denoiser.activeId());

            SimulatedFrame f = low.frame(30);
            StreamDenoiser.Result r = denoiser.denoise("sim", 30, f.raw(), low.settings.offsetAdu(),
                    StreamDenoiser.Settings.defaults(), FrameHistory.NONE);
            assertEquals("care-unet/1", r.method());
            Image offsetFree = f.raw().copy();
            for (int i = 0; i < offsetFree.data().length; i++) {
                offsetFree.data()[i] -= (float) low.settings.offsetAdu();
            }
            double before = Images.psnr(f.cleanChannels(), offsetFree);
            double after = Images.psnr(f.cleanChannels(), r.denoised());
            // 150 small steps on 5 pairs: far from converged, but well clear of the raw frame.
            assertTrue(after > before + 4, "PSNR raw " + before + " dB, CARE " + after + " dB");
        }
    }

    @Test
    void targetIsTheExpectedStabilisedValueOfTheScaledHighSnrFrame() {
        SimulatedStream low = new SimulatedStream(64, 1, 50);
        SimulatedFrame f = low.frame(0);
        // A noiseless "high-SNR frame" at 10× the intensity: its target must invert back to the clean frame.
        Image high = f.cleanChannels().copy();
        for (int i = 0; i < high.data().length; i++) {
            high.data()[i] = 10 * high.data()[i] + 50;
        }
        CareTargets.Pair pair = CareTargets.pair(f.raw(), low.settings.offsetAdu(), high, 50, new NoiseEstimator(NoiseEstimator.DEFAULT_BLOCK_SIZE));
        Image back = pair.low().inverse(pair.target());
        // The target is the high-SNR frame at the low frame's scale (least-squares ratio), as expected
        // stabilised values: the exact inverse must give that scaled frame back.
        double slh = 0;
        double shh = 0;
        for (int i = 0; i < high.data().length; i++) {
            double l = f.raw().data()[i] - low.settings.offsetAdu();
            double h = high.data()[i] - 50;
            slh += l * h;
            shh += h * h;
        }
        double ratio = slh / shh;
        assertEquals(0.1, ratio, 0.005, "least-squares intensity ratio of low to high");
        for (int i = 0; i < back.data().length; i++) {
            assertEquals(ratio * (high.data()[i] - 50), back.data()[i], 1e-3 * (1 + Math.abs(back.data()[i])));
        }
    }
}
