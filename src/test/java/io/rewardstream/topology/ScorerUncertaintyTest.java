package io.rewardstream.topology;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.it.RolloutGenerator;
import io.rewardstream.schema.AvroSerde;
import io.rewardstream.schema.FakeSchemaRegistryServer;
import io.rewardstream.scoring.Ensemble;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.TestModels;
import io.rewardstream.training.TestEnsembles;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Uncertainty through the scorer's topology (TopologyTestDriver, real TensorFlow models): an exported built-in
 * ensemble served through {@code model.dir} and an {@code Ensemble.of} of separate SavedModels from
 * {@code model.ensemble.dirs}. Every reward carries a non-null uncertainty >= 0, and with lambda > 0 the reward equals
 * an independent computation from the SavedModel's own outputs: {@code (mean - lambda*std) - beta * sum(lp - lr)}.
 */
class ScorerUncertaintyTest {
    private static final double LAMBDA = 0.5;
    private static final double BETA = 0.05;
    private static final int VOCAB = 260;

    @TempDir
    Path tmp;

    private FakeSchemaRegistryServer registry;
    private TopologyTestDriver driver;
    private ModelHolder holder;

    @BeforeEach
    void setUp() throws Exception {
        registry = new FakeSchemaRegistryServer();
    }

    @AfterEach
    void tearDown() {
        if (driver != null) {
            driver.close();
        }
        if (holder != null) {
            holder.close();
        }
        registry.close();
    }

    private List<Reward> score(RewardModel model, Map<String, Object> extra, List<Rollout> in) {
        Map<String, Object> m = new HashMap<>();
        m.put("application.id", "uncertainty-test");
        m.put("bootstrap.servers", "unused:9092");
        m.put("schema.registry.url", registry.url());
        m.put("batch.max.size", "8");
        // the TopologyTestDriver runs no background time: every flush scores on the stream thread (overlap is
        // RolloutBatcherTest's and the ITs')
        m.put("batch.flush.overlap", "false");
        m.put("batch.max.tokens", "8192");
        m.put("metrics.port", "-1");
        m.put("scoring.uncertainty.penalty", Double.toString(LAMBDA));
        m.putAll(extra);
        ScorerConfig config = ScorerConfig.from(m);
        holder = new ModelHolder(model);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        Properties p = ScorerApp.streamsProperties(config, meters);
        p.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
        driver = new TopologyTestDriver(ScorerTopology.build(config, holder, meters), p, Instant.now());
        AvroSerde<Rollout> rs = new AvroSerde<>(Rollout.class);
        rs.configure(config.serdeProperties(), false);
        AvroSerde<Reward> ws = new AvroSerde<>(Reward.class);
        ws.configure(config.serdeProperties(), false);
        TestInputTopic<String, Rollout> rollouts = driver.createInputTopic("rollouts", new StringSerializer(),
                rs.serializer());
        TestOutputTopic<String, Reward> rewards = driver.createOutputTopic("rewards", new StringDeserializer(),
                ws.deserializer());
        for (Rollout r : in) {
            rollouts.pipeInput(r.getGroupId(), r);
        }
        driver.advanceWallClockTime(java.time.Duration.ofSeconds(5));
        return rewards.readValuesToList();
    }

