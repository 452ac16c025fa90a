package io.rewardstream.release;

import io.rewardstream.avro.ModelRelease;
import io.rewardstream.scoring.ModelLoadException;

import io.rewardstream.scoring.ReleaseTestModels;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReleasePublisherTest {

    @TempDir
    Path base;
    Path root;
    Path staging;

    private final KeyPair key = ReleaseSigning.generateKeyPair();
    private final MockProducer<String, ModelRelease> producer =
            new MockProducer<>(true, null, new StringSerializer(), (topic, r) -> new byte[0]);
    private ReleasePublisher publisher;

    @BeforeEach
    void setUp() throws IOException {
        root = Files.createDirectories(base.resolve("models"));
        staging = Files.createDirectories(base.resolve("staging"));
        publisher = new ReleasePublisher(root, key.getPrivate(), "k1", producer, "model-releases");
    }

    /** An exported model at staging/export-<version> (the fake dir helper puts it at staging/m/v<version>). */
    private Path exported(long version) throws IOException {
        Path dir = ReleaseTestModels.fakeModelDir(staging, "m", version);
        return Files.move(dir, staging.resolve("export-" + version));
    }

    @Test
    void shouldMoveSignAndPublishAReleaseThatTheVerifierAccepts() throws IOException {
        Path export = exported(3);
        ModelRelease r = publisher.publish(export, 2L, Map.of("accuracy", 0.8), false);
        assertThat(export).doesNotExist();
        assertThat(root.resolve("m/v3/rewardstream-model.json")).exists();
        assertThat(r.getLocation()).isEqualTo("m/v3");
        assertThat(r.getDigests()).containsKeys("saved_model.pb", "variables/variables.index",
                "rewardstream-model.json");
        assertThat(r.getParentVersion()).isEqualTo(2L);
        assertThat(r.getSigningKeyId()).isEqualTo("k1");
        assertThat(producer.history()).singleElement().satisfies(rec -> {
            assertThat(rec.key()).isEqualTo("m");
            assertThat(rec.topic()).isEqualTo("model-releases");
            assertThat(rec.value()).isSameAs(r);
        });
        ReleaseVerifier verifier = new ReleaseVerifier(root, Map.of("k1", key.getPublic()), false, false);
        assertThat(verifier.verify(r, null).manifest().version()).isEqualTo(3);
    }

    @Test
    void shouldRepublishAnInstalledVersionInPlaceAsARollback() throws IOException {
        publisher.publish(exported(3), null, null, false);
        ModelRelease again = publisher.publish(root.resolve("m/v3"), null, null, true);
        assertThat(again.getRollback()).isTrue();
        assertThat(producer.history()).hasSize(2);
    }

    @Test
    void shouldNeverOverwriteAnExistingReleaseDirectory() throws IOException {
        publisher.publish(exported(3), null, null, false);
        Path other = exported(3);
        assertThatThrownBy(() -> publisher.publish(other, null, null, false))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("never overwritten");
        assertThat(producer.history()).hasSize(1);
    }

    @Test
    void shouldRefuseAnExportWhoseFilesDisagreeWithItsManifest() throws IOException {
        Path export = exported(4);
        Files.writeString(export.resolve("saved_model.pb"), "changed after export");
        assertThatThrownBy(() -> publisher.publish(export, null, null, false))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("saved_model.pb");
        assertThat(root.resolve("m/v4")).doesNotExist();
        assertThat(producer.history()).isEmpty();
    }

    @Test
    void shouldReportAFailedSend() throws IOException {
        MockProducer<String, ModelRelease> failing =
                new MockProducer<>(false, null, new StringSerializer(), (topic, r) -> new byte[0]);
        ReleasePublisher p = new ReleasePublisher(root, key.getPrivate(), "k1", failing, "model-releases");
        Path export = exported(5);
        Thread t = new Thread(() -> {
            while (failing.history().isEmpty()) {
                Thread.onSpinWait();
            }
            failing.errorNext(new org.apache.kafka.common.errors.TimeoutException("broker down"));
        });
        t.start();
        assertThatThrownBy(() -> p.publish(export, null, null, false))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("broker down");
    }
}
