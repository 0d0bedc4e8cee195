package io.fluostream.learning.denoise;

import io.fluostream.proto.ModelRecord;

/**
 * Where trained models and activations are published: in the service, the compacted model topic
 * (every replica reads it and applies each record to its {@link ModelRegistry}); in tests and the
 * benchmark, {@link InMemoryModelLog}.
 */
public interface ModelLog {

    /** Appends a record under {@code key} (see {@link ModelRecords#versionKey}, {@link ModelRecords#activeKey}). */
    void publish(String key, ModelRecord record);
}
