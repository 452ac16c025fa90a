package io.rewardstream.topology;

import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.avro.GroupAdvantage;
import io.rewardstream.avro.KlCoefficient;
import io.rewardstream.avro.KlObservation;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.AvroSerde;
import io.rewardstream.schema.SchemaRegistryClient;
import io.rewardstream.schema.SchemaRegistryConfig;
import io.rewardstream.scoring.ModelHolder;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
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
 *     -> rollout-batcher  [rollout-buffer, score-stats, rewarded-ids; reads global kl-coefficients]
 *          -> rewards-sink           (String, Avro Reward)       topics.rewards.name
 *          -> dead-letters-sink      (byte[], byte[])            topics.rewardstream-dead-letters.name (flush-time failures)
 *          -> kl-observations-sink   (String, Avro KlObservation) topics.kl-observations.name   (adaptive only)
 *          -> group-aggregator [group-members]
 *               -> group-advantages-sink (String, Avro GroupAdvantage) topics.group-advantages.name
 *   kl-observations-source -> kl-controller [kl-controller-window] -> kl-coefficients-sink   (adaptive only)
 *   global: kl-coefficients-source -> kl-coefficients-updater [kl-coefficients]             (adaptive only)
 * </pre>
 * No repartitioning: rewards and groups keep the rollout key (group_id), so a group is always in one task.
 * All stores are in memory and change-logged (the changelog is the durable copy, restored on start), with Streams'
 * record cache in front ({@link WriteCoalescing}): what is
 * written and deleted again between two commits (a rollout buffered and scored, a group opened and emitted) never
 * reaches the changelog, and repeated puts of one key (score stats) reach it once per commit. Under the adaptive KL controller every task sends its KL to the one
 * controller task and reads the one beta back (see {@link KlControllerProcessor} for why); a fixed beta needs neither.
 * Stateless builder; thread-safe.
 */
