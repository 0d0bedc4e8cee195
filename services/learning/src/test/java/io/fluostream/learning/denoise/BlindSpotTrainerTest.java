package io.fluostream.learning.denoise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.fluostream.proto.ModelRecord;
import io.fluostream.proto.TrainedModel;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A short blind-spot training run on simulated frames learns, and its model survives the model topic's encoding. */
class BlindSpotTrainerTest {

    @Test
    void shortTrainingOnSimulatedFramesLowersTheHeldOutLoss() {
        SimulatedStream stream = new SimulatedStream(64, 2, 20);
        List<TrainingCrop> train = stream.crops(0, 6);
        List<TrainingCrop> heldOut = stream.crops(10, 12);
        DenoiserDesign design = new DenoiserDesign(2, 0, 8, 1);
        Normalisation norm = Normalisation.fit(train.get(0).planes(), 0, train.get(0).planes().length);
        Torch.useThreads(1);
        try (BlindSpotTrainer trainer = new BlindSpotTrainer(design, new TrainingSettings(32, 4, 3e-3, 0.05, 2), norm,
                Device.cpu(), 42)) {
            double before = trainer.validate(heldOut);
            for (int i = 0; i < 120; i++) {
                trainer.step(train);
            }
            double after = trainer.validate(heldOut);
            // The held-out blind-spot loss is 1 + error² against clean (unit noise): an untrained network
            // is far off; 120 small steps bring it most of the way to the noise floor of 1.
            assertTrue(after < 0.5 * before, "validation loss " + before + " -> " + after);
            assertTrue(after < 2.0, "validation loss " + after + " should approach the noise floor of 1");
        }
    }

    @Test
    void modelRecordRoundTripsThroughProtobufAndPredictsTheSame() throws Exception {
        SimulatedStream stream = new SimulatedStream(32, 2, 20);
        InMemoryModelLog log = new InMemoryModelLog();
        try (ModelRegistry registry = new ModelRegistry("denoise", Device.cpu())) {
            log.subscribe(registry::apply);
            TrainingOptions o = TrainingOptions.defaults().withNetwork(4, 1).withTraining(new TrainingSettings(16, 2, 1e-3, 0.05, 2))
                    .withSchedule(2, 1, 3, 1000, 3).withSampling(32, 1);
            OnlineTrainer trainer = new OnlineTrainer("denoise", o, registry, log, Device.cpu(), "test-1", 5);
            trainer.start();
            for (int t = 0; t < 10 && trainer.progress().versions() == 0; t++) {
                trainer.offer("sim", t, stream.stabilised(t), null);
            }
            waitForVersion(trainer);
            trainer.stop();

            TrainedModel published = log.records().get(0).getValue().getModel();
            assertEquals("denoise/n2v-unet/1", log.records().get(0).getKey());
            assertEquals("n2v", published.getTraining());
            assertEquals(2, published.getArchitecture().getChannels());
            assertEquals(3, published.getSteps());
            assertTrue(published.getValidationLoss() > 0);
            assertEquals("sim", published.getData().getStreams(0).getStreamId());
            assertTrue(published.getHyperparametersMap().containsKey("learning_rate"));

            TrainedModel decoded = ModelRecord.parseFrom(ModelRecords.of(published).toByteArray()).getModel();
            assertEquals(published, decoded);
            float[] planes = stream.stabilised(20).values();
            try (ServingModel a = registry.load(published); ServingModel b = registry.load(decoded)) {
                assertArrayEquals(a.predict(planes, 32, 32, false).denoised(), b.predict(planes, 32, 32, false).denoised(), 0f);
            }
        }
    }

    @Test
    void trainingWaitsForTheWholeHeldOutSetAndScoresTheBaselineAndVersionsOnIt() throws Exception {
        SimulatedStream stream = new SimulatedStream(32, 2, 2);
        InMemoryModelLog log = new InMemoryModelLog();
        try (ModelRegistry registry = new ModelRegistry("denoise", Device.cpu())) {
            log.subscribe(registry::apply);
            // A learning rate too small to move the network: every version is the classical estimate,
            // so its held-out loss must equal the baseline's, which holds only on the same crops.
            TrainingOptions o = TrainingOptions.defaults().withNetwork(4, 1).withTraining(new TrainingSettings(16, 2, 1e-9, 0.1, 2))
                    .withSchedule(2, 2, 3, 1000, 3).withSampling(32, 1);
            OnlineTrainer trainer = new OnlineTrainer("denoise", o, registry, log, Device.cpu(), "test-1", 5);
            trainer.start();
            // Five crops: the 5th is held out, 4 train (≥ min crops 2), but the held-out set wants 2.
            for (int t = 0; t < 5; t++) {
                trainer.offer("sim", t, stream.stabilised(t), null);
            }
            Thread.sleep(500);
            assertEquals(1, trainer.progress().heldOut());
            assertEquals(OnlineTrainer.State.COLLECTING, trainer.progress().state(), "training started on an incomplete held-out set");
            for (int t = 5; t < 10; t++) {
                trainer.offer("sim", t, stream.stabilised(t), null);
            }
            waitForVersion(trainer);
            trainer.stop();
            OnlineTrainer.Progress p = trainer.progress();
            assertEquals(2, p.heldOut());
            assertEquals(2, log.records().get(0).getValue().getModel().getData().getHeldOutCrops());
            assertEquals(p.bestValidation(), p.validationLoss(), 1e-4 * p.bestValidation(),
                    "an unchanged network scored " + p.validationLoss() + " against the baseline's " + p.bestValidation());
        }
    }

    static void waitForVersion(OnlineTrainer trainer) throws InterruptedException {
        for (int i = 0; i < 600 && trainer.progress().versions() == 0; i++) {
            assertTrue(trainer.progress().state() != OnlineTrainer.State.FAILED, trainer.progress().message());
            Thread.sleep(100);
        }
        assertTrue(trainer.progress().versions() > 0, "no version published: " + trainer.progress());
    }
}
