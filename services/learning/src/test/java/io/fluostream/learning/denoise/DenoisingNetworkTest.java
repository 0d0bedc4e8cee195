package io.fluostream.learning.denoise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The serving path (folding and padding in Java, passes on threads) computes the network's answer. */
class DenoisingNetworkTest {

    /**
     * The serving path (channels-last input and network, folding and padding in Java, passes on
     * threads) against the planar training network run by hand on the padded frame: a context
     * frame and one level down, and the default shape (two levels down, so padding to 8).
     */
    @Test
    void predictionIsTheDenoiserOnTheNormalisedReflectPaddedFrame() throws Exception {
        check(new DenoiserDesign(2, 1, 4, 1, true), 18, 22, 20, 24);
        check(new DenoiserDesign(3, 0, 8, 2, true), 21, 30, 24, 32);
    }

    private static void check(DenoiserDesign design, int h, int w, int hp, int wp) throws Exception {
        Torch.useThreads(1);
        Normalisation norm = new Normalisation(1.5f, 2f);
        int cin = design.unet().inputChannels();
        SplittableRandom r = new SplittableRandom(4);
        float[] planes = new float[design.channels() * design.frames() * h * w];
        for (int i = 0; i < planes.length; i++) {
            planes[i] = (float) (3 + r.nextGaussian());
        }
        byte[] weights;
        try (BlindSpotTrainer t = new BlindSpotTrainer(design, new TrainingSettings(8, 2, 1e-2, 0.1, 2), norm, Device.cpu(), 9)) {
            TrainingCrop crop = new TrainingCrop("s", 0, design.frames(), design.channels(), h, w, planes, null);
            for (int i = 0; i < 3; i++) {
                t.step(java.util.List.of(crop));
            }
            weights = t.weights();
        }
        // By hand: the guide planes after the frames, normalise, reflect-pad, the whole denoiser, crop.
        float[] withGuide = java.util.Arrays.copyOf(planes, cin * h * w);
        new ClassicalGuide().compute(planes, 0, design.channels(), h, w, withGuide, design.guideOffset() * h * w);
        float[] input = new float[2 * cin * hp * wp];
        for (int pass = 0; pass < 2; pass++) {
            for (int p = 0; p < cin; p++) {
                for (int y = 0; y < hp; y++) {
                    for (int x = 0; x < wp; x++) {
                        int sx = DenoisingNetwork.reflect(x, w);
                        sx = pass == 1 ? w - 1 - sx : sx;
                        input[((pass * cin + p) * hp + y) * wp + x] = norm.in(withGuide[(p * h + DenoisingNetwork.reflect(y, h)) * w + sx]);
                    }
                }
            }
        }
        float[] expected;
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Block block = UNet.denoiser(design);
            block.initialize(m, DataType.FLOAT32, new Shape(1, cin, design.unet().sizeMultiple(), design.unet().sizeMultiple()));
            block.loadParameters(m, new DataInputStream(new ByteArrayInputStream(weights)));
            NDArray y = block.forward(new ParameterStore(m, false), new NDList(m.create(input, new Shape(2, cin, hp, wp))), false)
                    .singletonOrThrow();
            expected = y.toFloatArray();
        }
        try (DenoisingNetwork net = DenoisingNetwork.load(design, norm, weights, Device.cpu());
             ChannelWorkers two = new ChannelWorkers(2)) {
            for (ChannelWorkers workers : new ChannelWorkers[] {ChannelWorkers.SERIAL, two}) {
                DenoisingNetwork.Prediction got = net.predict(planes, h, w, true, workers);
                DenoisingNetwork.Prediction single = net.predict(planes, h, w, false, workers);
                assertNull(single.spread());
                for (int c = 0; c < design.channels(); c++) {
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w; x++) {
                            float a = norm.out(expected[(c * hp + y) * wp + x]);
                            float b = norm.out(expected[((design.channels() + c) * hp + y) * wp + (w - 1 - x)]);
                            int i = (c * h + y) * w + x;
                            assertEquals(0.5f * (a + b), got.denoised()[i], 1e-4f, "mean at " + c + "," + y + "," + x);
                            assertEquals(0.5f * Math.abs(a - b), got.spread()[i], 1e-4f, "spread at " + c + "," + y + "," + x);
                            assertEquals(a, single.denoised()[i], 1e-4f, "single pass at " + c + "," + y + "," + x);
                        }
                    }
                }
            }
        }
    }
}
