package io.fluostream.producer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.FrameRejected;
import io.fluostream.imaging.Image;
import io.fluostream.proto.Acquisition;
import io.fluostream.proto.Channel;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** Keys, sequence numbers, metadata and checks of the frame producer, on Kafka's MockProducer. */
class FrameProducerTest {

    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00.123456Z");
    private static final Acquisition ACQ = Acquisition.newBuilder().setPixelSizeUm(0.108).setExposureMs(20)
            .addChannels(Channel.newBuilder().setName("GFP").setEmissionNm(510))
            .addChannels(Channel.newBuilder().setName("mCherry").setEmissionNm(610)).build();

    private final MockProducer<String, byte[]> kafka = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    private final FrameProducer producer = new FrameProducer(kafka, "frames.raw", Encoding.SHUFFLE_ZSTD,
            Clock.fixed(NOW, ZoneOffset.UTC));

    private static Frame frame(ProducerRecord<String, byte[]> r) throws FrameRejected {
        return FrameImages.parse(r.value());
    }

    @Test
    void framesAreKeyedByStreamAndNumberedPerStreamFromZero() throws Exception {
        FrameStream a = producer.stream("rig1/cam0/pos0", ACQ);
        FrameStream b = producer.stream("rig1/cam0/pos1", ACQ);
        short[] px = new short[2 * 4 * 3];
        a.send(px, 2, 4, 3);
        b.send(px, 2, 4, 3);
        a.send(px, 2, 4, 3);
        Published last = a.send(px, 2, 4, 3).get();
        List<ProducerRecord<String, byte[]>> sent = kafka.history();
        assertEquals(List.of("rig1/cam0/pos0", "rig1/cam0/pos1", "rig1/cam0/pos0", "rig1/cam0/pos0"),
                sent.stream().map(ProducerRecord::key).toList());
        assertEquals(List.of(0L, 0L, 1L, 2L), sent.stream().map(r -> {
            try {
                return frame(r).getSequence();
            } catch (FrameRejected e) {
                throw new AssertionError(e);
            }
        }).toList());
        for (ProducerRecord<String, byte[]> r : sent) {
            assertEquals("frames.raw", r.topic());
            assertEquals(r.key(), frame(r).getStreamId(), "key = stream id");
        }
        assertEquals(2, last.sequence());
        assertEquals(3, a.nextSequence());
    }

    @Test
    void aStreamCanContinueFromAGivenSequence() throws Exception {
        FrameStream s = producer.stream("rig1/cam0/pos0", ACQ, 1200);
        s.send(new float[6], 1, 2, 3).get();
        assertEquals(1200, frame(kafka.history().get(0)).getSequence());
        assertEquals(1201, s.nextSequence());
    }

    @Test
    void framesCarryTimeShapeMetadataAndExactPixels() throws Exception {
        FrameStream s = producer.stream("rig1/cam0/pos0", ACQ);
        short[] px = new short[2 * 3 * 4];
        for (int i = 0; i < px.length; i++) {
            px[i] = (short) (65535 - 1000 * i); // above 32767: unsigned samples in Java shorts
        }
        s.send(px, 2, 3, 4);
        s.send(px, 2, 3, 4, 1_700_000_000_000_000L);
        Frame f = frame(kafka.history().get(0));
        assertEquals(NOW.getEpochSecond() * 1_000_000 + 123_456, f.getAcquiredAtUs(), "now from the clock, in microseconds");
        assertEquals(1_700_000_000_000_000L, frame(kafka.history().get(1)).getAcquiredAtUs());
        assertEquals(1_700_000_000_000L, kafka.history().get(1).timestamp(), "record timestamp = acquisition time (ms)");
        assertEquals(PixelType.UINT16, f.getPixelType());
        assertEquals(List.of(2, 3, 4), List.of(f.getShape().getChannels(), f.getShape().getHeight(), f.getShape().getWidth()));
        assertEquals(ACQ, f.getAcquisition());
        assertEquals(List.of("GFP", "mCherry"), f.getChannelNamesList());
        float[] decoded = FrameImages.image(f).data();
        for (int i = 0; i < px.length; i++) {
            assertEquals(px[i] & 0xFFFF, decoded[i], 0);
        }
    }

