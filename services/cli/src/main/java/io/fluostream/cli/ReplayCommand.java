package io.fluostream.cli;

import io.fluostream.cli.tiff.TiffReplay;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.producer.FrameProducer;
import io.fluostream.tiff.StackLayout;
import io.fluostream.tiff.TiffStack;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./fluostream replay}: publish a microscope file (multi-page TIFF, ImageJ hyperstack,
 * OME-TIFF) as a stream of frames. The whole file is checked before the first frame goes out; a
 * file that breaks midway reports how many frames were published.
 */
@Command(name = "replay", mixinStandardHelpOptions = true,
        description = {"Publish a TIFF / OME-TIFF time-lapse as one stream of frames (one frame per time point).",
                "Exit 0: all published; 1: stopped midway (the message says how many frames went out); "
                        + "2: the file was refused, nothing published."})
final class ReplayCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--input", required = true, description = "The .tif / .tiff / .ome.tif file.")
    Path input;

    @Option(names = "--stream", required = true, description = "Stream id of the frames, e.g. rig1/cam0/pos0 (also the Kafka key).")
    String stream;

    @Option(names = "--fps", description = "Frames per second; 0 = as fast as possible (default ${DEFAULT-VALUE}).")
    double fps = 0;

    @Option(names = "--bootstrap", description = "Kafka bootstrap servers (default ${DEFAULT-VALUE}, the broker of ./fluostream up).")
    String bootstrap = "localhost:9092";

    @Option(names = "--topic", description = "Topic key (raw, denoised, ...) or full name (default ${DEFAULT-VALUE}).")
    String topic = Topic.RAW.key();

    @Option(names = "--channels", description = "For a stack without metadata: channels per time point (pages T x C, "
            + "channel fastest). Files with OME or ImageJ metadata say this themselves.")
    int channels = 0;

    @Option(names = "--series", description = "Which OME series (Image) to replay when the file holds several (default ${DEFAULT-VALUE}).")
    int series = 0;

    @Option(names = "--camera-offset", description = "Camera offset (dark level) in ADU, when the file does not say; "
            + "the denoise stage estimates it from the data otherwise.")
    double cameraOffset = 0;

    @Option(names = "--camera-gain", description = "Camera gain in ADU per electron, when known.")
    double cameraGain = 0;

    @Option(names = "--first-sequence", description = "Sequence number of the first frame (default ${DEFAULT-VALUE}); "
            + "to continue a stream, one more than its last.")
    long firstSequence = 0;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (fps < 0 || channels < 0 || series < 0 || firstSequence < 0 || cameraOffset < 0 || cameraGain < 0) {
            err.println("replay: --fps, --channels, --series, --first-sequence and the camera figures must not be negative");
            return 2;
        }
        String topicName = topicName(topic);
        TiffReplay replay;
        try {
            replay = TiffReplay.open(input, new TiffStack.Options(channels, series));
        } catch (NoSuchFileException e) {
            err.println("replay: no such file: " + input);
            return 2;
        } catch (IOException e) {
            err.println("replay: " + e.getMessage());
            err.println("replay: nothing was published");
            return 2;
        }
        try (TiffStack stack = replay.stack()) {
            StackLayout l = stack.layout();
            out.println("replay: " + input.getFileName() + " (" + stack.metadata().extra().getOrDefault("tiff.format", "tiff")
                    + "): " + l + (stack.seriesCount() > 1 ? "; series " + series + " of " + stack.seriesCount() : ""));
            out.println("replay: publishing to " + topicName + " on " + bootstrap + " as stream " + stream
                    + (fps > 0 ? " at " + fps + " fps" : " as fast as possible"));
            out.flush();
            TiffReplay.Outcome o;
            try (FrameProducer producer = FrameProducer.builder(bootstrap).optTopic(topicName).build()) {
                o = replay.publish(producer, stream, replay.acquisition(fps).toBuilder()
                        .setCameraOffsetAdu(cameraOffset).setCameraGainAduPerElectron(cameraGain).build(), firstSequence, fps, s -> {
                    out.println(s);
                    out.flush();
                });
            }
            if (!o.complete()) {
                err.println("replay: stopped: " + o.failure());
                err.println("replay: " + o.published() + " of " + o.timePoints() + " frames went out"
                        + (o.published() > 0 ? " (sequences " + o.firstSequence() + ".." + (o.firstSequence() + o.published() - 1)
                        + "); to publish the rest after fixing the file, replay a copy without those time points with "
                        + "--first-sequence " + (o.firstSequence() + o.published()) : ""));
                if (o.published() == 0) {
                    err.println("replay: is the broker running at " + bootstrap + " (./fluostream up) and does topic "
                            + topicName + " exist?");
                }
                return 1;
            }
            out.println("replay: published " + o.published() + " frames (sequences " + o.firstSequence() + ".."
                    + (o.firstSequence() + o.published() - 1) + ") of stream " + stream + " to " + topicName);
            return 0;
        } catch (IOException e) {
            err.println("replay: " + e.getMessage());
            return 1;
        }
    }

    /** A topic key ("raw", "flow", ...) or a full topic name. */
    static String topicName(String keyOrName) {
        try {
            return TopicNames.defaults().name(Topic.byKey(keyOrName));
        } catch (IllegalArgumentException e) {
            return keyOrName;
        }
    }
}
