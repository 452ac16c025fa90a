package io.rewardstream.it;

import io.rewardstream.dev.LocalStack;
import io.rewardstream.files.FileTrees;
import io.rewardstream.release.KeyFiles;
import io.rewardstream.release.ReleasePublisher;
import io.rewardstream.release.ReleaseSigning;
import io.rewardstream.release.ReleaseWriter;
import io.rewardstream.training.SavedModelRoundTrainerTest;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.List;
import java.util.Map;

/**
 * The starting point of the feedback-loop ITs (in process, {@link FeedbackLoopIT}; in containers,
 * {@link ContainerRetrainIT}): unique topics (the scorer's, preference pairs with 2 partitions, rankings with 1, the
 * compacted release topic), a work directory with a model root and a fresh signing key pair, and release {@code fb:1}
 * (the built-in tiny model trained on addition only) signed and published into the root and the release topic.
 *
 * @param privateKeys directory holding {@code release.key} (key id {@code release})
 * @param publicKeys  directory holding {@code release.pub}, what a scorer verifies releases with
 */
record FeedbackFixture(ScorerIt.Names names, String prefs, String ranked, Path work, Path root, Path privateKeys,
                       Path publicKeys, Map<String, Object> client) {

    static FeedbackFixture publishBase(LocalStack stack, String name) throws Exception {
        ScorerIt.Names n = ScorerIt.Names.unique(name);
        String prefs = n.prefix() + "-prefs";
        String ranked = n.prefix() + "-ranked";
        ScorerTraffic.createTopics(stack, 2, n.dataTopics());
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(prefs, 2, (short) 1), new NewTopic(ranked, 1, (short) 1),
                    new NewTopic(n.releases(), 1, (short) 1).configs(Map.of("cleanup.policy", "compact")))).all().get();
        }
        Path work = ScorerIt.workDir(n.prefix());
        Path root = Files.createDirectories(work.resolve("models"));
        Path priv = Files.createDirectories(work.resolve("keys-private"));
        Path pub = Files.createDirectories(work.resolve("keys-public"));
        KeyPair key = ReleaseSigning.generateKeyPair();
        KeyFiles.writePrivate(priv.resolve("release.key"), key.getPrivate());
        KeyFiles.writePublic(pub.resolve("release.pub"), key.getPublic());
        Map<String, Object> client = ScorerTraffic.clientProps(stack);

        Path base = SavedModelRoundTrainerTest.additionModel(work, 150);
        ReleaseWriter writer = new ReleaseWriter(root, "fb");
        Path staged = writer.newTempDir();
        FileTrees.copyTree(base, staged);
        writer.stamp(staged, 1, null, Map.of(), Map.of("trained_on", "addition"));
        try (ReleasePublisher publisher = ReleasePublisher.create(root, priv.resolve("release.key"), "release", client,
                n.releases())) {
            publisher.publish(staged, null, null, false);
        }
        return new FeedbackFixture(n, prefs, ranked, work, root, priv, pub, client);
    }

    /** The private key file the retraining job signs with. */
    Path signingKey() {
        return privateKeys.resolve("release.key");
    }
}
