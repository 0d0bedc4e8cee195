package io.fluostream.stage;

import io.fluostream.frames.DeadLetters;
import io.fluostream.frames.FrameImages;
import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.RecordLimits;
import io.fluostream.imaging.Image;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.Provenance;
import io.fluostream.proto.StreamStatus;
import java.util.Map;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Runs a {@link StageKernel} on every record of the input topic: decode → check the contract →
 * kernel → encode → output topic, or, for a frame that cannot be taken, the original bytes → the
 * dead-letter topic with the reason in headers. Both writes happen in the same exactly-once
 * transaction as the input offset commit, so a frame is never lost or doubled between them.
 */
public final class FrameProcessor implements Processor<String, byte[], String, byte[]> {

    /** Child names in the topology. */
    public static final String OUTPUT = "frames-out";
    public static final String DEAD_LETTERS = "dead-letters";

    private final StageKernel kernel;
    private final StageParameters parameters;
    private final StageMetrics metrics;
    private final StreamLedger ledger;
    private final StageIdentity identity;
    private final boolean stateful;

    private ProcessorContext<String, byte[]> context;
    private KeyValueStore<String, byte[]> ledgerStore;
    private KeyValueStore<String, byte[]> memoryStore;

    public FrameProcessor(StageKernel kernel, StageParameters parameters, StageMetrics metrics, StreamLedger ledger,
                          StageIdentity identity, boolean stateful) {
        this.kernel = kernel;
        this.parameters = parameters;
        this.metrics = metrics;
        this.ledger = ledger;
        this.identity = identity;
        this.stateful = stateful;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        this.context = context;
        this.ledgerStore = context.getStateStore(StreamLedger.storeName(identity.stage()));
        this.memoryStore = stateful ? context.getStateStore(StreamMemory.storeName(identity.stage())) : null;
    }

    @Override
    public void process(Record<String, byte[]> record) {
        long start = System.nanoTime();
        metrics.frameIn();
        try {
            Frame in = FrameImages.parse(record.value());
            FrameImages.checkHeader(in);
            if (record.key() != null && !record.key().equals(in.getStreamId())) {
                throw new FrameRejected(FrameRejected.Reason.BAD_SHAPE,
                        "record key '" + record.key() + "' is not the frame's stream_id '" + in.getStreamId()
                                + "'; producers must key frames by stream id so a stream stays in order");
            }
            StreamStatus last = checkSequence(in);
            Image pixels = FrameImages.image(in);
            ParameterValues params = parameters.current();
            StageOutput out = runKernel(new FrameInput(in, pixels, new StreamMemory(memoryStore, in.getStreamId()), params));
            Frame frame = assemble(in, out, params, start);
            byte[] bytes = frame.toByteArray();
            if (bytes.length > RecordLimits.MAX_RECORD_BYTES) {
                throw new FrameRejected(FrameRejected.Reason.TOO_LARGE, "output frame is " + bytes.length
                        + " bytes, above the " + RecordLimits.MAX_RECORD_BYTES + "-byte record limit");
            }
            context.forward(record.withValue(bytes), OUTPUT);
            recordSequence(in, last);
            metrics.figures(out.figures());
            metrics.frameOut(in.getAcquiredAtUs(), System.nanoTime() - start);
        } catch (FrameRejected e) {
            deadLetter(record, e);
        }
    }

    private StageOutput runKernel(FrameInput input) throws FrameRejected {
        try {
            return kernel.process(input);
        } catch (FrameRejected e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new FrameRejected(FrameRejected.Reason.INCOMPATIBLE, identity.stage() + " cannot take this frame: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new FrameRejected(FrameRejected.Reason.PROCESSING_FAILED, identity.stage() + " failed on this frame: " + e, e);
        }
    }

    /** Rejects a sequence number that does not move past the stream's last frame; returns that frame's entry. */
    private StreamStatus checkSequence(Frame in) throws FrameRejected {
        StreamStatus last = ledger.read(ledgerStore, in.getStreamId());
        if (last != null && Long.compareUnsigned(in.getSequence(), last.getLastSequence()) <= 0) {
            throw new FrameRejected(FrameRejected.Reason.SEQUENCE_NOT_INCREASING, "sequence " + in.getSequence() + " of stream "
                    + in.getStreamId() + " is not after the last one processed (" + last.getLastSequence() + ")");
        }
        return last;
    }

    /**
     * Moves the stream's ledger to a frame that went out, counting the frames a gap skipped. Only
     * frames that went out count: a corrupt frame that a rig sends again intact is then taken.
     */
    private void recordSequence(Frame in, StreamStatus last) {
        long seq = in.getSequence();
        long dropped = last == null ? 0 : seq - last.getLastSequence() - 1;
        if (dropped > 0) {
            metrics.dropped(dropped);
        }
        ledger.write(ledgerStore, StreamStatus.newBuilder()
                .setStreamId(in.getStreamId())
                .setLastSequence(seq)
                .setFrames((last == null ? 0 : last.getFrames()) + 1)
                .setDropped((last == null ? 0 : last.getDropped()) + dropped)
                .build());
    }

    private Frame assemble(Frame in, StageOutput out, ParameterValues params, long startNanos) {
        Frame.Builder b = in.toBuilder();
        if (!out.keepsInputPlanes()) {
            b.clearPlanes();
        }
        Image pixels = out.pixels();
        FrameImages.withImage(b, pixels, out.pixelType(), Encoding.SHUFFLE_ZSTD);
        if (!out.channelNames().isEmpty() || pixels.channels() != in.getShape().getChannels()) {
            b.clearChannelNames().addAllChannelNames(out.channelNames());
        }
        String stage = identity.stage();
        for (Map.Entry<String, Double> f : out.figures().entrySet()) {
            b.putFigures(stage + "." + f.getKey(), f.getValue());
        }
        for (Map.Entry<String, Image> p : out.planes().entrySet()) {
            b.addPlanes(FrameImages.plane(stage + "." + p.getKey(), p.getValue(), Encoding.SHUFFLE_ZSTD));
        }
        long nowUs = System.currentTimeMillis() * 1000;
        b.addProvenance(Provenance.newBuilder()
                .setStage(stage)
                .setVersion(identity.version())
                .setMethod(out.method())
                .setParameterHash(params.hash())
                .setProcessedAtUs(nowUs)
                .setProcessingMs((System.nanoTime() - startNanos) / 1e6)
                .setNote(out.note())
                .setInstance(identity.instance()));
        return b.build();
    }

    private void deadLetter(Record<String, byte[]> record, FrameRejected e) {
        RecordHeaders headers = new RecordHeaders(record.headers().toArray());
        RecordMetadata meta = context.recordMetadata().orElse(null);
        DeadLetters.label(headers, e, identity.stage(),
                meta == null ? "" : meta.topic(), meta == null ? -1 : meta.partition(), meta == null ? -1 : meta.offset());
        context.forward(record.withHeaders(headers), DEAD_LETTERS);
        metrics.rejected(e.reason());
    }
}
