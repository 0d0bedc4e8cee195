package io.fluostream.frames;

import io.fluostream.proto.Frame;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Serde for tools that read and write whole frames (rig, export, tests). Stages read raw bytes
 * instead, so that an undecodable record reaches the dead-letter topic inside the stage's
 * transaction rather than failing the consumer.
 */
public final class FrameSerde implements Serde<Frame> {

    @Override
    public Serializer<Frame> serializer() {
        return (topic, frame) -> frame == null ? null : frame.toByteArray();
    }

    @Override
    public Deserializer<Frame> deserializer() {
        return (topic, bytes) -> {
            if (bytes == null) {
                return null;
            }
            try {
                return FrameImages.parse(bytes);
            } catch (FrameRejected e) {
                throw new SerializationException(e.getMessage(), e);
            }
        };
    }
}
