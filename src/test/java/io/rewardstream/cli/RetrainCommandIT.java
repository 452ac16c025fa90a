package io.rewardstream.cli;

import io.rewardstream.avro.PreferencePair;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.training.ArithmeticTask;
import io.rewardstream.training.PreferenceExample;
import io.rewardstream.training.RetrainJobIT;
import io.rewardstream.training.SavedModelRoundTrainerTest;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code Main retrain} in its own JVM, as the crash tests drive it: ready file, one log line per round phase,
 * and a clean stop on SIGTERM (ready file removed, consumer closed).
 */
@ExtendWith(SharedLocalStack.class)
class RetrainCommandIT {

    @Test
    void shouldRunARoundInItsOwnJvmAndStopCleanlyOnSigterm(LocalStack stack, @TempDir Path dir) throws Exception {
        Path base = SavedModelRoundTrainerTest.additionModel(dir, 100);
        String id = UUID.randomUUID().toString().substring(0, 8);
        String prefs = "prefs-" + id;
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(prefs, 1, (short) 1), new NewTopic("ranked-" + id, 1, (short) 1),
                    new NewTopic("releases-" + id, 1, (short) 1).configs(Map.of("cleanup.policy", "compact")),
                    new NewTopic("dlq-" + id, 1, (short) 1))).all().get();
        }
        Path config = dir.resolve("retrain.properties");
        Files.writeString(config, String.join("\n",
                "bootstrap.servers=" + stack.bootstrapServers(),
                "schema.registry.url=" + stack.schemaRegistryUrl(),
                "retrain.group.id=retrain-" + id,
                "topics.preferences.name=" + prefs,
                "topics.ranked-preferences.name=ranked-" + id,
                "topics.model-releases.name=releases-" + id,
                "topics.rewardstream-dead-letters.name=dlq-" + id,
                "retrain.min.new.pairs=1000",
                "retrain.steps=30",
                "retrain.replay.dir=" + dir.resolve("replay"),
                "retrain.model.root=" + dir.resolve("models"),
                "retrain.model.name=builtin-tiny",
                "retrain.allow.unsigned=true",
                "retrain.base.model.dir=" + base,
                "retrain.heldout.fraction=0.2",
                "kafka.group.instance.id=retrain-cli-" + id, ""));
        Path ready = dir.resolve("ready");
        Path err = dir.resolve("stderr.txt");
        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                "io.rewardstream.cli.Main", "retrain", "--config", config.toString(),
                "--set", "retrain.min.new.pairs=200", "--ready-file", ready.toString()));
        Process p = new ProcessBuilder(cmd).redirectOutput(dir.resolve("stdout.txt").toFile())
                .redirectError(err.toFile()).start();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!Files.exists(ready) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(Files.exists(ready)).as("ready file; stderr:%n%s", Files.readString(err)).isTrue();
            ArithmeticTask mul = new ArithmeticTask(ArithmeticTask.Config.defaults()
                    .withOps(List.of(ArithmeticTask.Operation.MUL)).withSeed(5));
            List<PreferencePair> pairs = new ArrayList<>();
            for (PreferenceExample e : mul.generate(200, ArithmeticTask.Part.ANY, false)) {
                pairs.add(RetrainJobIT.toAvro(e, "a"));
            }
            RetrainJobIT.publish(stack, prefs, pairs, List.of());
            deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!Files.readString(err).contains("round 1: committed") && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            String log = Files.readString(err);
            assertThat(log).as(log).contains("round 1: starting", "round 1: training", "round 1: gate",
                    "round 1: committing", "round 1: committed");
            assertThat(log).containsAnyOf("round 1: published builtin-tiny:1", "round 1: rejected candidate");
            p.destroy();   // SIGTERM
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(Files.readString(err)).contains("retrain job closed");
            assertThat(ready).doesNotExist();
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }
}
