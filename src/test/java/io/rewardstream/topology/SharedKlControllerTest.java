package io.rewardstream.topology;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.KlCoefficient;
import io.rewardstream.avro.KlObservation;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.AvroSerde;
import io.rewardstream.schema.FakeSchemaRegistryServer;
import io.rewardstream.scoring.ModelHolder;
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

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The shared adaptive KL controller in the scorer's topology (TopologyTestDriver): flushes send their KL to
 * {@code kl-observations}, the controller closes a full window once per {@code scoring.kl.period.ms}, the new beta goes
 * to {@code kl-coefficients} and back to every task through the global store; every reward of a flush carries one
 * beta; a window not yet full changes nothing.
 */
class SharedKlControllerTest {
    private static final double BETA0 = 0.1;
    private static final double TARGET = 0.5;
    private static final long HORIZON = 100;

    @TempDir
    Path stateDir;

    private FakeSchemaRegistryServer registry;
    private ModelHolder holder;
    private TopologyTestDriver driver;
    private TestInputTopic<String, Rollout> rollouts;
    private TestOutputTopic<String, Reward> rewards;
    private TestOutputTopic<String, KlObservation> observations;
    private TestOutputTopic<String, KlCoefficient> coefficients;

    @BeforeEach
    void setUp() throws Exception {
        registry = new FakeSchemaRegistryServer();
        holder = new ModelHolder(new FakeRewardModel("fake", 1, 64, 1000));
        Map<String, Object> m = new HashMap<>();
        m.put("application.id", "kl-test");
        m.put("bootstrap.servers", "unused:9092");
        m.put("schema.registry.url", registry.url());
        m.put("batch.max.size", "4");
        // the TopologyTestDriver runs no background time: every flush scores on the stream thread (overlap is
        // RolloutBatcherTest's and the ITs')
        m.put("batch.flush.overlap", "false");
        m.put("batch.max.delay.ms", "100000");
        m.put("metrics.port", "-1");
        m.put("scoring.kl.controller", "adaptive");
        m.put("scoring.kl.coef", Double.toString(BETA0));
        m.put("scoring.kl.target", Double.toString(TARGET));
        m.put("scoring.kl.horizon", Long.toString(HORIZON));
        m.put("scoring.kl.window", "6");
        m.put("scoring.kl.period.ms", "1000");
        ScorerConfig config = ScorerConfig.from(m);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        Properties p = ScorerApp.streamsProperties(config, meters);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(ScorerTopology.build(config, holder, meters), p, Instant.EPOCH);
        AvroSerde<Rollout> rs = serde(Rollout.class, config);
        rollouts = driver.createInputTopic("rollouts", new StringSerializer(), rs.serializer());
        rewards = driver.createOutputTopic("rewards", new StringDeserializer(), serde(Reward.class, config).deserializer());
        observations = driver.createOutputTopic("kl-observations", new StringDeserializer(),
                serde(KlObservation.class, config).deserializer());
        coefficients = driver.createOutputTopic("kl-coefficients", new StringDeserializer(),
                serde(KlCoefficient.class, config).deserializer());
    }

    private static <T extends org.apache.avro.specific.SpecificRecord> AvroSerde<T> serde(Class<T> c, ScorerConfig cfg) {
        AvroSerde<T> s = new AvroSerde<>(c);
        s.configure(cfg.serdeProperties(), false);
        return s;
    }

    @AfterEach
    void tearDown() {
        driver.close();
        holder.close();
        registry.close();
    }

    private List<Reward> flush(String prefix) {
        for (int i = 0; i < 4; i++) {
            Rollout r = ScorerTopologyTest.rollout(prefix + i, prefix + "g" + i, null, 4, 6, true, i != 3);
            rollouts.pipeInput(r.getGroupId(), r);
        }
        return rewards.readValuesToList();
    }

    @Test
    void shouldUpdateOneSharedBetaOncePerPeriodFromTheKlOfEveryFlush() {
        List<Reward> first = flush("a");
        assertThat(first).hasSize(4).extracting(Reward::getKlCoef).containsOnly(BETA0);
        List<KlObservation> o1 = observations.readValuesToList();
        assertThat(o1).hasSize(1);
        assertThat(o1.get(0).getController()).isEqualTo("kl-test");
        assertThat(o1.get(0).getRewards()).as("NO_REFERENCE rewards are not observed").isEqualTo(3);
        assertThat(o1.get(0).getKlSum()).isCloseTo(first.stream().limit(3).mapToDouble(Reward::getKl).sum(),
                within(1e-9));

        driver.advanceWallClockTime(Duration.ofMillis(1000));
        assertThat(coefficients.isEmpty()).as("3 of a 6-reward window: no update").isTrue();

        List<Reward> second = flush("b");
        assertThat(second).extracting(Reward::getKlCoef).containsOnly(BETA0);
        observations.readValuesToList();
        driver.advanceWallClockTime(Duration.ofMillis(1000));

        List<KlCoefficient> updates = coefficients.readValuesToList();
        assertThat(updates).hasSize(1);
        KlCoefficient u = updates.get(0);
        double meanKl = (first.stream().limit(3).mapToDouble(Reward::getKl).sum()
                + second.stream().limit(3).mapToDouble(Reward::getKl).sum()) / 6;
        double error = Math.max(-0.2, Math.min(0.2, meanKl / TARGET - 1));
        assertThat(u.getUpdate()).isEqualTo(1);
        assertThat(u.getWindowRewards()).isEqualTo(6);
        assertThat(u.getWindowKlMean()).isCloseTo(meanKl, within(1e-9));
        assertThat(u.getPreviousKlCoef()).isEqualTo(BETA0);
        assertThat(u.getKlCoef()).isCloseTo(BETA0 * (1 + error * 6 / HORIZON), within(1e-12)).isNotEqualTo(BETA0);

        List<Reward> third = flush("c");
        assertThat(third).as("every task reads the new beta from the global store")
                .extracting(Reward::getKlCoef).containsOnly(u.getKlCoef());
        driver.advanceWallClockTime(Duration.ofMillis(1000));
        assertThat(coefficients.isEmpty()).as("the window restarted empty: 3 < 6").isTrue();
    }
}
