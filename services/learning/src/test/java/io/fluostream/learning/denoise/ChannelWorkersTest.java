package io.fluostream.learning.denoise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.denoise.NoiseEstimator;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** Spreading a frame's Java work over threads changes nothing in what comes out. */
class ChannelWorkersTest {

    @Test
    void everyItemRunsOnceOnAWorkerInRange() {
        try (ChannelWorkers w = new ChannelWorkers(3)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(7);
            w.forEach(7, (k, i) -> {
                assertTrue(k >= 0 && k < 3, "worker " + k);
                // Worker k owns items k, k+3, ...: its scratch is never shared.
                assertEquals(i % 3, k);
                runs.incrementAndGet(i);
            });
            for (int i = 0; i < 7; i++) {
                assertEquals(1, runs.get(i), "item " + i);
            }
        }
    }

    @Test
    void aFailureInAHelperReachesTheCaller() {
        try (ChannelWorkers w = new ChannelWorkers(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.forEach(4, (k, i) -> {
                if (i == 3) {
                    throw new IllegalStateException("channel 3 failed");
                }
            }));
            assertEquals("channel 3 failed", e.getMessage());
        }
    }

    @Test
    void twoThreadsServeTheSameFrameAsOne() throws Exception {
        SimulatedStream stream = new SimulatedStream(48, 3, 5);
        DenoiserDesign design = new DenoiserDesign(3, 0, 4, 1, true);
        Normalisation norm = new Normalisation(2f, 3f);
        Image raw = stream.frame(4).raw();
        byte[] weights;
        Torch.useThreads(1);
        try (BlindSpotTrainer t = new BlindSpotTrainer(design, new TrainingSettings(16, 2, 1e-2, 0.1, 2), norm, Device.cpu(), 3)) {
            // A few steps so the output layer is no longer zero: the network's own output matters.
            for (int i = 0; i < 3; i++) {
                t.step(stream.crops(0, 2));
            }
            weights = t.weights();
        }
        try (DenoisingNetwork net = DenoisingNetwork.load(design, norm, weights, Device.cpu());
             ChannelWorkers two = new ChannelWorkers(2)) {
            NoiseEstimator[] estimators = {new NoiseEstimator(NoiseEstimator.DEFAULT_BLOCK_SIZE),
                    new NoiseEstimator(NoiseEstimator.DEFAULT_BLOCK_SIZE)};
            StabilisedFrame serial = StabilisedFrame.of(raw, stream.settings.offsetAdu(),
                    new NoiseEstimator(NoiseEstimator.DEFAULT_BLOCK_SIZE));
            StabilisedFrame parallel = StabilisedFrame.of(raw, stream.settings.offsetAdu(), estimators, two);
            assertArrayEquals(serial.values(), parallel.values(), 0f);

            // One batch of two passes on one thread, or a pass per thread: libtorch may pick another
            // kernel for a batch of one, so the sums may round differently (float32, values of order 1).
            DenoisingNetwork.Prediction a = net.predict(serial.values(), 48, 48, true);
            DenoisingNetwork.Prediction b = net.predict(parallel.values(), 48, 48, true, two);
            assertArrayEquals(a.denoised(), b.denoised(), 1e-5f);
            assertArrayEquals(a.spread(), b.spread(), 1e-5f);
            assertArrayEquals(serial.inverse(b.denoised()).data(), parallel.inverse(b.denoised(), two).data(), 0f);

            // The uncertainty plane: half the distance between the inverses of estimate ± spread.
            int n = b.denoised().length;
            float[] hi = new float[n];
            float[] lo = new float[n];
            for (int i = 0; i < n; i++) {
                hi[i] = b.denoised()[i] + b.spread()[i];
                lo[i] = b.denoised()[i] - b.spread()[i];
            }
            float[] up = serial.inverse(hi).data();
            float[] down = serial.inverse(lo).data();
            float[] u = parallel.spreadInAdu(b.denoised(), b.spread(), two).data();
            for (int i = 0; i < n; i++) {
                assertEquals(0.5f * Math.abs(up[i] - down[i]), u[i], 0f, "pixel " + i);
            }
            // Both in one pass (the serving path): the same planes exactly.
            Image[] both = parallel.inverseWithSpread(b.denoised(), b.spread(), two);
            assertArrayEquals(serial.inverse(b.denoised()).data(), both[0].data(), 0f);
            assertArrayEquals(u, both[1].data(), 0f);
            assertNull(parallel.inverseWithSpread(b.denoised(), null, two)[1]);
        }
    }

    @Test
    void theClassicalMethodOnThreeThreadsServesTheSameFrameAsOnOne() {
        SimulatedStream stream = new SimulatedStream(40, 4, 5);
        try (StreamDenoiser denoiser = StreamDenoiser.standalone("denoise", "test")) {
            StreamDenoiser.Settings one = StreamDenoiser.Settings.defaults();
            StreamDenoiser.Settings three = new StreamDenoiser.Settings(one.classical(), 0, true, 1, 3);
            for (int t = 0; t < 3; t++) {
                Image raw = stream.frame(t).raw();
                StreamDenoiser.Result serial = denoiser.denoise("a", t, raw, stream.settings.offsetAdu(), one, FrameHistory.NONE);
                StreamDenoiser.Result parallel = denoiser.denoise("b", t, raw, stream.settings.offsetAdu(), three, FrameHistory.NONE);
                assertEquals(StreamDenoiser.CLASSICAL_METHOD, parallel.method());
                assertArrayEquals(serial.denoised().data(), parallel.denoised().data(), 0f, "frame " + t);
                assertEquals(serial.noise(), parallel.noise());
                assertEquals(serial.meanNoiseSigmaAdu(), parallel.meanNoiseSigmaAdu(), 0);
            }
            // A bad frame is refused with the same message on any number of threads.
            Image bad = stream.frame(0).raw().copy();
            bad.data()[5] = Float.NaN;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> denoiser.denoise("b", 9, bad, stream.settings.offsetAdu(), three, FrameHistory.NONE));
            assertTrue(e.getMessage().contains("non-finite sample"), e.getMessage());
        }
    }
}
