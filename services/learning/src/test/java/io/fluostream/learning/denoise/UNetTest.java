package io.fluostream.learning.denoise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.Test;

/** The U-Net's shapes and its fold/unfold; a small network so the test stays fast. */
class UNetTest {

    @Test
    void outputHasTheFramesSizeAndTheRequestedChannels() {
        Torch.init();
        // 4 channels × 3 frames in, 4 out; two levels at half resolution → sizes in multiples of 8.
        UNetArchitecture a = new UNetArchitecture(12, 4, 4, 2, 2);
        assertEquals(8, a.sizeMultiple());
        try (NDManager m = NDManager.newBaseManager()) {
            Block net = UNet.build(a);
            net.initialize(m, DataType.FLOAT32, new Shape(1, 12, 8, 8));
            NDArray x = m.randomNormal(new Shape(2, 12, 32, 48));
            NDArray y = net.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow();
            assertEquals(new Shape(2, 4, 32, 48), y.getShape());
        }
    }

    @Test
    void guidedDenoiserTakesTheGuidePlanesAndAddsThemToItsOutput() {
        Torch.init();
        DenoiserDesign d = new DenoiserDesign(2, 1, 4, 1, true);
        // 2 channels × 2 frames, then 2 guide planes.
        assertEquals(6, d.unet().inputChannels());
        assertEquals(4, d.guideOffset());
        try (NDManager m = NDManager.newBaseManager()) {
            Block net = UNet.denoiser(d);
            net.initialize(m, DataType.FLOAT32, new Shape(1, 6, 4, 4));
            NDArray x = m.randomNormal(new Shape(1, 6, 16, 16));
            ParameterStore ps = new ParameterStore(m, false);
            NDArray y = net.forward(ps, new NDList(x), false).singletonOrThrow();
            assertEquals(new Shape(1, 2, 16, 16), y.getShape());
            // Output = U-Net(x) + the guide planes (a learned correction to the classical estimate).
            NDArray u = net.getChildren().get(0).getValue().forward(ps, new NDList(x), false).singletonOrThrow();
            NDArray guide = x.get(new ai.djl.ndarray.index.NDIndex(":, 4:6, :, :"));
            assertArrayEquals(guide.toFloatArray(), y.sub(u).toFloatArray(), 1e-5f);
            // With the output layer zeroed (how training starts) the network is its guide exactly.
            UNet.zeroOutput(net);
            assertArrayEquals(guide.toFloatArray(), net.forward(ps, new NDList(x), false).singletonOrThrow().toFloatArray(), 0f);
        }
    }

    @Test
    void foldedLayersComputeWhatTheDenoiserComputesBetweenFoldAndUnfold() {
        Torch.init();
        DenoiserDesign d = new DenoiserDesign(2, 1, 4, 1, true);
        try (NDManager m = NDManager.newBaseManager()) {
            Block net = UNet.denoiser(d);
            net.initialize(m, DataType.FLOAT32, new Shape(1, 6, 4, 4));
            ParameterStore ps = new ParameterStore(m, false);
            NDArray x = m.randomNormal(new Shape(2, 6, 16, 20));
            NDArray whole = net.forward(ps, new NDList(x), false).singletonOrThrow();
            NDArray u = UNet.fold(x, 2);
            for (Block layer : UNet.foldedLayers(net)) {
                u = layer.forward(ps, new NDList(u), false).singletonOrThrow();
            }
            // Guide planes 4 and 5 fold into planes 16..23.
            u = u.add(UNet.fold(x, 2).get(new ai.djl.ndarray.index.NDIndex(":, 16:24, :, :")));
            assertArrayEquals(whole.toFloatArray(), UNet.unfold(u, 2).toFloatArray(), 1e-5f);
        }
    }

    @Test
    void foldThenUnfoldGivesTheInputBack() {
        Torch.init();
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.arange(2 * 3 * 4 * 6).toType(DataType.FLOAT32, false).reshape(2, 3, 4, 6);
            NDArray folded = UNet.fold(x, 2);
            assertEquals(new Shape(2, 12, 2, 3), folded.getShape());
            // Channel c·4 + dy·2 + dx of the folded array holds pixel (2y+dy, 2x+dx) of channel c.
            assertEquals(x.getFloat(1, 2, 3, 5), folded.getFloat(1, 2 * 4 + 1 * 2 + 1, 1, 2), 0f);
            assertArrayEquals(x.toFloatArray(), UNet.unfold(folded, 2).toFloatArray(), 0f);
            // The serving network's up-sampling: the same values from planar and from channels-last input.
            NDArray channelsLast = m.create(folded.transpose(0, 2, 3, 1).toFloatArray(), new Shape(2, 2, 3, 12))
                    .transpose(0, 3, 1, 2);
            assertArrayEquals(x.toFloatArray(), UNet.unfoldChannelsLast(folded, 2).toFloatArray(), 0f);
            assertArrayEquals(x.toFloatArray(), UNet.unfoldChannelsLast(channelsLast, 2).toFloatArray(), 0f);
        }
    }

    @Test
    void architectureRejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new UNetArchitecture(0, 4, 8, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> new UNetArchitecture(4, 4, 8, 2, 3));
        assertThrows(IllegalArgumentException.class, () -> new DenoiserDesign(4, 5, 16, 2));
    }
}