public final class ScorerTopology {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ScorerTopology.class);

    public static final String ROLLOUTS_SOURCE = "rollouts-source";
    public static final String ROLLOUT_BATCHER = "rollout-batcher";
    public static final String GROUP_AGGREGATOR = "group-aggregator";
    public static final String REWARDS_SINK = "rewards-sink";
    public static final String GROUP_ADVANTAGES_SINK = "group-advantages-sink";
    public static final String DEAD_LETTERS_SINK = "dead-letters-sink";
    public static final String ROLLOUT_BUFFER = "rollout-buffer";
    public static final String KL_OBSERVATIONS_SINK = "kl-observations-sink";
    public static final String KL_OBSERVATIONS_SOURCE = "kl-observations-source";
    public static final String KL_CONTROLLER = "kl-controller";
    public static final String KL_CONTROLLER_WINDOW = "kl-controller-window";
    public static final String KL_COEFFICIENTS_SINK = "kl-coefficients-sink";
    public static final String KL_COEFFICIENTS_SOURCE = "kl-coefficients-source";
    public static final String KL_COEFFICIENTS_UPDATER = "kl-coefficients-updater";
    public static final String KL_COEFFICIENTS_STORE = "kl-coefficients";
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
        return build(config, holder, registry, false);
    }

    /**
     * As {@link #build(ScorerConfig, ModelHolder, MeterRegistry)}; with {@code warmSchemas} the serdes also obtain
     * their schema ids now ({@link #warmSchemas}), so the first flush does not stall on the registry.
     */
    public static Topology build(ScorerConfig config, ModelHolder holder, MeterRegistry registry,
                                 boolean warmSchemas) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(holder, "holder");
        ScorerMetrics metrics = new ScorerMetrics(Objects.requireNonNull(registry, "registry"),
                OveroptimizationMonitor.from(config.raw(), registry));
        // one registry client (one HTTP client, one schema cache) for every serde of the topology: a client per
        // serializer and per deserializer was ten HTTP clients, each with its own selector thread and cache
        SchemaRegistryClient schemas = new SchemaRegistryClient(SchemaRegistryConfig.from(config.serdeProperties()));
        AvroSerde<Rollout> rollouts = serde(Rollout.class, config, schemas);
        AvroSerde<Reward> rewards = serde(Reward.class, config, schemas);
        AvroSerde<GroupAdvantage> advantages = serde(GroupAdvantage.class, config, schemas);
        if (warmSchemas) {
            warmSchemas(config, rollouts, rewards, advantages);
        }

        Topology t = new Topology();
        t.addSource(ROLLOUTS_SOURCE, new StringDeserializer(), new ReceivedRollout.Deser(rollouts.deserializer()),
                config.rolloutsTopic());
        KlControlConfig kl = KlControlConfig.from(config);
        AvroSerde<KlCoefficient> coefficients = serde(KlCoefficient.class, config, schemas);
        FlushActivity activity = new FlushActivity();   // one per topology: every task's batcher sees the others
        t.addProcessor(ROLLOUT_BATCHER, () -> new RolloutBatcher(config, holder, metrics, rollouts.serializer(),
                rollouts.deserializer(), kl, coefficients.deserializer(), activity), ROLLOUTS_SOURCE);
        t.addStateStore(store(ROLLOUT_BUFFER), ROLLOUT_BATCHER);
        t.addStateStore(store(SCORE_STATS), ROLLOUT_BATCHER);
        t.addStateStore(store(REWARDED_IDS), ROLLOUT_BATCHER);
        if (kl.shared()) {
            addKlController(t, config, kl, metrics, coefficients, schemas);
        }
        t.addProcessor(GROUP_AGGREGATOR, () -> new GroupAggregator(config, metrics), ROLLOUT_BATCHER);
        t.addStateStore(store(GROUP_MEMBERS), GROUP_AGGREGATOR);
        t.addSink(REWARDS_SINK, config.rewardsTopic(), new StringSerializer(), rewards.serializer(), ROLLOUT_BATCHER);
        t.addSink(DEAD_LETTERS_SINK, config.deadLettersTopic(), new ByteArraySerializer(), new ByteArraySerializer(),
                ROLLOUT_BATCHER);
        t.addSink(GROUP_ADVANTAGES_SINK, config.groupAdvantagesTopic(), new StringSerializer(), advantages.serializer(),
                GROUP_AGGREGATOR);
        return t;
    }

    /**
     * Best effort, at start-up: registers (or looks up) the Reward and GroupAdvantage schemas of the output topics and
     * reads the rollouts subject's newest schema, each into its serde's cache. Without it every stream thread's first
     * flush waited on these registry calls (≈ 40 ms each here, 100-200 ms per thread at a stage's start in the bench
     * profile). A registry that cannot be reached is not an error here: the serdes resolve lazily as before (and a
     * registry outage holds rollouts, see README "Failure handling").
     */
    static void warmSchemas(ScorerConfig config, AvroSerde<Rollout> rollouts, AvroSerde<Reward> rewards,
                            AvroSerde<GroupAdvantage> advantages) {
        try {
            rewards.serializer().prepare(config.rewardsTopic(), Reward.getClassSchema());
            advantages.serializer().prepare(config.groupAdvantagesTopic(), GroupAdvantage.getClassSchema());
            rollouts.deserializer().prepare(config.rolloutsTopic());
        } catch (RuntimeException e) {
            LOG.warn("schema ids not obtained at start-up ({}); the serdes will ask the registry on first use",
                    e.getMessage());
        }
    }

    /** The shared adaptive KL controller: observations in, one controller task, beta out to a global store. */
    private static void addKlController(Topology t, ScorerConfig config, KlControlConfig kl, ScorerMetrics metrics,
                                        AvroSerde<KlCoefficient> coefficients, SchemaRegistryClient schemas) {
        AvroSerde<KlObservation> observations = serde(KlObservation.class, config, schemas);
        t.addSink(KL_OBSERVATIONS_SINK, kl.observationsTopic(), new StringSerializer(), observations.serializer(),
                ROLLOUT_BATCHER);
        t.addSource(KL_OBSERVATIONS_SOURCE, new StringDeserializer(), observations.deserializer(),
                kl.observationsTopic());
        t.addProcessor(KL_CONTROLLER, () -> new KlControllerProcessor(config, kl, metrics), KL_OBSERVATIONS_SOURCE);
        t.addStateStore(store(KL_CONTROLLER_WINDOW), KL_CONTROLLER);
        t.addSink(KL_COEFFICIENTS_SINK, kl.coefficientsTopic(), new StringSerializer(), coefficients.serializer(),
                KL_CONTROLLER);
        // raw bytes in the global store: the same content whether it is filled by the updater or restored
        t.addGlobalStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(KL_COEFFICIENTS_STORE),
                        Serdes.String(), Serdes.ByteArray()).withLoggingDisabled(), KL_COEFFICIENTS_SOURCE,
                new StringDeserializer(), new ByteArrayDeserializer(), kl.coefficientsTopic(), KL_COEFFICIENTS_UPDATER,
                KlCoefficientUpdater::new);
    }

    private static StoreBuilder<KeyValueStore<String, byte[]>> store(String name) {
        // cached: the cache is flushed to the store and its changelog before every commit (same transaction as the
        // outputs), and put+delete of a new key between two commits is dropped (see WriteCoalescing).
        // In memory, not RocksDB: the changelog is the durable copy (restored on start, exactly as a RocksDB store is
        // after a crash under EOS), the stores are small (buffered rollouts, open groups, a window of ids), and the
        // cache's flush looks up every deleted key in the store below it: a JNI RocksDB get per scored rollout, the
        // largest single cost of a commit in the profile (README "Benchmark").
        return WriteCoalescing.of(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(name), Serdes.String(),
                Serdes.ByteArray()).withLoggingEnabled(Map.of()).withCachingEnabled());
    }

    private static <T extends org.apache.avro.specific.SpecificRecord> AvroSerde<T> serde(Class<T> type,
                                                                                          ScorerConfig config,
                                                                                          SchemaRegistryClient schemas) {
        AvroSerde<T> s = new AvroSerde<>(type, schemas);
        s.configure(config.serdeProperties(), false);
        return s;
    }
}
