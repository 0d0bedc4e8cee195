package io.fluostream.learning.denoise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.google.protobuf.ByteString;
import io.fluostream.proto.NetworkArchitecture;
import io.fluostream.proto.TrainedModel;
import io.fluostream.proto.WeightsFormat;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading a model trained elsewhere from a file: an exported model record serves; a file that is not
 * a model, a TorchScript archive libtorch cannot load, or a model for other channels is refused with
 * the reason, and the model in force keeps serving.
 *
 * <p>No TorchScript module that runs is made here: DJL cannot trace or script a network from Java
 * (its PyTorch engine only loads modules), and no Python/PyTorch is on the build machines. The
 * TorchScript path is exercised up to libtorch's loader and its refusal.
 */
class ModelLoadTest {

    @TempDir
    Path dir;

    private final SimulatedStream stream = new SimulatedStream(32, 2, 20);

    private static TrainedModel untrained(int channels) {
        DenoiserDesign design = new DenoiserDesign(channels, 0, 4, 1);
        try (BlindSpotTrainer t = new BlindSpotTrainer(design, new TrainingSettings(16, 1, 1e-3, 0.1, 2),
                new Normalisation(0f, 1f), Device.cpu(), 3)) {
            return TrainedModel.newBuilder().setStage("denoise").setName("n2v-unet").setVersion(7).setTraining("n2v")
                    .setFormat(WeightsFormat.WEIGHTS_DJL).setWeights(ByteString.copyFrom(t.weights()))
                    .setArchitecture(NetworkArchitecture.newBuilder().setFamily("unet").setChannels(channels).setBaseFeatures(4)
                            .setDepth(1).setFold(2).setInputShift(0f).setInputScale(1f))
                    .build();
        }
    }

    private StreamDenoiser.Result serve(StreamDenoiser d, int t) {
        return d.denoise("sim", t, stream.frame(t).raw(), stream.settings.offsetAdu(), StreamDenoiser.Settings.defaults(),
                FrameHistory.NONE);
    }

    @Test
    void anExportedModelRecordLoadsAsANewVersionAndServes() throws Exception {
        Path file = dir.resolve("denoise.fsmodel");
        Files.write(file, untrained(2).toByteArray());
        try (StreamDenoiser d = StreamDenoiser.standalone("denoise", "test-1")) {
            assertEquals("vst-wavelet", serve(d, 0).method());
            String id = d.load(file, 0, 0, true);
            assertEquals("n2v-unet/1", id, "numbered after the versions on this model log, not the file's");
            assertEquals("n2v-unet/1", serve(d, 1).method());
            assertTrue(d.models().get(0).getNote().contains("denoise.fsmodel"));
        }
    }

    @Test
    void filesThatCannotServeAreRefusedAndTheModelInForceStays() throws Exception {
        try (StreamDenoiser d = StreamDenoiser.standalone("denoise", "test-1")) {
            Path good = dir.resolve("good.fsmodel");
            Files.write(good, untrained(2).toByteArray());
            d.load(good, 0, 0, true);
            assertEquals("n2v-unet/1", serve(d, 0).method());

            Path otherChannels = dir.resolve("four-channels.fsmodel");
            Files.write(otherChannels, untrained(4).toByteArray());
            ModelRefusedException e = assertThrows(ModelRefusedException.class, () -> d.load(otherChannels, 0, 0, true));
            assertTrue(e.getMessage().contains("takes frames of 4 channel(s), the frame has 2"), e.getMessage());

            Path notAModel = dir.resolve("notes.txt");
            Files.writeString(notAModel, "not a model");
            e = assertThrows(ModelRefusedException.class, () -> d.load(notAModel, 2, 0, true));
            assertTrue(e.getMessage().contains("neither a TorchScript archive nor a FluoStream model record"), e.getMessage());

            Path brokenTorchScript = dir.resolve("broken.pt");
            writeZip(brokenTorchScript);
            e = assertThrows(ModelRefusedException.class, () -> d.load(brokenTorchScript, 2, 0, true));
            assertTrue(e.getMessage().contains("cannot load TorchScript model"), e.getMessage());
            assertTrue(e.getMessage().contains("n2v-unet/1 keeps serving"), e.getMessage());

            assertThrows(ModelRefusedException.class, () -> d.load(dir.resolve("missing.pt"), 2, 0, true));

            assertEquals("n2v-unet/1", serve(d, 1).method());
            assertEquals(1, d.models().size(), "nothing refused was published");
        }
    }

    /** A zip archive shaped like a TorchScript file but without the module's code and data. */
    private static void writeZip(Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("model/version"));
            zip.write("3\n".getBytes());
            zip.closeEntry();
        }
    }
}
