package io.rewardstream.release;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.scoring.ConstantRewardModel;

import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.ModelOutput;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RewardModel;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import io.rewardstream.scoring.ReleaseTestModels;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The verify-load-swap step without a broker (the Kafka side is covered by ReleaseWatcherIT). */
class ReleaseWatcherTest {

    @TempDir
    Path root;
    @TempDir
    Path keys;

    private final KeyPair key = ReleaseSigning.generateKeyPair();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private ModelHolder holder;
    private ConstantRewardModel initial;

    @BeforeEach
    void setUp() throws IOException {
        KeyFiles.writePublic(keys.resolve("k1.pub"), key.getPublic());
        initial = new ConstantRewardModel(ReleaseTestModels.manifest("m", 1), 0f);
        holder = new ModelHolder(initial);
    }

    private ReleaseWatcher watcher(boolean failLoads) {
        return watcher(failLoads, false);
    }

    private ReleaseWatcher watcher(boolean failLoads, boolean allowRollback) {
        ReleaseConfig cfg = ReleaseConfig.from(Map.of("model.root", root.toString(),
                "release.public.keys.dir", keys.toString(), "release.model.name", "m",
                "release.allow.rollback", String.valueOf(allowRollback)));
        return new ReleaseWatcher(cfg, Map.of(), holder, meters, dir -> {
            if (failLoads) {
                throw new IllegalStateException("corrupt variables file");
            }
            try {
                return new ConstantRewardModel(ModelManifest.read(dir), 1f);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private ModelRelease signed(long version) throws IOException {
        ReleaseTestModels.fakeModelDir(root, "m", version);
        return ReleaseTestModels.signedRelease(root, "m", version, key.getPrivate(), "k1");
    }

    private double refused(String reason) {
        var c = meters.find(ReleaseWatcher.REFUSED_METRIC).tag("reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void shouldSwapAValidReleaseAndCloseTheOldModelAfterItsLastLease() throws IOException {
        ReleaseWatcher w = watcher(false);
        ModelHolder.Lease inFlight = holder.acquire();
        assertThat(w.handle(signed(2))).isTrue();
        assertThat(holder.modelVersion()).isEqualTo("m:2");
        assertThat(w.lastInstalled()).hasValueSatisfying(r -> assertThat(r.getVersion()).isEqualTo(2));
        assertThat(initial.isClosed()).isFalse();
        inFlight.close();
        assertThat(initial.isClosed()).isTrue();
        assertThat(meters.counter(ReleaseWatcher.INSTALLED_METRIC).count()).isEqualTo(1);
    }

    @Test
    void shouldCountARefusalByReasonAndKeepServing() throws IOException {
        ReleaseWatcher w = watcher(false);
        ModelRelease r = signed(2);
        Files.writeString(root.resolve("m/v2/saved_model.pb"), "tampered");
        assertThat(w.handle(r)).isFalse();
        assertThat(holder.modelVersion()).isEqualTo("m:1");
        assertThat(refused("DIGEST_MISMATCH")).isEqualTo(1);
        assertThat(w.lastRefusal()).hasValueSatisfying(e -> assertThat(e.getMessage()).contains("saved_model.pb"));
    }

    @Test
    void shouldCountALoadFailureAndKeepServing() throws IOException {
        ReleaseWatcher w = watcher(true);
        assertThat(w.handle(signed(2))).isFalse();
        assertThat(holder.modelVersion()).isEqualTo("m:1");
        assertThat(refused("LOAD_FAILED")).isEqualTo(1);
    }

    @Test
    void shouldCountTheLoadersOwnRefusalByItsReasonAndKeepServing() throws IOException {
        ReleaseConfig cfg = ReleaseConfig.from(Map.of("model.root", root.toString(),
                "release.public.keys.dir", keys.toString(), "release.model.name", "m"));
        ReleaseWatcher w = new ReleaseWatcher(cfg, Map.of(), holder, meters, dir -> {
            throw new ReleaseRefusedException(ReleaseRefusedException.Reason.CONFIG_MISMATCH, "batch.max.tokens 64");
        });
        assertThat(w.handle(signed(2))).isFalse();
        assertThat(holder.modelVersion()).isEqualTo("m:1");
        assertThat(refused("CONFIG_MISMATCH")).as("not turned into LOAD_FAILED").isEqualTo(1);
        assertThat(refused("LOAD_FAILED")).isZero();
    }

    @Test
    void shouldGoOnWithTheNextReleaseWhenInstallingOneFailsUnexpectedly() throws IOException {
        // FAKE model for this test only: closing it (when the next release replaces it) throws
        RewardModel brittle = new RewardModel() {
            @Override
            public ModelManifest manifest() {
                return ReleaseTestModels.manifest("m", 1);
            }

            @Override
            public ModelOutput score(PaddedBatch batch) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void close() {
                throw new RuntimeException("TF_DeleteSession: native handle already freed");
            }
        };
        holder = new ModelHolder(brittle);
        ReleaseWatcher w = watcher(false);
        assertThat(w.handleSafely(signed(2), "t-0@0")).isFalse();
        assertThat(refused(ReleaseWatcher.INSTALL_FAILED)).isEqualTo(1);
        assertThat(w.handleSafely(signed(3), "t-0@1")).as("the next record is still handled").isTrue();
        assertThat(holder.modelVersion()).isEqualTo("m:3");
    }

    @Test
    void shouldOrderOneModelsReleasesByTheirPositionWhateverTheirTimestamps() {
        // m:6 then m:7 from a publisher whose clock lags: m:7 is the newer one; n's record sorts by its own time
        List<ConsumerRecord<byte[], byte[]>> records = new java.util.ArrayList<>(List.of(
                record(0, 10, 1_000, "m"), record(0, 11, 900, "m"), record(0, 12, 950, "n"),
                record(1, 0, 2_000, "x")));
        ReleaseWatcher.newestFirst(records);
        assertThat(records).extracting(r -> new String(r.key()) + "@" + r.offset())
                .containsExactly("x@0", "m@11", "m@10", "n@12");
    }

    private static ConsumerRecord<byte[], byte[]> record(int partition, long offset, long timestamp, String key) {
        return new ConsumerRecord<>("releases", partition, offset, timestamp,
                org.apache.kafka.common.record.TimestampType.CREATE_TIME, 1, 1, key.getBytes(), new byte[]{1},
                new org.apache.kafka.common.header.internals.RecordHeaders(), java.util.Optional.empty());
    }

    @Test
    void shouldNotReinstallOrCountTheServingVersion() throws IOException {
        ReleaseWatcher w = watcher(false);
        assertThat(w.handle(signed(1))).isFalse();
        assertThat(meters.find(ReleaseWatcher.REFUSED_METRIC).counters()).isEmpty();
        assertThat(w.handle(signed(0))).isFalse();
        assertThat(refused("STALE_VERSION")).isEqualTo(1);
    }

    @Test
    void shouldInstallAnAllowedRollbackToALowerVersion() throws IOException {
        ReleaseWatcher w = watcher(false, true);
        assertThat(w.handle(signed(3))).isTrue();
        ReleaseTestModels.fakeModelDir(root, "m", 2);
        ModelRelease rollback = ReleaseTestModels.release(root, "m", 2);
        rollback.setRollback(true);
        assertThat(w.handle(ReleaseSigning.signed(rollback, key.getPrivate(), "k1"))).isTrue();
        assertThat(holder.modelVersion()).isEqualTo("m:2");
    }

    @Test
    void shouldAcceptOnlyTheConfiguredModelName() throws IOException {
        // the name filter is applied before handle(); the config says which names are accepted
        ReleaseConfig one = ReleaseConfig.from(Map.of("model.root", "/r", "release.allow.unsigned", "true",
                "release.model.name", "m"));
        assertThat(one.accepts("m")).isTrue();
        assertThat(one.accepts("other")).isFalse();
    }

    @Test
    void shouldReadTheConfigurationKeysWithDefaults() {
        ReleaseConfig c = ReleaseConfig.from(Map.of("model.root", "/models", "release.allow.unsigned", "true"));
        assertThat(c.topic()).isEqualTo("model-releases");
        assertThat(c.allowRollback()).isFalse();
        assertThat(c.pollMs()).isEqualTo(1000);
        assertThat(c.accepts("anything")).isTrue();
        assertThatThrownBy(() -> ReleaseConfig.from(Map.of("model.root", "/models")))
                .hasMessageContaining("release.public.keys.dir");
        assertThatThrownBy(() -> ReleaseConfig.from(Map.of("model.root", "/m", "release.allow.unsigned", "yes")))
                .hasMessageContaining("release.allow.unsigned");
        assertThatThrownBy(() -> ReleaseConfig.from(Map.of())).hasMessageContaining("model.root");
    }
}