    @Test
    void floatUint8AndImageSendsKeepTheirType() throws Exception {
        FrameStream s = producer.stream("s");
        s.send(new float[] {1.5f, -2f}, 1, 1, 2);
        s.send(new byte[] {(byte) 200, 7}, 1, 1, 2);
        s.send(new Image(1, 1, 2, new float[] {3.25f, 4f}));
        s.send(new Image(1, 1, 2, new float[] {70000f, 12.6f}), PixelType.UINT16, 5);
        List<Frame> f = kafka.history().stream().map(r -> {
            try {
                return frame(r);
            } catch (FrameRejected e) {
                throw new AssertionError(e);
            }
        }).toList();
        assertEquals(List.of(PixelType.FLOAT32, PixelType.UINT8, PixelType.FLOAT32, PixelType.UINT16),
                f.stream().map(Frame::getPixelType).toList());
        assertArrayEquals(new float[] {1.5f, -2f}, FrameImages.image(f.get(0)).data());
        assertArrayEquals(new float[] {200, 7}, FrameImages.image(f.get(1)).data());
        assertArrayEquals(new float[] {3.25f, 4f}, FrameImages.image(f.get(2)).data());
        assertArrayEquals(new float[] {65535, 13}, FrameImages.image(f.get(3)).data(), "rounded and clipped to uint16");
        assertTrue(f.get(0).getChannelNamesList().isEmpty(), "no names without acquisition channels");
    }

    @Test
    void aShapeThatDoesNotMatchThePixelsSaysSoAndUsesNoSequenceNumber() {
        FrameStream s = producer.stream("s");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.send(new short[100], 4, 16, 16));
        assertTrue(e.getMessage().contains("100 samples") && e.getMessage().contains("needs 1024"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.send(new short[0], 0, 16, 16));
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
                () -> s.send(new float[] {1, Float.NaN}, 1, 1, 2));
        assertTrue(nan.getMessage().contains("sample 1"), nan.getMessage());
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                () -> s.send(new byte[20_000 * 2], 1, 2, 20_000));
        assertTrue(big.getMessage().contains("exceeds the limits"), big.getMessage());
        assertEquals(0, s.nextSequence());
        assertEquals(0, kafka.history().size());
    }

    @Test
    void aSendTheBrokerRefusesFailsItsFuture() {
        MockProducer<String, byte[]> manual = new MockProducer<>(false, null, new StringSerializer(), new ByteArraySerializer());
        FrameProducer p = new FrameProducer(manual, "frames.raw", Encoding.RAW, Clock.systemUTC());
        FrameStream s = p.stream("s");
        CompletableFuture<Published> ok = s.send(new short[4], 1, 2, 2);
        CompletableFuture<Published> refused = s.send(new short[4], 1, 2, 2);
        manual.completeNext();
        manual.errorNext(new KafkaException("not enough replicas"));
        assertTrue(ok.isDone() && !ok.isCompletedExceptionally());
        ExecutionException e = assertThrows(ExecutionException.class, refused::get);
        assertTrue(e.getCause().getMessage().contains("not enough replicas"));
        assertEquals(2, s.nextSequence(), "a frame that left and was lost is a gap, counted downstream as dropped");
    }

    @Test
    void aStreamIdCanBeOpenedOnceAndAClosedProducerRefusesFrames() {
        producer.stream("s");
        assertThrows(IllegalStateException.class, () -> producer.stream("s"));
        FrameStream other = producer.stream("t");
        producer.close();
        assertTrue(kafka.closed());
        assertThrows(IllegalStateException.class, () -> other.send(new short[1], 1, 1, 1));
    }

    @Test
    void theKafkaProducerIsIdempotentWithAcksAllAndTheFrameRecordLimits() {
        Map<String, Object> c = FrameProducer.builder("broker:9092").optConfig("client.id", "mm-plugin").config();
        assertEquals(true, c.get("enable.idempotence"));
        assertEquals("all", c.get("acks"));
        assertEquals("mm-plugin", c.get("client.id"));
        assertTrue((Integer) c.get("max.request.size") > 64 * 1024 * 1024);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FrameProducer.builder("broker:9092").optConfig("acks", "1"));
        assertTrue(e.getMessage().contains("acks"));
    }
}
