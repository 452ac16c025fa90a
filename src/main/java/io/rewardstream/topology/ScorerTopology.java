package io.rewardstream.topology;

import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.avro.GroupAdvantage;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.AvroSerde;
import io.rewardstream.scoring.ModelHolder;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

import java.util.Map;
import java.util.Objects;

/**
 * Builds the scorer's Processor API topology; every node and store is named:
 * <pre>
 *   rollouts-source (String group_id, Avro Rollout + its original bytes)
 *     -> rollout-batcher  [rollout-buffer, kl-controller-state, score-stats, rewarded-ids]
 *          -> rewards-sink           (String, Avro Reward)       topics.rewards.name
 *          -> dead-letters-sink      (byte[], byte[])            topics.dead-letters.name (flush-time failures)
 *          -> group-aggregator [group-members]
 *               -> group-advantages-sink (String, Avro GroupAdvantage) topics.group-advantages.name
 * </pre>
 * No repartitioning: rewards and groups keep the rollout key (group_id), so a group is always in one task.
 * All stores are persistent and change-logged, with Streams' record cache in front ({@link WriteCoalescing}): what is
 * written and deleted again between two commits (a rollout buffered and scored, a group opened and emitted) never
 * reaches the changelog, and repeated puts of one key (KL state, score stats) reach it once per commit. Stateless
 * builder; thread-safe.
 */
public final class ScorerTopology {
    public static final String ROLLOUTS_SOURCE = "rollouts-source";
    public static final String ROLLOUT_BATCHER = "rollout-batcher";
    public static final String GROUP_AGGREGATOR = "group-aggregator";
    public static final String REWARDS_SINK = "rewards-sink";
    public static final String GROUP_ADVANTAGES_SINK = "group-advantages-sink";
    public static final String DEAD_LETTERS_SINK = "dead-letters-sink";
    public static final String ROLLOUT_BUFFER = "rollout-buffer";
    public static final String KL_CONTROLLER_STATE = "kl-controller-state";
    public static final String SCORE_STATS = "score-stats";
    public static final String GROUP_MEMBERS = "group-members";
    public static final String REWARDED_IDS = "rewarded-ids";

    private ScorerTopology() {
    }

    /**
     * @param config   scorer configuration (topics, batching, shaping, serde properties)
     * @param holder   the application's model holder; processors lease from it, never own or close it
     * @param registry where the scorer's meters go
     * @return a new topology; serdes are created here and configured with {@link ScorerConfig#serdeProperties()}
     */
    public static Topology build(ScorerConfig config, ModelHolder holder, MeterRegistry registry) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(holder, "holder");
        ScorerMetrics metrics = new ScorerMetrics(Objects.requireNonNull(registry, "registry"));
        AvroSerde<Rollout> rollouts = serde(Rollout.class, config);
        AvroSerde<Reward> rewards = serde(Reward.class, config);
        AvroSerde<GroupAdvantage> advantages = serde(GroupAdvantage.class, config);

        Topology t = new Topology();
        t.addSource(ROLLOUTS_SOURCE, new StringDeserializer(), new ReceivedRollout.Deser(rollouts.deserializer()),
                config.rolloutsTopic());
        t.addProcessor(ROLLOUT_BATCHER, () -> new RolloutBatcher(config, holder, metrics, rollouts.serializer(),
                rollouts.deserializer()), ROLLOUTS_SOURCE);
        t.addStateStore(store(ROLLOUT_BUFFER), ROLLOUT_BATCHER);
        t.addStateStore(store(KL_CONTROLLER_STATE), ROLLOUT_BATCHER);
        t.addStateStore(store(SCORE_STATS), ROLLOUT_BATCHER);
        t.addStateStore(store(REWARDED_IDS), ROLLOUT_BATCHER);
        t.addProcessor(GROUP_AGGREGATOR, () -> new GroupAggregator(config, metrics), ROLLOUT_BATCHER);
        t.addStateStore(store(GROUP_MEMBERS), GROUP_AGGREGATOR);
        t.addSink(REWARDS_SINK, config.rewardsTopic(), new StringSerializer(), rewards.serializer(), ROLLOUT_BATCHER);
        t.addSink(DEAD_LETTERS_SINK, config.deadLettersTopic(), new ByteArraySerializer(), new ByteArraySerializer(),
                ROLLOUT_BATCHER);
        t.addSink(GROUP_ADVANTAGES_SINK, config.groupAdvantagesTopic(), new StringSerializer(), advantages.serializer(),
                GROUP_AGGREGATOR);
        return t;
    }

    private static StoreBuilder<KeyValueStore<String, byte[]>> store(String name) {
        // cached: the cache is flushed to the store and its changelog before every commit (same transaction as the
        // outputs), and put+delete of a new key between two commits is dropped (see WriteCoalescing)
        return WriteCoalescing.of(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), Serdes.String(),
                Serdes.ByteArray()).withLoggingEnabled(Map.of()).withCachingEnabled());
    }

    private static <T extends org.apache.avro.specific.SpecificRecord> AvroSerde<T> serde(Class<T> type,
                                                                                          ScorerConfig config) {
        AvroSerde<T> s = new AvroSerde<>(type);
        s.configure(config.serdeProperties(), false);
        return s;
    }
}
