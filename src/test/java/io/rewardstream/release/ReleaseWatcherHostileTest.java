package io.rewardstream.release;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.scoring.ConstantRewardModel;

import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.ModelManifest;

import io.rewardstream.scoring.ReleaseTestModels;
import io.rewardstream.testing.LogCapture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile releases against a scorer serving m:3 (rollback not allowed): unsigned, signed by a stranger, signed under an
 * unknown key id, a replayed OLDER validly signed release, the same replay with its rollback flag flipped by the
 * attacker, an honestly signed rollback, and locations escaping the model root (dot-dot, absolute, symlink). Each is
 * refused with its reason in a WARN log line and in {@code rewardstream.releases.refused{reason}}, and m:3 keeps serving.
 */
class ReleaseWatcherHostileTest {
    @TempDir
    Path root;
    @TempDir
    Path keys;
    @TempDir
    Path outside;

    private final KeyPair key = ReleaseSigning.generateKeyPair();
    private final KeyPair stranger = ReleaseSigning.generateKeyPair();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private ModelHolder holder;

    @BeforeEach
    void setUp() throws IOException {
        KeyFiles.writePublic(keys.resolve("k1.pub"), key.getPublic());
        holder = new ModelHolder(new ConstantRewardModel(ReleaseTestModels.manifest("m", 3), 0f));
    }

    @Test
    void shouldRefuseEveryHostileReleaseWithALoggedReasonAndACounter() throws IOException {
        ReleaseWatcher w = new ReleaseWatcher(ReleaseConfig.from(Map.of("model.root", root.toString(),
                "release.public.keys.dir", keys.toString(), "release.model.name", "m")), Map.of(), holder, meters,
                dir -> {
                    try {
                        return new ConstantRewardModel(ModelManifest.read(dir), 1f);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
        for (long v = 2; v <= 9; v++) {
            ReleaseTestModels.fakeModelDir(root, "m", v);
        }
        Map<String, Map.Entry<ModelRelease, String>> cases = new LinkedHashMap<>();
        cases.put("unsigned", Map.entry(ReleaseTestModels.release(root, "m", 4), "UNSIGNED"));
        cases.put("stranger", Map.entry(ReleaseTestModels.signedRelease(root, "m", 5, stranger.getPrivate(), "k1"),
                "BAD_SIGNATURE"));
        cases.put("unknown-key", Map.entry(ReleaseTestModels.signedRelease(root, "m", 6, key.getPrivate(), "k9"),
                "UNKNOWN_KEY"));
        ModelRelease old = ReleaseTestModels.signedRelease(root, "m", 2, key.getPrivate(), "k1");
        cases.put("replayed-older", Map.entry(old, "STALE_VERSION"));
        ModelRelease forgedRollback = ModelRelease.newBuilder(old).build();
        forgedRollback.setRollback(true); // the flag is covered by the signature
        cases.put("replayed-with-forged-rollback", Map.entry(forgedRollback, "BAD_SIGNATURE"));
        ModelRelease honestRollback = ReleaseTestModels.release(root, "m", 2);
        honestRollback.setRollback(true);
        cases.put("rollback-not-allowed", Map.entry(ReleaseSigning.signed(honestRollback, key.getPrivate(), "k1"),
                "STALE_VERSION"));
        ModelRelease dotdot = ReleaseTestModels.release(root, "m", 7);
        dotdot.setLocation("../../etc");
        cases.put("dot-dot", Map.entry(ReleaseSigning.signed(dotdot, key.getPrivate(), "k1"), "PATH_ESCAPES_ROOT"));
        ModelRelease absolute = ReleaseTestModels.release(root, "m", 8);
        absolute.setLocation(outside.toString());
        cases.put("absolute", Map.entry(ReleaseSigning.signed(absolute, key.getPrivate(), "k1"), "PATH_ESCAPES_ROOT"));
        ReleaseTestModels.fakeModelDir(outside, "m", 9);
        Path link = root.resolve("m/v9-link");
        Files.createSymbolicLink(link, outside.resolve("m/v9"));
        ModelRelease symlink = ReleaseTestModels.release(root, "m", 9);
        symlink.setLocation(root.relativize(link).toString());
        cases.put("symlink", Map.entry(ReleaseSigning.signed(symlink, key.getPrivate(), "k1"), "PATH_ESCAPES_ROOT"));

        Map<String, Integer> expected = new LinkedHashMap<>();
        try (LogCapture logs = LogCapture.install()) {
            for (var c : cases.entrySet()) {
                String reason = c.getValue().getValue();
                int before = logs.lines().size();
                assertThat(w.handle(c.getValue().getKey())).as(c.getKey()).isFalse();
                assertThat(w.lastRefusal()).as(c.getKey()).hasValueSatisfying(e ->
                        assertThat(e.reason().name()).as(c.getKey() + ": " + e.getMessage()).isEqualTo(reason));
                assertThat(logs.lines().subList(before, logs.lines().size())).as("log of %s", c.getKey())
                        .anySatisfy(l -> assertThat(l).startsWith("WARN").contains("REFUSED (" + reason + ")")
                                .contains("m:3 keeps serving"));
                expected.merge(reason, 1, Integer::sum);
                assertThat(holder.modelVersion()).as(c.getKey()).isEqualTo("m:3");
            }
        }
        expected.forEach((reason, n) -> assertThat(meters.find(ReleaseWatcher.REFUSED_METRIC).tag("reason", reason)
                .counter().count()).as(reason).isEqualTo(n.doubleValue()));
        assertThat(meters.find(ReleaseWatcher.INSTALLED_METRIC).counter()).isNull();
    }
}
