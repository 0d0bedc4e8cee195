package io.fluostream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.fluostream.denoise.DenoiseKernel;
import io.fluostream.flow.FlowKernel;
import io.fluostream.frames.DeadLetters;
import io.fluostream.frames.FrameImages;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.proto.Shape;
import io.fluostream.rig.SimulatedFrames;
import io.fluostream.stabilise.StabiliseKernel;
import io.fluostream.stage.FrameTopology;
import io.fluostream.stage.StageIdentity;
import io.fluostream.stage.StageKernel;
import io.fluostream.stage.StageRuntime;
import io.fluostream.unmix.UnmixKernel;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Poison input for every stage: a seeded stream of good frames mixed with random and mutated ones
 * (truncated payloads, flipped bits, garbage, huge or zero dimensions, NaN/Inf, wrong channel
 * counts, duplicate and out-of-order sequence numbers, payloads larger than their shape). The stage
 * must not crash or stall, must account for every input exactly once (an output or a dead letter),
 * must give every dead letter a reason, and must keep passing the good frames.
 */
class PoisonFrameFuzzTest {

    private static final int ROUNDS = 160;

    static Stream<Arguments> stages() {
        return Stream.of(
                Arguments.of("denoise", (Supplier<StageKernel>) DenoiseKernel::new, "frames.raw", "frames.denoised"),
                Arguments.of("unmix", (Supplier<StageKernel>) UnmixKernel::new, "frames.denoised", "frames.unmixed"),
                Arguments.of("stabilise", (Supplier<StageKernel>) StabiliseKernel::new, "frames.unmixed", "frames.stabilised"),
                Arguments.of("flow", (Supplier<StageKernel>) FlowKernel::new, "frames.stabilised", "frames.flow"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stages")
    void everyPoisonFrameIsDeadLetteredWithAReasonAndGoodFramesKeepFlowing(String stage, Supplier<StageKernel> kernel,
            String input, String output) throws Exception {
        SimulationSettings settings = SimulationSettings.defaults().withSize(48, 48);
        ForwardModel model = new ForwardModel(settings, 3);
        Map<String, Object> params = stage.equals("unmix")
                ? Map.of("spectra", io.fluostream.imaging.MatrixText.format(model.mixingMatrix())) : Map.of();
        StageRuntime runtime = new StageRuntime(kernel.get(), new StageIdentity(stage, "fuzz", "f"), TopicNames.defaults(),
                new SimpleMeterRegistry(), params);
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "fuzz-" + stage);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("fuzz").toString());

        Random rnd = new Random(20261125L ^ stage.hashCode());
        Map<String, Long> nextSequence = new HashMap<>();
        int good = 0;
        int surelyBad = 0;
        int inputs = 0;
        try (TopologyTestDriver driver = new TopologyTestDriver(FrameTopology.build(runtime), p)) {
            TestInputTopic<String, byte[]> in = driver.createInputTopic(input, Serdes.String().serializer(), Serdes.ByteArray().serializer());
            TestOutputTopic<String, byte[]> out = driver.createOutputTopic(output, Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
            TestOutputTopic<String, byte[]> dlq = driver.createOutputTopic("frames.dlq", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
            List<String> goodKeys = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                String stream = "fuzz/pos" + rnd.nextInt(3);
                long seq = nextSequence.getOrDefault(stream, 0L);
                Frame valid = validInput(stage, model, stream, seq);
                int kind = rnd.nextInt(12);
                byte[] value;
                boolean bad = true;
                switch (kind) {
                    case 0, 1, 2, 3 -> {
                        value = valid.toByteArray();
                        bad = false;
                    }
                    case 4 -> value = truncate(valid.toByteArray(), rnd);
                    case 5 -> {
                        value = flipBits(valid.toByteArray(), rnd);
                        bad = false; // may still be a valid frame: either outcome is fine, but exactly one
                    }
                    case 6 -> {
                        value = new byte[rnd.nextInt(200)];
                        rnd.nextBytes(value);
                        bad = false; // random bytes can parse as an (empty-ish) frame, which is then rejected or not
                    }
                    case 7 -> value = valid.toBuilder().setShape(Shape.newBuilder().setChannels(64).setHeight(16384)
                            .setWidth(16384)).build().toByteArray();
                    case 8 -> value = valid.toBuilder().setShape(valid.getShape().toBuilder().setWidth(0)).build().toByteArray();
                    case 9 -> value = nonFinite(valid, rnd).toByteArray();
                    case 10 -> value = valid.toBuilder().setSequence(Math.max(0, seq - 1 - rnd.nextInt(3))).build().toByteArray();
                    default -> value = valid.toBuilder().setPixels(valid.getPixels().toBuilder()
                            .setInline(valid.getPixels().getInline().concat(ByteString.copyFrom(new byte[4096])))
                            .setEncoding(Encoding.RAW)).build().toByteArray();
                }
                if (kind == 10 && seq == 0) {
                    // No earlier frame yet: a "rewind" to 0 is the stream's first frame.
                    bad = false;
                }
                if (!bad && kind == 0 || kind == 1 || kind == 2 || kind == 3 || (kind == 10 && seq == 0)) {
                    nextSequence.put(stream, seq + 1);
                    good++;
                    goodKeys.add(stream + "#" + seq);
                } else if (bad) {
                    surelyBad++;
                } else {
                    // A mutated frame that happens to be valid advances the stream; keep our count in step.
                    try {
                        Frame f = FrameImages.parse(value);
                        if (f.getStreamId().equals(stream) && f.getSequence() >= seq) {
                            nextSequence.put(stream, f.getSequence() + 1);
                        }
                    } catch (Exception e) {
                        // not a frame
                    }
                }
                in.pipeInput(stream, value);
                inputs++;
            }
            List<TestRecord<String, byte[]>> outputs = out.readRecordsToList();
            List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
            assertEquals(inputs, outputs.size() + dead.size(), "every input accounted for exactly once");
            assertTrue(dead.size() >= surelyBad, dead.size() + " dead letters for " + surelyBad + " surely bad frames");
            for (TestRecord<String, byte[]> d : dead) {
                assertNotNull(DeadLetters.header(d.headers(), DeadLetters.REASON), "reason header");
                assertTrue(DeadLetters.header(d.headers(), DeadLetters.MESSAGE).length() > 5, "a message a user can act on");
                assertEquals(stage, DeadLetters.header(d.headers(), DeadLetters.STAGE));
            }
            List<String> passed = new ArrayList<>();
            for (TestRecord<String, byte[]> o : outputs) {
                Frame f = Frame.parseFrom(o.value());
                passed.add(f.getStreamId() + "#" + f.getSequence());
                FrameImages.image(f); // every output is itself a valid frame
            }
            List<String> deadInfo = new ArrayList<>();
            for (TestRecord<String, byte[]> d : dead) {
                String id = "?";
                try {
                    Frame f = Frame.parseFrom(d.value());
                    id = f.getStreamId() + "#" + f.getSequence();
                } catch (Exception e) {
                    // not a frame
                }
                deadInfo.add(id + ":" + DeadLetters.header(d.headers(), DeadLetters.MESSAGE));
            }
            assertTrue(passed.containsAll(goodKeys), "every good frame came out; missing: "
                    + goodKeys.stream().filter(k -> !passed.contains(k)).toList() + " dead: " + deadInfo);
            assertTrue(good > ROUNDS / 4, "the fuzz mix kept enough good frames: " + good);
        }
    }

    /** A well-formed input for the stage: raw counts for denoise, reconstructions downstream. */
    private static Frame validInput(String stage, ForwardModel model, String stream, long seq) {
        SimulatedFrame sim = model.frame((int) seq);
        Frame raw = SimulatedFrames.toFrame(model, sim, stream, 1, 0);
        Image pixels = switch (stage) {
            case "denoise" -> null;
            case "unmix" -> sim.cleanChannels();
            default -> sim.abundances();
        };
        if (pixels == null) {
            return raw;
        }
        return FrameImages.withImage(raw.toBuilder(), pixels, PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).build();
    }

    private static byte[] truncate(byte[] value, Random rnd) {
        return java.util.Arrays.copyOf(value, rnd.nextInt(Math.max(1, value.length - 1)));
    }

    private static byte[] flipBits(byte[] value, Random rnd) {
        byte[] v = value.clone();
        for (int i = 0; i < 1 + rnd.nextInt(8); i++) {
            v[rnd.nextInt(v.length)] ^= (byte) (1 << rnd.nextInt(8));
        }
        return v;
    }

    private static Frame nonFinite(Frame valid, Random rnd) throws Exception {
        Image im = FrameImages.image(valid);
        im.data()[rnd.nextInt(im.data().length)] = rnd.nextBoolean() ? Float.NaN : Float.POSITIVE_INFINITY;
        return FrameImages.withImage(valid.toBuilder(), im, PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).build();
    }
}
