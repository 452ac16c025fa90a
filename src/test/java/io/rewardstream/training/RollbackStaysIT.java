package io.rewardstream.training;

import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.cli.Main;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.release.KeyFiles;
import io.rewardstream.release.ReleaseSigning;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A rollback stays rolled back (issue 17): the job publishes v1 and v2, an operator rolls back to v1 with
 * {@code release publish --rollback}, the job restarts: v1 stays current, and the next round that passes the gate
 * publishes v3 on top of v1. v2 is never re-published (before the fix, recovery found the installed v2 "complete but
 * unpublished" above the rolled-back v1 and sent it again instead of training).
 */
@ExtendWith(SharedLocalStack.class)
class RollbackStaysIT {
    private static final String MODEL = "builtin-tiny";   // the base model's name

    @TempDir
    Path dir;

    @Test
    void shouldKeepTheRolledBackVersionUntilANewRoundPassesTheGate(LocalStack stack) throws Exception {
        Path base = SavedModelRoundTrainerTest.additionModel(dir, 100);
        var keys = ReleaseSigning.generateKeyPair();
        Path key = dir.resolve("release.key");
        KeyFiles.writePrivate(key, keys.getPrivate());
        RetrainJobIT.Topics t = RetrainJobIT.topics(stack);
        Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", stack.bootstrapServers());
        m.put("schema.registry.url", stack.schemaRegistryUrl());
        m.put("retrain.group.id", "retrain-" + t.prefs());
        m.put("topics.preferences.name", t.prefs());
        m.put("topics.ranked-preferences.name", t.ranked());
        m.put("topics.model-releases.name", t.releases());
        m.put("topics.rewardstream-dead-letters.name", t.dlq());
        m.put("retrain.min.new.pairs", "100");
        m.put("retrain.steps", "40");
        m.put("retrain.heldout.fraction", "0.2");
        m.put("retrain.gate.tolerance", "1.0");   // every round passes: this test is about what gets published
        m.put("retrain.replay.dir", dir.resolve("replay").toString());
        m.put("retrain.model.root", dir.resolve("models").toString());
        m.put("retrain.model.name", MODEL);
        m.put("retrain.base.model.dir", base.toString());
        m.put("retrain.signing.key", key.toString());
        m.put("retrain.signing.key.id", "release");
        m.put("metrics.port", "-1");
        RetrainConfig cfg = RetrainConfig.from(m);
        ArithmeticTask mul = new ArithmeticTask(ArithmeticTask.Config.defaults()
                .withOps(List.of(ArithmeticTask.Operation.MUL)).withSeed(11));
        List<PreferencePair> pairs = new ArrayList<>();
        for (PreferenceExample e : mul.generate(300, ArithmeticTask.Part.ANY, false)) {
            pairs.add(RetrainJobIT.toAvro(e, "a"));
        }

        try (RetrainApp first = new RetrainApp(cfg, null)) {
            first.start();
            RetrainJobIT.publish(stack, t.prefs(), pairs.subList(0, 100), List.of());
            await(stack, t, "v1 published", r -> r.getVersion() == 1);
            RetrainJobIT.publish(stack, t.prefs(), pairs.subList(100, 200), List.of());
            await(stack, t, "v2 published", r -> r.getVersion() == 2);
        }

        Path v1 = dir.resolve("models").resolve(MODEL).resolve("v1");
        int rc = Main.execute("release", "publish", "--rollback", "--model-dir", v1.toString(),
                "--model-root", dir.resolve("models").toString(), "--version", "1", "--key", key.toString(),
                "--key-id", "release", "--topic", t.releases(), "--bootstrap-servers", stack.bootstrapServers(),
                "--schema-registry-url", stack.schemaRegistryUrl());
        assertThat(rc).isZero();
        ModelRelease rolledBack = await(stack, t, "rollback to v1", r -> r.getVersion() == 1 && r.getRollback());

        try (RetrainApp restarted = new RetrainApp(cfg, null)) {
            restarted.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!restarted.isReady() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(restarted.isReady()).as("restarted job ready").isTrue();
            Thread.sleep(3000);
            assertThat(latest(stack, t)).as("v1 stays current after the restart").isEqualTo(rolledBack);
            RetrainJobIT.publish(stack, t.prefs(), pairs.subList(200, 300), List.of());
            ModelRelease next = await(stack, t, "a new round after the rollback",
                    r -> r.getCreatedAt().isAfter(rolledBack.getCreatedAt()));
            assertThat(next.getVersion()).as("the next release is a new version, not v2 again").isEqualTo(3);
            assertThat(next.getParentVersion()).as("trained on the rolled-back v1").isEqualTo(1L);
            assertThat(next.getRollback()).isFalse();
        }
        List<ModelRelease> all = all(stack, t);
        assertThat(all).extracting(r -> r.getVersion() + (r.getRollback() ? "R" : ""))
                .as("every release record, in order").containsExactly("1", "2", "1R", "3");
    }

    private static ModelRelease await(LocalStack stack, RetrainJobIT.Topics t, String what,
                                      Predicate<ModelRelease> done) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        ModelRelease r = null;
        while (System.nanoTime() < deadline) {
            r = latest(stack, t);
            if (r != null && done.test(r)) {
                return r;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("no " + what + " within 180 s; newest release: " + r);
    }

    private static ModelRelease latest(LocalStack stack, RetrainJobIT.Topics t) {
        List<ModelRelease> all = all(stack, t);
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    /** Every release record on the topic, in offset order (read_committed). */
    private static List<ModelRelease> all(LocalStack stack, RetrainJobIT.Topics t) {
        AvroDeserializer<ModelRelease> values = new AvroDeserializer<>(ModelRelease.class);
        values.configure(Map.of("schema.registry.url", stack.schemaRegistryUrl()), false);
        List<ModelRelease> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of("bootstrap.servers", stack.bootstrapServers(),
                "isolation.level", "read_committed"), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(t.releases(), 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            while (c.position(tp) < end) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    out.add(values.deserialize(r.topic(), r.value()));
                }
            }
        }
        return out;
    }
}
