package io.fluostream.learning.unmix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.imaging.sim.SpectralMixing;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A tiny training run on the CPU: the loss goes down, and the model saves and loads back. */
class UnmixTrainerTest {

    private static final ReferenceSpectra SPECTRA = ReferenceSpectra.of(SpectralMixing.defaultSpectra(4, 3));

    @Test
    void lossDecreasesAndTheModelRoundTrips() throws Exception {
        // 4 small frames, 60 steps of 4 crops of 24 x 24, 8 filters: a few seconds on one core.
        UnmixTrainer.Settings s = new UnmixTrainer.Settings(4, 64, 2, 10, 60, 4, 24, 3e-3f, 3e-3f, 8, 3);
        double[][] losses = new double[2][];
        try (LearnedUnmixer model = UnmixTrainer.train(SPECTRA, s, null, losses)) {
            double before = losses[1][0];
            double after = losses[1][1];
            // The same fixed batch before and after 60 steps: measured 0.112 -> 0.038.
            assertTrue(after < 0.7 * before, "loss on a fixed batch " + before + " -> " + after);
            assertTrue(model.trainedFor(SPECTRA));
            assertEquals(60, model.card().steps());

            Path dir = Files.createTempDirectory("unmix-model");
            UnmixTrainer.save(model, dir, "tiny");
            Image x = new Image(4, 20, 24);
            for (int i = 0; i < x.data().length; i++) {
                x.data()[i] = (i * 37 % 101) * 0.5f;
            }
            try (LearnedUnmixer loaded = LearnedUnmixer.load(dir, "tiny")) {
                assertEquals(model.card().modelId(), loaded.card().modelId());
                assertArrayEquals(model.unmix(x).data(), loaded.unmix(x).data(), 1e-5f, "same weights, same answers");
            }

            // Fine-tuning starts from the trained weights: on its own fixed batch (other frames,
            // lower light) the trained model's loss is below a fresh one's, and the card counts both runs.
            UnmixTrainer.Settings low = new UnmixTrainer.Settings(4, 64, 1, 4, 20, 4, 24, 1e-3f, 1e-4f, 8, 5);
            double[][] tuned = new double[2][];
            double[][] fresh = new double[2][];
            try (LearnedUnmixer fineTuned = UnmixTrainer.fineTune(model, low, null, tuned);
                    LearnedUnmixer scratch = UnmixTrainer.train(SPECTRA, low, null, fresh)) {
                assertTrue(tuned[1][0] < fresh[1][0], "start loss " + tuned[1][0] + " vs fresh " + fresh[1][0]);
                assertEquals(80, fineTuned.card().steps());
                assertEquals(1, fineTuned.card().photonsMin());
                assertEquals(10, fineTuned.card().photonsMax());
            }
        }
    }
}
