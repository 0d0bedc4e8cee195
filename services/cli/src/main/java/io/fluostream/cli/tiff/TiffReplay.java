package io.fluostream.cli.tiff;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.RecordLimits;
import io.fluostream.producer.FrameProducer;
import io.fluostream.producer.FrameStream;
import io.fluostream.producer.Published;
import io.fluostream.proto.Acquisition;
import io.fluostream.proto.Channel;
import io.fluostream.proto.PixelType;
import io.fluostream.tiff.ChannelInfo;
import io.fluostream.tiff.StackLayout;
import io.fluostream.tiff.StackMetadata;
import io.fluostream.tiff.TiffFormatException;
import io.fluostream.tiff.TiffStack;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Publishes a TIFF stack as a stream: each time point becomes one frame (channels × height ×
 * width, pixels as in the file) with the file's acquisition metadata, keyed by the stream id and
 * numbered in order. The file is checked completely ({@link TiffStack#open}) before the first frame
 * goes out. Acquisition time is the moment of publishing, so the pipeline's latency figures mean
 * what they say for replayed data; the file's own timing stays in the metadata (frame interval).
 */
public final class TiffReplay {

    /** The outcome: frames acknowledged by the broker, and the error that stopped the replay early, if any. */
    public record Outcome(int published, int timePoints, long firstSequence, String failure) {

        public boolean complete() {
            return failure == null;
        }
    }

    private final TiffStack stack;

    private TiffReplay(TiffStack stack) {
        this.stack = stack;
    }

    /**
     * Opens and checks the file for replay; throws {@link TiffFormatException} for anything that
     * cannot become frames (including Z stacks: frames are 2-D).
     */
    public static TiffReplay open(java.nio.file.Path file, TiffStack.Options options) throws IOException {
        TiffStack stack = TiffStack.open(file, options);
        try {
            StackLayout l = stack.layout();
            if (l.sizeZ() > 1) {
                throw new TiffFormatException(file.getFileName() + " has " + l.sizeZ() + " z planes per time point; FluoStream "
                        + "frames are 2-D. Make a projection (Fiji: Image > Stacks > Z Project, max intensity) or keep one "
                        + "plane (Image > Stacks > Tools > Make Substack), save, and replay that");
            }
            if (l.sizeC() > FrameImages.MAX_CHANNELS || l.height() > FrameImages.MAX_SIDE || l.width() > FrameImages.MAX_SIDE) {
                throw new TiffFormatException(l + " exceeds the frame limits (" + FrameImages.MAX_CHANNELS + " channels, "
                        + FrameImages.MAX_SIDE + " px a side)");
            }
            if (l.timePointBytes() > RecordLimits.MAX_RECORD_BYTES) {
                throw new TiffFormatException(String.format("one time point is %.1f MiB, above the %d MiB record limit; bin or "
                        + "crop the stack", l.timePointBytes() / 1048576.0, RecordLimits.MAX_RECORD_BYTES >> 20));
            }
            return new TiffReplay(stack);
        } catch (IOException | RuntimeException e) {
            stack.close();
            throw e;
        }
    }

    public TiffStack stack() {
        return stack;
    }

    /** The acquisition metadata every frame carries. */
    public Acquisition acquisition(double fps) {
        StackMetadata m = stack.metadata();
        Acquisition.Builder a = Acquisition.newBuilder()
                .setPixelSizeUm(m.pixelSizeUm())
                .setExposureMs(m.exposureMs())
                .setFrameIntervalS(m.frameIntervalS() > 0 ? m.frameIntervalS() : fps > 0 ? 1 / fps : 0)
                .setInstrument("fluostream replay")
                .putAllExtra(m.extra());
        List<ChannelInfo> channels = m.channels();
        for (int c = 0; c < stack.layout().sizeC(); c++) {
            ChannelInfo ch = c < channels.size() ? channels.get(c) : ChannelInfo.named("");
            a.addChannels(Channel.newBuilder().setName(ch.name().isEmpty() ? "ch" + c : ch.name())
                    .setExcitationNm(ch.excitationNm()).setEmissionNm(ch.emissionNm()));
        }
        return a.build();
    }

    /**
     * Publishes every time point at {@code fps} (0 = as fast as the broker takes them), each frame
     * carrying {@code acquisition} (see {@link #acquisition}), and waits for the broker's
     * acknowledgements. A page that cannot be decoded stops the replay; the
     * outcome says how many frames went out before it.
     */
    public Outcome publish(FrameProducer producer, String streamId, Acquisition acquisition, long firstSequence, double fps,
                           Consumer<String> progress) {
        StackLayout l = stack.layout();
        PixelType type = switch (l.type()) {
            case UINT8 -> PixelType.UINT8;
            case UINT16 -> PixelType.UINT16;
            case FLOAT32 -> PixelType.FLOAT32;
        };
        FrameStream stream = producer.stream(streamId, acquisition, firstSequence);
        List<CompletableFuture<Published>> sent = new ArrayList<>();
        String failure = null;
        long start = System.nanoTime();
        for (int t = 0; t < l.sizeT(); t++) {
            if (fps > 0) {
                pace(start, t, fps);
            }
            byte[] samples;
            try {
                samples = stack.timePoint(t, 0);
            } catch (IOException e) {
                failure = "time point " + t + " cannot be read: " + e.getMessage();
                break;
            }
            try {
                sent.add(stream.sendSamples(type, samples, l.sizeC(), l.height(), l.width(), nowUs()));
            } catch (RuntimeException e) {
                failure = "time point " + t + " could not be sent: " + e.getMessage();
                break;
            }
            if (progress != null && (t + 1) % 50 == 0) {
                progress.accept("replay: " + (t + 1) + "/" + l.sizeT() + " time points sent");
            }
        }
        producer.flush();
        int acknowledged = 0;
        for (CompletableFuture<Published> f : sent) {
            try {
                f.join();
                acknowledged++;
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = "the broker did not take frame " + (firstSequence + acknowledged) + ": "
                            + (e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
                }
            }
        }
        return new Outcome(acknowledged, l.sizeT(), firstSequence, failure);
    }

    private static void pace(long startNanos, int t, double fps) {
        long due = startNanos + (long) (t * 1e9 / fps);
        long wait = due - System.nanoTime();
        if (wait > 0) {
            try {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static long nowUs() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
    }
}
