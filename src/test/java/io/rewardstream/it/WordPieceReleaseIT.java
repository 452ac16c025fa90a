package io.rewardstream.it;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.release.KeyFiles;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.release.ReleaseSigning;
import io.rewardstream.scoring.ReleaseTestModels;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.topology.ReleaseWatcherHook;
import io.rewardstream.release.ReleasePublisher;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A {@code wordpiece} model released through {@code model.root} ALONE (no {@code model.dir}, so no other vocabulary is
 * anywhere in the configuration) scores end to end: the scorer starts empty, installs the signed release, encodes
 * text rollouts with the release's own {@code assets/vocab.txt}, and every reward carries exactly the score the
 * model gives the text under that vocabulary.
 */
@ExtendWith(SharedLocalStack.class)
class WordPieceReleaseIT {

    @Test
    void shouldScoreAWordPieceReleaseWithItsOwnVocabulary(LocalStack stack) throws Exception {
        ScorerIt.Names n = ScorerIt.Names.unique("wordpiece");
        ScorerTraffic.createTopics(stack, 1, n.dataTopics());
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(n.releases(), 1, (short) 1)
                    .configs(Map.of("cleanup.policy", "compact")))).all().get();
        }
        Path work = ScorerIt.workDir(n.prefix());
        Path root = Files.createDirectories(work.resolve("models"));
        Path pub = Files.createDirectories(work.resolve("pub"));
        KeyPair key = ReleaseSigning.generateKeyPair();
        KeyFiles.writePrivate(work.resolve("release.key"), key.getPrivate());
        KeyFiles.writePublic(pub.resolve("release.pub"), key.getPublic());
        Path staged = ReleaseTestModels.tinyWordPieceModel(Files.createDirectories(work.resolve("staging")), "wp", 1, 7);
        try (ReleasePublisher publisher = ReleasePublisher.create(root, work.resolve("release.key"), "release",
                ScorerTraffic.clientProps(stack), n.releases())) {
            publisher.publish(staged, null, null, false);
        }

        Map<String, String> sc = ScorerIt.config(stack, n, null, work.resolve("state"));
        sc.put("batch.max.delay.ms", "100");
        sc.put("model.root", root.toString());
        sc.put("release.topic", n.releases());
        sc.put("release.public.keys.dir", pub.toString());
        sc.put("release.model.name", "wp");
        sc.put("release.poll.ms", "200");
        sc.put("metrics.port", "-1");
        ScorerConfig config = ScorerConfig.from(sc);
        assertThat(config.runtime().modelDir()).isNull();

        List<Rollout> rollouts = new ArrayList<>();
        String[] answers = {"four", "five", "three threes", "the answer is four.", "twos plus twos"};
        int i = 0;
        for (Rollout r : new RolloutGenerator(11, n.prefix(), 260, 128).groups(5, 2)) {
            rollouts.add(Rollout.newBuilder(r).setPromptText("what is two plus two?")
                    .setResponseText(answers[i++ % answers.length]).build());
        }
        ScorerApp app = new ScorerApp(config, ReleaseWatcherHook.forConfig(config), null, null);
        try (RewardModel reference = ModelLoader.load(root.resolve("wp/v1"),
                RuntimeConfig.from(Map.of("model.warmup", "false")))) {
            app.start();
            assertThat(app.holder().modelVersion()).isEqualTo("wp:1");
            try (ScorerTraffic traffic = new ScorerTraffic(stack);
                 ScorerTraffic.Reader<Reward> rewards = traffic.rewards(n.rewards())) {
                traffic.produce(n.rollouts(), rollouts);
                assertThat(rewards.awaitIds(rollouts.stream().map(Rollout::getRolloutId).toList(),
                        Duration.ofMinutes(2))).as("every rollout rewarded").isTrue();
                Map<String, Rollout> byId = new java.util.HashMap<>();
                rollouts.forEach(r -> byId.put(r.getRolloutId(), r));
                java.util.Set<Double> distinct = new java.util.HashSet<>();
                for (Reward r : rewards.all()) {
                    assertThat(r.getModelVersion()).isEqualTo("wp:1");
                    double expected = ScorerIt.referenceScore(reference, byId.get(r.getRolloutId()));
                    assertThat(r.getScore()).as(r.getRolloutId()).isCloseTo(expected, within(1e-5));
                    distinct.add(r.getScore());
                }
                // the texts differ, so the vocabulary really shaped the input (not one constant score)
                assertThat(distinct).hasSizeGreaterThan(2);
            }
        } finally {
            app.close();
        }
    }
}
