package io.fluostream.stage;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;

/**
 * The graph every stage has: input topic → the stage's {@link FrameProcessor} → output topic, and
 * → the dead-letter topic for frames it cannot take. Stores: the stream ledger, frames parked for
 * paused streams, and (stateful stages) stream memory. A stage with a tap ({@link StageKernel#tap()})
 * also has tap topic → {@link TapProcessor}, which writes nothing and keeps no store. Node and store
 * names are fixed so changelog topic names stay stable across releases.
 */
public final class FrameTopology {

    /** Source node of the tap topic, for a stage that has one ({@link StageKernel#tap()}). */
    public static final String TAP_SOURCE = "tap-in";

    private FrameTopology() {
    }

    public static Topology build(StageRuntime stage) {
        String name = stage.identity().stage();
        Topology t = new Topology();
        t.addSource("frames-in", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), stage.inputTopic());
        t.addProcessor(name, stage::newProcessor, "frames-in");
        t.addStateStore(StreamLedger.store(name), name);
        t.addStateStore(ParkedFrames.store(name), name);
        if (stage.stateful()) {
            t.addStateStore(StreamMemory.store(name), name);
        }
        t.addSink(FrameProcessor.OUTPUT, stage.outputTopic(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), name);
        t.addSink(FrameProcessor.DEAD_LETTERS, stage.deadLetterTopic(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), name);
        String tap = stage.tapTopic();
        if (tap != null) {
            // A sub-topology of its own (nothing links it to the stage's processor), so the tap topic
            // need not be co-partitioned with the input. Kafka Streams numbers sub-topologies in the
            // order their nodes were added: added last, the tap leaves the stage's at id 0 (its tasks
            // and state directories stay 0_n).
            t.addSource(TAP_SOURCE, Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), tap);
            t.addProcessor(name + "-tap", stage::newTapProcessor, TAP_SOURCE);
        }
        return t;
    }
}
