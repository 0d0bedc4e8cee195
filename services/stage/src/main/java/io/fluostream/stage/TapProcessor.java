package io.fluostream.stage;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.FrameRejected;
import io.fluostream.imaging.Image;
import io.fluostream.proto.Frame;
import java.util.HashSet;
import java.util.Set;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.Record;
import org.jboss.logging.Logger;

/**
 * Shows a stage the frames of its tap topic ({@link StageKernel#tap()}): asks
 * {@link StageKernel#observes} first, then decodes and hands the pixels to
 * {@link StageKernel#observe}. Forwards nothing, keeps no store and never dead-letters (the stage
 * that owns the topic does that): a frame it cannot read is skipped, counted in
 * {@code fluostream_stage_tap_skipped_total} and logged once per stream. Its offsets commit with
 * the task's exactly-once transaction like any input's, and nothing it does can fail the task.
 *
 * <p>Claim-checked pixels are resolved as for input frames ({@link FrameImages#image} reads the
 * blob store named by {@code fluostream.blobs.dir}); without the store, or with the blob gone, the
 * frame is skipped and counted.
 */
final class TapProcessor implements Processor<String, byte[], Void, Void> {

    private static final Logger LOG = Logger.getLogger(TapProcessor.class);
    /** Streams whose skipped frames this processor has logged; past this many it stops logging. */
    static final int MAX_LOGGED_STREAMS = 1024;

    private final StageKernel kernel;
    private final StageMetrics metrics;
    private final String tapTopic;
    private final Set<String> logged = new HashSet<>();

    TapProcessor(StageKernel kernel, StageMetrics metrics, String tapTopic) {
        this.kernel = kernel;
        this.metrics = metrics;
        this.tapTopic = tapTopic;
    }

    @Override
    public void process(Record<String, byte[]> record) {
        String stream = record.key();
        try {
            // Frames are keyed by stream id: most frames are passed over on the key alone, unparsed.
            if (stream != null && !kernel.observes(stream)) {
                return;
            }
            Frame frame = FrameImages.parse(record.value());
            FrameImages.checkHeader(frame);
            if (stream == null) {
                stream = frame.getStreamId();
                if (!kernel.observes(stream)) {
                    return;
                }
            } else if (!stream.equals(frame.getStreamId())) {
                throw new FrameRejected(FrameRejected.Reason.BAD_SHAPE, "record key '" + stream
                        + "' is not the frame's stream_id '" + frame.getStreamId() + "'");
            }
            Image pixels = FrameImages.image(frame);
            kernel.observe(stream, pixels);
            metrics.tapObserved();
        } catch (FrameRejected | RuntimeException e) {
            skip(stream, e);
        }
    }

    private void skip(String stream, Exception e) {
        metrics.tapSkipped();
        String key = String.valueOf(stream);
        if (logged.size() < MAX_LOGGED_STREAMS && logged.add(key)) {
            LOG.warnf("%s skipped a frame of stream %s on %s (it only observes this topic, so nothing is lost"
                    + " downstream; further skips of this stream are only counted in"
                    + " fluostream_stage_tap_skipped_total): %s", kernel.stage(), key, tapTopic,
                    e instanceof FrameRejected ? e.getMessage() : e.toString());
        }
    }
}
