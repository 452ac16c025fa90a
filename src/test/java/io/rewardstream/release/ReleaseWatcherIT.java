package io.rewardstream.release;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;

import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelManifest;

import io.rewardstream.scoring.ReleaseTestModels;
import io.rewardstream.scoring.RuntimeConfig;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** Releases through a real broker and registry: a good one swaps, every bad one is refused and counted. */
@ExtendWith(SharedLocalStack.class)
class ReleaseWatcherIT {

    @TempDir
    Path base;

    private final KeyPair key = ReleaseSigning.generateKeyPair();
    private final KeyPair stranger = ReleaseSigning.generateKeyPair();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    private double refused(String reason) {
        var c = meters.find(ReleaseWatcher.REFUSED_METRIC).tag("reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    @Test
    void shouldInstallGoodReleasesAndRefuseEveryBadOne(LocalStack stack) throws Exception {
        Path root = Files.createDirectories(base.resolve("models"));
        Path keys = Files.createDirectories(base.resolve("keys"));
        Path staging = Files.createDirectories(base.resolve("staging"));
        KeyFiles.writePublic(keys.resolve("k1.pub"), key.getPublic());
        KeyFiles.writePrivate(base.resolve("k1.key"), key.getPrivate());
        String topic = "model-releases-it-" + UUID.randomUUID();
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1)
                    .configs(Map.of("cleanup.policy", "compact")))).all().get();
        }
        Map<String, Object> client = new HashMap<>();
        client.put("bootstrap.servers", stack.bootstrapServers());
        client.put("schema.registry.url", stack.schemaRegistryUrl());
        RuntimeConfig runtime = RuntimeConfig.from(Map.of("model.warmup", "false"));

        Path v1 = ReleaseTestModels.tinySavedModel(root, "m", 1, 1);
        ModelHolder holder = new ModelHolder(ModelLoader.load(v1, runtime));
        ReleaseConfig cfg = ReleaseConfig.from(Map.of("model.root", root.toString(), "release.topic", topic,
                "release.public.keys.dir", keys.toString(), "release.model.name", "m", "release.poll.ms", "100"));

        try (ReleasePublisher publisher = ReleasePublisher.create(root, base.resolve("k1.key"), null, client, topic);
             KafkaProducer<byte[], byte[]> raw = new KafkaProducer<>(Map.of("bootstrap.servers",
                     stack.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
            // a valid release published before the scorer starts is installed synchronously by start()
            Path export2 = ReleaseTestModels.tinySavedModel(staging, "m", 2, 2);
            ModelRelease r2 = publisher.publish(export2, 1L, Map.of("accuracy", 0.7), false);
            assertThat(r2.getSigningKeyId()).isEqualTo("k1");

            try (ReleaseWatcher watcher = new ReleaseWatcher(cfg, client, holder, meters, runtime)) {
                assertThat(watcher.start()).isTrue();
                assertThat(holder.modelVersion()).isEqualTo("m:2");

                // tampered: a digest that does not match the file
                ReleaseTestModels.tinySavedModel(root, "m", 3, 3);
                ModelRelease tampered = ReleaseTestModels.release(root, "m", 3);
                Map<String, String> d = new HashMap<>(tampered.getDigests());
                d.put("saved_model.pb", "0".repeat(64));
                tampered.setDigests(d);
                publisher.send(ReleaseSigning.signed(tampered, key.getPrivate(), "k1"));
                await("DIGEST_MISMATCH", () -> refused("DIGEST_MISMATCH") == 1);

                publisher.send(ReleaseTestModels.release(root, "m", 3));
                await("UNSIGNED", () -> refused("UNSIGNED") == 1);

                publisher.send(ReleaseTestModels.signedRelease(root, "m", 3, stranger.getPrivate(), "k1"));
                await("BAD_SIGNATURE", () -> refused("BAD_SIGNATURE") == 1);

                ModelRelease escape = ReleaseTestModels.release(root, "m", 3);
                escape.setLocation("../x");
                publisher.send(ReleaseSigning.signed(escape, key.getPrivate(), "k1"));
                await("PATH_ESCAPES_ROOT", () -> refused("PATH_ESCAPES_ROOT") == 1);

                publisher.send(ReleaseTestModels.signedRelease(root, "m", 1, key.getPrivate(), "k1"));
                await("STALE_VERSION", () -> refused("STALE_VERSION") == 1);

                // signed over a corrupt variables file: every digest matches, TensorFlow cannot load it
                Path v4 = ReleaseTestModels.tinySavedModel(root, "m", 4, 4);
                Files.writeString(v4.resolve("variables/variables.data-00000-of-00001"), "not a checkpoint");
                ModelManifest.read(v4).withDigestsOf(v4).write(v4);
                publisher.send(ReleaseTestModels.signedRelease(root, "m", 4, key.getPrivate(), "k1"));
                await("LOAD_FAILED", () -> refused("LOAD_FAILED") == 1);

                raw.send(new ProducerRecord<>(topic, "m".getBytes(), new byte[]{0, 0, 0, 0, 99, 1, 2})).get();
                await("unreadable", () -> meters.counter(ReleaseWatcher.UNREADABLE_METRIC).count() == 1);

                assertThat(holder.modelVersion()).as("the good model keeps serving").isEqualTo("m:2");
                try (ModelHolder.Lease lease = holder.acquire()) {
                    assertThat(lease.model().manifest().version()).isEqualTo(2);
                }

                // the watcher is still alive after all that: the next good release swaps
                ModelRelease r5 = publisher.publish(ReleaseTestModels.tinySavedModel(staging, "m", 5, 5), 2L,
                        null, false);
                await("m:5 installed", () -> holder.modelVersion().equals("m:5"));
                assertThat(watcher.lastInstalled()).hasValueSatisfying(r -> assertThat(r.getVersion())
                        .isEqualTo(r5.getVersion()));
                assertThat(meters.counter(ReleaseWatcher.INSTALLED_METRIC).count()).isEqualTo(2);
            }
        } finally {
            holder.close();
        }
    }

    @Test
    void shouldWaitForAMissingTopicAndInstallARollbackWhenAllowed(LocalStack stack) throws Exception {
        Path root = Files.createDirectories(base.resolve("models"));
        Path keys = Files.createDirectories(base.resolve("keys"));
        KeyFiles.writePublic(keys.resolve("k1.pub"), key.getPublic());
        KeyFiles.writePrivate(base.resolve("k1.key"), key.getPrivate());
        String topic = "model-releases-late-" + UUID.randomUUID();
        Map<String, Object> client = new HashMap<>();
        client.put("bootstrap.servers", stack.bootstrapServers());
        client.put("schema.registry.url", stack.schemaRegistryUrl());
        RuntimeConfig runtime = RuntimeConfig.from(Map.of("model.warmup", "false"));
        ModelHolder holder = new ModelHolder(ModelLoader.load(ReleaseTestModels.tinySavedModel(root, "m", 1, 1),
                runtime));
        ReleaseConfig cfg = ReleaseConfig.from(Map.of("model.root", root.toString(), "release.topic", topic,
                "release.public.keys.dir", keys.toString(), "release.allow.rollback", "true",
                "release.poll.ms", "100"));
        try (ReleaseWatcher watcher = new ReleaseWatcher(cfg, client, holder, meters, runtime)) {
            assertThat(watcher.start()).as("nothing to install: the topic does not exist").isFalse();
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
                assertThat(admin.listTopics().names().get()).as("the watcher must not auto-create it")
                        .doesNotContain(topic);
                admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1)
                        .configs(Map.of("cleanup.policy", "compact")))).all().get();
            }
            try (ReleasePublisher publisher = ReleasePublisher.create(root, base.resolve("k1.key"), null, client,
                    topic)) {
                publisher.publish(ReleaseTestModels.tinySavedModel(root, "m", 2, 2), 1L, null, false);
                await("m:2 installed", () -> holder.modelVersion().equals("m:2"));
                publisher.publish(root.resolve("m/v1"), null, null, true);
                await("rollback to m:1", () -> holder.modelVersion().equals("m:1"));
            }
            assertThat(meters.find(ReleaseWatcher.REFUSED_METRIC).counters()).isEmpty();
        } finally {
            holder.close();
        }
    }
}
