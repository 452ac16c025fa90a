package io.rewardstream.it;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.scoring.EncodedSequence;
import io.rewardstream.scoring.ModelOutput;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.SequenceParts;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Shared pieces of the scorer integration tests: names, configs, waiting, metrics, reference scores. */
final class ScorerIt {
    private ScorerIt() {
    }

    /** Topic names and application id unique to one test. */
    record Names(String prefix, String appId, String rollouts, String rewards, String advantages, String deadLetters,
                 String releases) {
        static Names unique(String test) {
            String p = test + "-" + UUID.randomUUID().toString().substring(0, 8);
            return new Names(p, p + "-scorer", p + "-rollouts", p + "-rewards", p + "-advantages", p + "-dlq",
                    p + "-releases");
        }

        String[] dataTopics() {
            return new String[]{rollouts, rewards, advantages, deadLetters};
        }
    }

    /** Keys every test scorer needs: stack, topics, fast failure detection, ephemeral metrics port, own state dir. */
    static Map<String, String> config(LocalStack stack, Names n, Path modelDir, Path stateDir) {
        Map<String, String> m = new HashMap<>();
        m.put("application.id", n.appId());
        m.put("bootstrap.servers", stack.bootstrapServers());
        m.put("schema.registry.url", stack.schemaRegistryUrl());
        m.put("topics.rollouts.name", n.rollouts());
        m.put("topics.rewards.name", n.rewards());
        m.put("topics.group-advantages.name", n.advantages());
        m.put("topics.rewardstream-dead-letters.name", n.deadLetters());
        if (modelDir != null) {
            m.put("model.dir", modelDir.toString());
        }
        m.put("model.warmup", "false");
        m.put("model.intra.op.threads", "1");
        m.put("model.inter.op.threads", "1");
        m.put("state.dir", stateDir.toString());
        m.put("metrics.port", "0");
        // a killed member is evicted after this (the broker's minimum); a crash restart waits it out
        m.put("session.timeout.ms", "6000");
        m.put("heartbeat.interval.ms", "1500");
        // an open transaction of a killed instance is aborted after this at the latest
        m.put("transaction.timeout.ms", "10000");
        m.put("commit.interval.ms", "100");
        m.put("group.timeout.ms", "5000");
        m.put("shutdown.timeout.ms", "20000");
        m.put("replication.factor", "1");
        return m;
    }

    static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(100);
        }
    }

    /** Scorer instances of the consumer group {@code appId} (all stream threads of one process together) with the number of partitions of {@code topic} each is assigned. */
    static Map<String, Integer> assignments(LocalStack stack, String appId, String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(appId)).all().get().get(appId);
            Map<String, Integer> out = new HashMap<>();
            for (MemberDescription m : d.members()) {
                int n = (int) m.assignment().topicPartitions().stream().filter(tp -> tp.topic().equals(topic)).count();
                // per instance, not per stream thread: a scorer runs num.stream.threads consumers
                String instance = m.clientId().replaceAll("-StreamThread-\\d+-consumer$", "");
                out.merge(m.host() + "/" + instance, n, Integer::sum);
            }
            return out;
        }
    }

    /**
     * Sum of a Prometheus series' values on {@code <base>/metrics}: lines starting with {@code name} whose labels
     * contain {@code labelPart} (empty for any).
     */
    static double metric(String base, String name, String labelPart) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        Pattern p = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*})?\\s+(\\S+)$", Pattern.MULTILINE);
        Matcher m = p.matcher(r.body());
        double sum = 0;
        while (m.find()) {
            String labels = m.group(1) == null ? "" : m.group(1);
            if (labels.contains(labelPart)) {
                sum += Double.parseDouble(m.group(2));
            }
        }
        return sum;
    }

    /**
     * The raw score {@code model} gives {@code r} alone (single row, padded to its own length): what a reward naming
     * this model's version must carry (masked mean pooling makes the score independent of batch padding).
     */
    static double referenceScore(RewardModel model, Rollout r) {
        // the model's own encoder (its own tokenizer files), as the scorer uses it
        EncodedSequence e = model.encoder().encode(new SequenceParts(ints(r.getPromptTokenIds()),
                ints(r.getResponseTokenIds()), r.getPromptText(), r.getResponseText()));
        PaddedBatch b = PaddedBatch.of(new int[][]{e.ids()}, new int[]{0}, e.length(), model.manifest().padId());
        ModelOutput out = model.score(b);
        return out.reward()[0];
    }

    private static int[] ints(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A directory under target/ for logs and state that survives the run (for post-mortems). */
    static Path workDir(String name) throws IOException {
        Path d = Path.of("target", "it-work", name).toAbsolutePath();
        Files.createDirectories(d);
        return d;
    }

    static String describe(List<Reward> rewards, int max) {
        StringBuilder sb = new StringBuilder();
        rewards.stream().limit(max).forEach(r -> sb.append(r.getRolloutId()).append(' ').append(r.getModelVersion())
                .append(' ').append(r.getScore()).append('\n'));
        return sb.toString();
    }
}
