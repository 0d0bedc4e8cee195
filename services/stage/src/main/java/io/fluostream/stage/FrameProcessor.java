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
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.PunctuationType;
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
 *
 * <p>Frames of a paused stream ({@link ControlState}) are parked in a store ({@link ParkedFrames}),
 * also in that transaction, and released in arrival order once the stream is resumed; frames of
 * that stream that arrive while older ones are still parked are parked behind them.
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
    private final ControlState control;
    private final String inputTopic;

    /**
     * Share of the heap ({@code -Xmx}) a frame's {@link StageKernel#workingBytes} may take; the rest
     * is for the frames Kafka has fetched and buffered, the encoded output and the service itself.
     */
    public static final double HEAP_SHARE = 0.6;

    /** How often a task looks for resumed streams, and how many parked frames it releases each time. */
    static final Duration RELEASE_INTERVAL = Duration.ofMillis(200);
    static final int RELEASE_BATCH = 8;

    private ProcessorContext<String, byte[]> context;
    private KeyValueStore<String, byte[]> ledgerStore;
    private KeyValueStore<String, byte[]> memoryStore;
    private ParkedFrames parked;

    /** A processor with its own control state (nothing paused), for tests of a kernel alone. */
    public FrameProcessor(StageKernel kernel, StageParameters parameters, StageMetrics metrics, StreamLedger ledger,
                          StageIdentity identity, boolean stateful) {
        this(kernel, parameters, metrics, ledger, identity, stateful, new ControlState(), kernel.input().defaultName());
    }

    FrameProcessor(StageKernel kernel, StageParameters parameters, StageMetrics metrics, StreamLedger ledger,
                   StageIdentity identity, boolean stateful, ControlState control, String inputTopic) {
        this.kernel = kernel;
        this.parameters = parameters;
        this.metrics = metrics;
        this.ledger = ledger;
        this.identity = identity;
        this.stateful = stateful;
        this.control = control;
        this.inputTopic = inputTopic;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        this.context = context;
        this.ledgerStore = context.getStateStore(StreamLedger.storeName(identity.stage()));
        this.memoryStore = stateful ? context.getStateStore(StreamMemory.storeName(identity.stage())) : null;
        this.parked = new ParkedFrames(context.getStateStore(ParkedFrames.storeName(identity.stage())), control);
        // A restarted replica must know what is paused before it takes a frame.
        control.awaitReplay();
        context.schedule(RELEASE_INTERVAL, PunctuationType.WALL_CLOCK_TIME, now -> releaseResumed());
    }

    @Override
    public void close() {
        if (parked != null) {
            parked.forget();
        }
    }

    @Override
    public void process(Record<String, byte[]> record) {
        metrics.frameIn();
        RecordMetadata meta = context.recordMetadata().orElse(null);
        long offset = meta == null ? -1 : meta.offset();
        String stream = record.key();
        // (A record without a value is not a frame: it goes straight to its rejection below.)
        if (stream != null && record.value() != null && (control.streamPaused(stream) || parked.holds(stream))) {
            if (parked.fits(stream, record.value().length, control.maxParkedBytes())) {
                parked.park(stream, offset, record.timestamp(), record.value());
            } else {
                deadLetter(record, new FrameRejected(FrameRejected.Reason.PARKED_LIMIT, "stream " + stream
                        + " is paused and already holds " + parked.bytes(stream) + " bytes of frames on this replica"
                        + " (fluostream.control.max-parked-bytes = " + control.maxParkedBytes()
                        + "); resume the stream, and replay this frame from the dead-letter topic if it is needed"),
                        meta == null ? -1 : meta.partition(), offset);
            }
            return;
        }
        take(record, meta == null ? -1 : meta.partition(), offset);
    }

    /** Releases, oldest first, the parked frames of streams that are no longer paused. */
    private void releaseResumed() {
        if (control.stagePaused()) {
            return;
        }
        for (String stream : parked.streams()) {
            if (control.streamPaused(stream)) {
                continue;
            }
            for (ParkedFrames.Parked p : parked.oldest(stream, RELEASE_BATCH)) {
                parked.release(p);
                int partition = context.taskId().partition();
                take(new Record<>(p.streamId(), p.value(), p.timestamp()), partition, p.offset());
            }
        }
    }

    private void take(Record<String, byte[]> record, int partition, long offset) {
        long start = System.nanoTime();
        try {
            Frame in = FrameImages.parse(record.value());
            FrameImages.checkHeader(in);
            if (record.key() != null && !record.key().equals(in.getStreamId())) {
                throw new FrameRejected(FrameRejected.Reason.BAD_SHAPE,
                        "record key '" + record.key() + "' is not the frame's stream_id '" + in.getStreamId()
                                + "'; producers must key frames by stream id so a stream stays in order");
            }
            StreamStatus last = checkSequence(in);
            ParameterValues params = parameters.current();
            checkHeap(in, params, Runtime.getRuntime().maxMemory());
            Image pixels = FrameImages.image(in);
            StageOutput out;
            control.kernelLock().lock();
            try {
                out = runKernel(new FrameInput(in, pixels, new StreamMemory(memoryStore, in.getStreamId()), params));
            } finally {
                control.kernelLock().unlock();
            }
            Frame frame = assemble(in, out, params, start);
            byte[] bytes = frame.toByteArray();
            if (bytes.length > RecordLimits.MAX_RECORD_BYTES) {
                throw new FrameRejected(FrameRejected.Reason.TOO_LARGE, "output frame is " + bytes.length
                        + " bytes, above the " + RecordLimits.MAX_RECORD_BYTES + "-byte record limit");
            }
            context.forward(record.withValue(bytes), OUTPUT);
            recordSequence(in, last);
            metrics.figures(out.figures());
            metrics.method(out.method());
            metrics.frameOut(in.getAcquiredAtUs(), System.nanoTime() - start);
        } catch (FrameRejected e) {
            deadLetter(record, e, partition, offset);
        }
    }

    /** Rejects, before decoding, a frame whose reconstruction would not fit in {@code heapBytes}. */
    void checkHeap(Frame in, ParameterValues params, long heapBytes) throws FrameRejected {
        long c = in.getShape().getChannels();
        long h = in.getShape().getHeight();
        long w = in.getShape().getWidth();
        long needed = kernel.workingBytes(c, h, w, params);
        if (needed > HEAP_SHARE * heapBytes) {
            throw new FrameRejected(FrameRejected.Reason.TOO_LARGE, String.format(java.util.Locale.ROOT,
                    "%s needs about %d MiB of heap for a %dx%dx%d frame but has %d MiB (-Xmx), of which it"
                            + " gives one frame at most %.0f %%; raise the heap to at least %d MiB"
                            + " (FLUOSTREAM_STAGE_HEAP, or -Xmx in JAVA_OPTS)",
                    identity.stage(), needed >> 20, c, h, w, heapBytes >> 20, HEAP_SHARE * 100,
                    ((long) Math.ceil(needed / HEAP_SHARE) + (1 << 20) - 1) >> 20));
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

    private void deadLetter(Record<String, byte[]> record, FrameRejected e, int partition, long offset) {
        RecordHeaders headers = new RecordHeaders(record.headers().toArray());
        RecordMetadata meta = context.recordMetadata().orElse(null);
        String topic = meta == null ? null : meta.topic();
        if (topic == null || topic.isEmpty()) {
            // A released parked frame: it came from this task's input partition.
            topic = inputTopic;
        }
        DeadLetters.label(headers, e, identity.stage(), topic, partition, offset);
        context.forward(record.withHeaders(headers), DEAD_LETTERS);
        metrics.rejected(e.reason());
    }
}
