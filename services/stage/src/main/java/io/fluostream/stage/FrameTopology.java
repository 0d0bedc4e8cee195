package io.fluostream.stage;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;

/**
 * The graph every stage has: input topic → the stage's {@link FrameProcessor} → output topic, and
 * → the dead-letter topic for frames it cannot take. Stores: the stream ledger, frames parked for
 * paused streams, and (stateful stages) stream memory. Node and store names are fixed so changelog
 * topic names stay stable across releases.
 */
public final class FrameTopology {

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
        return t;
    }
}
