package io.rewardstream.topology;

import io.rewardstream.avro.Rollout;
import org.apache.kafka.common.serialization.Deserializer;

import java.util.Objects;

/**
 * A rollout as it came off the {@code rollouts} topic: the decoded record and the producer's ORIGINAL value bytes
 * (Confluent wire format). The batcher buffers the original bytes, so nothing is re-serialized and a flush-time dead
 * letter carries exactly what the trainer produced. Immutable (the array is not copied: never modify it).
 *
 * @param rollout the decoded rollout
 * @param raw     the record value as produced
 */
record ReceivedRollout(Rollout rollout, byte[] raw) {
    ReceivedRollout {
        Objects.requireNonNull(rollout, "rollout");
        Objects.requireNonNull(raw, "raw");
    }

    /**
     * Source value deserializer: decodes with the registry-aware Avro deserializer and keeps the bytes. A null value
     * stays null (the batcher dead-letters it); a decoding failure propagates to the KIP-1034 deserialization handler
     * exactly as with the plain Avro deserializer. Thread-safety as the delegate's.
     */
    static final class Deser implements Deserializer<ReceivedRollout> {
        private final Deserializer<Rollout> avro;

        Deser(Deserializer<Rollout> avro) {
            this.avro = Objects.requireNonNull(avro, "avro");
        }

        @Override
        public ReceivedRollout deserialize(String topic, byte[] data) {
            if (data == null) {
                return null;
            }
            Rollout r = avro.deserialize(topic, data);
            return r == null ? null : new ReceivedRollout(r, data);
        }

        @Override
        public void close() {
            avro.close();
        }
    }
}
