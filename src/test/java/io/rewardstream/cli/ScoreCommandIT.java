package io.rewardstream.cli;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.AvroSerializer;
import io.rewardstream.scoring.TestModels;
import io.rewardstream.testing.TestTopics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code Main score} in its own JVM, as the crash/two-instance ITs and operators start it: ready file once RUNNING,
 * rewards out, and SIGTERM closes it cleanly (the shutdown hook leaves the consumer group at once).
 */
@ExtendWith(SharedLocalStack.class)
class ScoreCommandIT {

    @Test
    void shouldRunInItsOwnJvmAndLeaveTheGroupOnSigterm(LocalStack stack, @TempDir Path dir) throws Exception {
        String suffix = "-" + UUID.randomUUID().toString().substring(0, 8);
        StringBuilder cfg = new StringBuilder();
        Map<String, String> topics = TestTopics.provision(stack.bootstrapServers(), "cli", suffix, 2);
        topics.forEach((k, v) -> cfg.append(k).append('=').append(v).append('\n'));
        String appId = "cli-scorer" + suffix;
        cfg.append("application.id=").append(appId).append('\n');
        cfg.append("state.dir=").append(dir.resolve("state")).append('\n');
        cfg.append("batch.max.delay.ms=100\n");
        Path config = dir.resolve("scorer.properties");
        Files.writeString(config, cfg);
        Path model = TestModels.tinySavedModel(dir.resolve("model"), "tiny", 1, 3);
        Path ready = dir.resolve("ready");
        Path err = dir.resolve("stderr.txt");

        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx1g", "-cp", System.getProperty("java.class.path")));
        Optional.ofNullable(System.getProperty("org.bytedeco.javacpp.cachedir"))
                .ifPresent(d -> cmd.add("-Dorg.bytedeco.javacpp.cachedir=" + d));
        cmd.addAll(List.of("io.rewardstream.cli.Main", "score", "--config", config.toString(),
                "--bootstrap-servers", stack.bootstrapServers(), "--schema-registry-url", stack.schemaRegistryUrl(),
                "--model-dir", model.toString(), "--set", "metrics.port=0", "--ready-file", ready.toString()));
        Process p = new ProcessBuilder(cmd).redirectOutput(dir.resolve("stdout.txt").toFile())
                .redirectError(err.toFile()).start();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (!Files.exists(ready) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(Files.exists(ready)).as("ready file; stderr tail:%n%s", tail(err)).isTrue();
            assertThat(Files.readString(ready)).startsWith("RUNNING model=tiny:1 metrics=http://127.0.0.1:");

            String rolloutsTopic = "cli-rollouts" + suffix;
            AvroSerializer<Rollout> ser = new AvroSerializer<>();
            ser.configure(Map.of("schema.registry.url", stack.schemaRegistryUrl()), false);
            try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers",
                    stack.bootstrapServers()), new StringSerializer(), new ByteArraySerializer())) {
                for (int i = 0; i < 50; i++) {
                    Rollout r = Rollout.newBuilder().setRolloutId("r" + i).setGroupId("g" + i % 10)
                            .setPolicyVersion("p").setPromptTokenIds(List.of(10, 11, 12))
                            .setResponseTokenIds(List.of(20 + i % 50, 21)).setPolicyLogprobs(List.of(-1f, -2f))
                            .setReferenceLogprobs(List.of(-1.5f, -2f)).setFinishReason(FinishReason.STOP)
                            .setCreatedAt(Instant.now()).build();
                    producer.send(new ProducerRecord<>(rolloutsTopic, r.getGroupId(), ser.serialize(rolloutsTopic, r)));
                }
            }
            Set<String> ids = new HashSet<>();
            AvroDeserializer<Reward> de = new AvroDeserializer<>(Reward.class);
            de.configure(Map.of("schema.registry.url", stack.schemaRegistryUrl()), false);
            try (KafkaConsumer<String, Reward> consumer = new KafkaConsumer<>(Map.of("bootstrap.servers",
                    stack.bootstrapServers(), "group.id", "cli-reader" + suffix, "auto.offset.reset", "earliest",
                    "isolation.level", "read_committed"), new StringDeserializer(), de)) {
                consumer.subscribe(List.of("cli-rewards" + suffix));
                long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (ids.size() < 50 && System.nanoTime() < until) {
                    for (ConsumerRecord<String, Reward> r : consumer.poll(Duration.ofMillis(200))) {
                        ids.add(r.value().getRolloutId());
                    }
                }
            }
            assertThat(ids).hasSize(50);

            long t0 = System.nanoTime();
            p.destroy(); // SIGTERM: the shutdown hook closes KafkaStreams with LEAVE_GROUP, then the model
            assertThat(p.waitFor(45, TimeUnit.SECONDS)).as("exited after SIGTERM; stderr tail:%n%s", tail(err)).isTrue();
            long closeMs = (System.nanoTime() - t0) / 1_000_000;
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
                ConsumerGroupDescription group = admin.describeConsumerGroups(List.of(appId)).all()
                        .get(30, TimeUnit.SECONDS).get(appId);
                assertThat(group.members()).as("members right after the scorer exited (LEAVE_GROUP)").isEmpty();
            }
            System.out.printf("ScoreCommandIT: 50 rewards; SIGTERM to exit in %d ms%n", closeMs);
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static String tail(Path file) throws Exception {
        if (!Files.exists(file)) {
            return "";
        }
        List<String> lines = Files.readAllLines(file);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }
}
