package io.rewardstream.it;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.scoring.ByteTokenizer;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelPackager;
import io.rewardstream.scoring.PythonModels;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.SavedModelRewardModel;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Bring your own model, end to end: a SavedModel exported by Python TensorFlow (Keras 3 ExportArchive, tf.Module with
 * tf.Variables; committed under src/test/resources/models/python) is packaged by {@link ModelPackager} (what
 * {@code rewardstream model package} runs) with the byte tokenizer, and a scorer ({@link ScorerApp}) on the real broker
 * and registry serves it: every rollout (prompt and response TEXT) gets a reward carrying the packaged version and
 * the score the model gives the rollout alone.
 */
@ExtendWith(SharedLocalStack.class)
class PackagedModelIT {
    private static final int N = 120;

    @ParameterizedTest
    @ValueSource(strings = {PythonModels.KERAS_EXPORT, PythonModels.TF_MODULE})
    void shouldServeAPackagedPythonExportEndToEnd(String name, LocalStack stack) throws Exception {
        ScorerIt.Names n = ScorerIt.Names.unique("packaged-" + name);
        ScorerTraffic.createTopics(stack, 2, n.dataTopics());
        Path work = ScorerIt.workDir(n.prefix());
        Path model = PythonModels.copy(name, work.resolve("model"));
        ModelPackager.pack(new ModelPackager.Request(model, "byo-" + name, 1, "bytes", null, null, 96, 0, false));

        Map<String, String> cfg = ScorerIt.config(stack, n, model, work.resolve("state"));
        cfg.put("batch.max.delay.ms", "100");
        List<Rollout> rollouts = textRollouts(n.prefix(), N);
        try (ScorerApp app = new ScorerApp(ScorerConfig.from(cfg));
             ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<Reward> rewards = traffic.rewards(n.rewards());
             SavedModelRewardModel local = ModelLoader.load(model, RuntimeConfig.DEFAULTS)) {
            app.start();
            ScorerIt.await("scorer ready", Duration.ofMinutes(2), app::isReady);
            traffic.produce(n.rollouts(), rollouts);
            List<String> ids = rollouts.stream().map(r -> r.getRolloutId().toString()).toList();
            assertThat(rewards.awaitIds(ids, Duration.ofSeconds(90))).as("every rollout rewarded").isTrue();
            Map<String, Reward> byId = new HashMap<>();
            rewards.all().forEach(r -> byId.put(r.getRolloutId().toString(), r));
            for (Rollout r : rollouts) {
                Reward w = byId.get(r.getRolloutId().toString());
                assertThat(w.getModelVersion().toString()).isEqualTo("byo-" + name + ":1");
                assertThat(w.getScore()).as("score of %s", r.getRolloutId())
                        .isCloseTo(ScorerIt.referenceScore(local, r), within(1e-4));
            }
            long distinct = byId.values().stream().mapToDouble(Reward::getScore).distinct().count();
            assertThat(distinct).as("the model's scores vary with the text").isGreaterThan(N / 2);
        }
    }

    /** Rollouts with prompt and response text (and their byte-tokenizer ids), groups of 4. */
    static List<Rollout> textRollouts(String prefix, int n) {
        Random rnd = new Random(5);
        String[] words = {"the", "sum", "of", "two", "and", "three", "is", "five", "six", "answer", "because", "so"};
        List<Rollout> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String group = prefix + "-g" + i / 4;
            String prompt = "What is " + (i % 7) + " + " + (i % 5) + "?";
            StringBuilder response = new StringBuilder();
            for (int w = 0, len = 1 + rnd.nextInt(12); w < len; w++) {
                response.append(w == 0 ? "" : " ").append(words[rnd.nextInt(words.length)]);
            }
            List<Integer> responseIds = byteIds(response.toString());
            List<Float> logprobs = new ArrayList<>(Collections.nCopies(responseIds.size(), -0.7f));
            out.add(Rollout.newBuilder().setRolloutId(group + "-r" + i % 4).setGroupId(group).setGroupSize(4)
                    .setPolicyVersion("step-1").setPromptTokenIds(byteIds(prompt))
                    .setResponseTokenIds(responseIds).setPromptText(prompt).setResponseText(response.toString())
                    .setPolicyLogprobs(logprobs).setReferenceLogprobs(logprobs).setFinishReason(FinishReason.STOP)
                    .setCreatedAt(Instant.now()).setMetadata(Map.of()).build());
        }
        return out;
    }

    private static List<Integer> byteIds(String s) {
        List<Integer> out = new ArrayList<>();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            out.add((b & 0xff) + ByteTokenizer.OFFSET);
        }
        return out;
    }
}
