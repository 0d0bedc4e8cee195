package io.fluostream.producer;

/**
 * A frame the broker has acknowledged (acks=all: written to every in-sync replica).
 *
 * @param bytes size of the record value (the encoded frame)
 */
public record Published(String streamId, long sequence, String topic, int partition, long offset, int bytes) {
}
