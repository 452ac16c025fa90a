package io.rewardstream.topology;

import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Global processor {@code kl-coefficients-updater}: keeps the newest {@code kl-coefficients} record per controller in
 * the global store {@code kl-coefficients} (raw Confluent-Avro bytes, exactly as on the topic, so restoring the store
 * from the topic gives the same content). Every task of every instance reads it. Not thread-safe: the global thread's.
 */
final class KlCoefficientUpdater implements Processor<String, byte[], Void, Void> {
    private KeyValueStore<String, byte[]> store;

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        store = context.getStateStore(ScorerTopology.KL_COEFFICIENTS_STORE);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        if (record.key() == null) {
            return;
        }
        if (record.value() == null) {
            store.delete(record.key());
        } else {
            store.put(record.key(), record.value());
        }
    }
}
