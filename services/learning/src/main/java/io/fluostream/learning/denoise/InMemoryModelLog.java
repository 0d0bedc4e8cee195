package io.fluostream.learning.denoise;

import io.fluostream.proto.ModelRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A model log in memory: records are kept in order and handed to every subscriber at once, on the
 * publishing thread — as the model topic would, minus the broker. For tests and the benchmark.
 */
public final class InMemoryModelLog implements ModelLog {

    private final List<Map.Entry<String, ModelRecord>> records = new CopyOnWriteArrayList<>();
    private final List<Consumer<ModelRecord>> subscribers = new CopyOnWriteArrayList<>();

    public void subscribe(Consumer<ModelRecord> subscriber) {
        subscribers.add(subscriber);
    }

    @Override
    public void publish(String key, ModelRecord record) {
        records.add(Map.entry(key, record));
        for (Consumer<ModelRecord> s : subscribers) {
            s.accept(record);
        }
    }

    /** Everything published so far, in order. */
    public List<Map.Entry<String, ModelRecord>> records() {
        return new ArrayList<>(records);
    }
}