    @Test
    void shouldServeTheExportedEnsemblesStdAndPenalizeTheMean() throws Exception {
        Path dir = tmp.resolve("ens");
        TestEnsembles.exportTinyEnsemble(dir, VOCAB, 3, 5);
        List<Rollout> in = new RolloutGenerator(3, "u", VOCAB, 64).groups(10, 2);
        List<Reward> out = score(ModelLoader.load(dir, RuntimeConfig.from(Map.of("model.warmup", "false"))),
                Map.of(), in);

        assertThat(out).hasSize(in.size());
        try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
            for (Rollout r : in) {
                Reward got = out.stream().filter(w -> w.getRolloutId().equals(r.getRolloutId())).findFirst()
                        .orElseThrow();
                float[] direct = direct(bundle, ids(r, 64)); // {reward (member mean), reward_std}
                assertThat(got.getUncertainty()).as("uncertainty of %s", r.getRolloutId()).isNotNull()
                        .isGreaterThan(0.0).isCloseTo(direct[1], within(1e-5));
                double s = direct[0] - LAMBDA * direct[1];
                assertThat(got.getScore()).isCloseTo(s, within(1e-4));
                assertThat(got.getReward()).as("reward of %s", r.getRolloutId())
                        .isCloseTo(s - BETA * klSum(r), within(1e-4));
            }
        }
    }

    @Test
    void shouldServeAnEnsembleOfSeparateModelsFromModelEnsembleDirs() throws Exception {
        Path a = TestModels.tinySavedModel(tmp.resolve("a"), "tiny", 1, 11);
        Path b = TestModels.tinySavedModel(tmp.resolve("b"), "tiny", 2, 12);
        Path c = TestModels.tinySavedModel(tmp.resolve("c"), "tiny", 3, 13);
        Map<String, Object> keys = Map.of("model.ensemble.dirs", a + "," + b + " , " + c, "model.warmup", "false");
        Map<String, Object> full = new HashMap<>(keys);
        full.put("application.id", "x");
        full.put("bootstrap.servers", "unused:9092");
        full.put("schema.registry.url", registry.url());
        Ensemble ensemble = ScorerApp.loadEnsemble(ScorerConfig.from(full));
        assertThat(ensemble.modelVersion()).isEqualTo("ensemble(tiny:1,tiny:2,tiny:3)");
        List<Rollout> in = new RolloutGenerator(4, "e", VOCAB, 128).groups(6, 2);
        List<Reward> out = score(ensemble, keys, in);

        assertThat(out).hasSize(in.size());
        List<RewardModel> members = List.of(
                ModelLoader.load(a, RuntimeConfig.from(Map.of("model.warmup", "false"))),
                ModelLoader.load(b, RuntimeConfig.from(Map.of("model.warmup", "false"))),
                ModelLoader.load(c, RuntimeConfig.from(Map.of("model.warmup", "false"))));
        try {
            for (Reward got : out) {
                Rollout r = in.stream().filter(x -> x.getRolloutId().equals(got.getRolloutId())).findFirst()
                        .orElseThrow();
                double[] v = new double[3];
                for (int i = 0; i < 3; i++) {
                    int[] ids = ids(r, 128);
                    v[i] = members.get(i).score(io.rewardstream.scoring.PaddedBatch.of(new int[][]{ids},
                            new int[]{0}, ids.length, 0)).reward()[0];
                }
                double mean = (v[0] + v[1] + v[2]) / 3;
                // population std, written out independently of ScoreCombiner.ensembleStd
                double std = Math.sqrt(((v[0] - mean) * (v[0] - mean) + (v[1] - mean) * (v[1] - mean)
                        + (v[2] - mean) * (v[2] - mean)) / 3);
                assertThat(got.getModelVersion()).isEqualTo("ensemble(tiny:1,tiny:2,tiny:3)");
                assertThat(got.getUncertainty()).isNotNull().isCloseTo(std, within(1e-5));
                assertThat(got.getReward()).isCloseTo(mean - LAMBDA * std - BETA * klSum(r), within(1e-4));
            }
        } finally {
            members.forEach(RewardModel::close);
        }
    }

    /** Token ids as the contract says ({@code ids}: prompt ++ response, dropped from the prompt's start). */
    static int[] ids(Rollout r, int maxSeqLen) {
        int[] all = ScorerTopologyTest.concat(r.getPromptTokenIds(), r.getResponseTokenIds());
        return all.length <= maxSeqLen ? all : Arrays.copyOfRange(all, all.length - maxSeqLen, all.length);
    }

    /** k1 KL summed over the response, clamped at 10 per token; 0 without a reference. */
    static double klSum(Rollout r) {
        if (r.getReferenceLogprobs() == null) {
            return 0;
        }
        double kl = 0;
        for (int t = 0; t < r.getPolicyLogprobs().size(); t++) {
            double d = (double) r.getPolicyLogprobs().get(t) - r.getReferenceLogprobs().get(t);
            kl += Math.max(-10, Math.min(10, d));
        }
        return kl;
    }

    /** {reward, reward_std} of one row, straight from the SavedModel's serving_default signature. */
    static float[] direct(SavedModelBundle bundle, int[] ids) {
        int[] mask = new int[ids.length];
        Arrays.fill(mask, 1);
        try (TInt32 x = TInt32.tensorOf(Shape.of(1, ids.length), DataBuffers.of(ids, true, false));
             TInt32 mk = TInt32.tensorOf(Shape.of(1, ids.length), DataBuffers.of(mask, true, false))) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("input_ids", x);
            in.put("attention_mask", mk);
            try (Result res = bundle.function("serving_default").call(in)) {
                TFloat32 reward = (TFloat32) res.get("reward").orElseThrow();
                TFloat32 std = (TFloat32) res.get("reward_std").orElseThrow();
                return new float[]{reward.getFloat(0), std.getFloat(0)};
            }
        }
    }
}
