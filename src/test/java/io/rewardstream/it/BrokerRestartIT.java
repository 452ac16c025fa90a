package io.rewardstream.it;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.EmbeddedKafka;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.scoring.ReleaseTestModels;
import io.rewardstream.schema.AvroSerializer;
import io.rewardstream.topology.ReleaseHook;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The broker is restarted (controlled shutdown, same port and log directory, as ops/soak.sh does with its broker
 * JVM) while the scorer is under load: the scorer rides through it without a restart of its own, and in the end every
 * rollout produced before, during and after the outage is rewarded exactly once (read_committed). Uses its OWN broker
 * (the shared one stays up for the other tests) and the shared registry.
 */
@ExtendWith(SharedLocalStack.class)
class BrokerRestartIT {

    @Test
    void shouldRewardEveryRolloutExactlyOnceAcrossABrokerRestart(LocalStack stack) throws Exception {
        ScorerIt.Names n = ScorerIt.Names.unique("brokerrestart");
        Path work = ScorerIt.workDir(n.prefix());
        Path model = ReleaseTestModels.tinySavedModel(work.resolve("models"), "brokerrestart", 1, 7);
        RolloutGenerator gen = new RolloutGenerator(44, n.prefix(), 260, 128);
        List<Rollout> before = gen.groups(40, 4);
        List<Rollout> after = gen.groups(40, 4);
        List<Rollout> all = new ArrayList<>(before);
        all.addAll(after);

        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
                List<NewTopic> topics = new ArrayList<>();
                for (String t : n.dataTopics()) {
                    topics.add(new NewTopic(t, 2, (short) 1));
                }
                admin.createTopics(topics).all().get();
            }
            Map<String, String> cfg = ScorerIt.config(stack, n, model, work.resolve("state"));
            cfg.put("bootstrap.servers", kafka.bootstrapServers());
            cfg.put("batch.max.size", "16");
            cfg.put("group.timeout.ms", "60000");
            // generous for a loaded 2-core machine: a send or commit waits this long for the broker to return
            cfg.put("max.block.ms", "120000");
            cfg.put("delivery.timeout.ms", "120000");
            cfg.put("task.timeout.ms", "120000");
            try (ScorerApp app = new ScorerApp(ScorerConfig.from(cfg), ReleaseHook.none(), null, null);
                 KafkaProducer<String, Rollout> producer = producer(kafka, stack);
                 ScorerTraffic traffic = new ScorerTraffic(stack);
                 ScorerTraffic.Reader<Reward> rewards = traffic.rewards(kafka.bootstrapServers(), "read_committed",
                         n.rewards())) {
                app.start();
                ScorerIt.await("the scorer RUNNING", Duration.ofMinutes(2), app::isReady);
                send(producer, n.rollouts(), before);

                kafka.restart();   // while the first batch is being scored

                send(producer, n.rollouts(), after);
                assertThat(rewards.awaitIds(ScorerCrashIT.ids(all), Duration.ofMinutes(3)))
                        .as("every rollout rewarded; missing %s", ScorerCrashIT.missing(all, rewards.ids()))
                        .isTrue();
                rewards.drain(Duration.ofSeconds(3));
                assertThat(rewards.duplicates()).as("rewarded more than once").isEmpty();
                assertThat(rewards.ids()).containsExactlyInAnyOrderElementsOf(ScorerCrashIT.ids(all));
                assertThat(app.isLive()).as("the scorer rode through the restart").isTrue();
            }
        }
    }

    private static KafkaProducer<String, Rollout> producer(EmbeddedKafka kafka, LocalStack stack) {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 180_000);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 180_000);
        AvroSerializer<Rollout> values = new AvroSerializer<>();
        values.configure(ScorerTraffic.clientProps(stack), false);
        return new KafkaProducer<>(p, new StringSerializer(), values);
    }

    private static void send(KafkaProducer<String, Rollout> producer, String topic, List<Rollout> rollouts) {
        for (Rollout r : rollouts) {
            producer.send(new ProducerRecord<>(topic, r.getGroupId(), r));
        }
        producer.flush();
    }
}
