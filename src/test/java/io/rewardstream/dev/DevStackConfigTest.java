package io.rewardstream.dev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevStackConfigTest {

    @Test
    void shouldBindBrokerAndControllerToLoopbackOnlyWithTestSettings(@TempDir Path dir) {
        Properties p = EmbeddedKafka.brokerProperties(dir, 1111, 2222);

        assertThat(p.getProperty("listeners"))
                .isEqualTo("PLAINTEXT://127.0.0.1:1111,CONTROLLER://127.0.0.1:2222");
        assertThat(p.getProperty("advertised.listeners")).isEqualTo("PLAINTEXT://127.0.0.1:1111");
        assertThat(p.getProperty("controller.quorum.bootstrap.servers")).isEqualTo("127.0.0.1:2222");
        assertThat(p.getProperty("auto.create.topics.enable")).isEqualTo("false");
        assertThat(Long.parseLong(p.getProperty("log.index.size.max.bytes")))
                .as("small preallocated indexes (sparse 10 MiB ones cost the broker page-cache zeroing on faults)")
                .isLessThanOrEqualTo(1024 * 1024)
                .isGreaterThanOrEqualTo(64L * 1024 * 1024 / 4096 * 12);   // a full 64 MiB segment's time index
        assertThat(p.getProperty("offsets.topic.replication.factor")).isEqualTo("1");
        assertThat(p.getProperty("transaction.state.log.replication.factor")).isEqualTo("1");
        assertThat(p.getProperty("transaction.state.log.min.isr")).isEqualTo("1");
        assertThat(p.getProperty("group.initial.rebalance.delay.ms")).isEqualTo("0");
        assertThat(p.getProperty("log.dirs")).isEqualTo(dir.toAbsolutePath().toString());
    }

    @Test
    void shouldExplainHowToGetTheRegistryWhenTheJarIsMissing(@TempDir Path empty) {
        String old = System.getProperty(ApicurioRegistry.DIR_PROPERTY);
        System.setProperty(ApicurioRegistry.DIR_PROPERTY, empty.toString());
        try {
            assertThatThrownBy(ApicurioRegistry::findRunnerJar)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("./mvnw package -DskipTests")
                    .hasMessageContaining(empty.toString());
        } finally {
            restore(old);
        }
    }

    @Test
    void shouldFindTheRunnerJarBelowTheConfiguredDirectory(@TempDir Path dir) throws Exception {
        Path jar = Files.createDirectories(dir.resolve("nested")).resolve(ApicurioRegistry.RUNNER_JAR);
        Files.writeString(jar, "not really a jar");
        String old = System.getProperty(ApicurioRegistry.DIR_PROPERTY);
        System.setProperty(ApicurioRegistry.DIR_PROPERTY, dir.toString());
        try {
            assertThat(ApicurioRegistry.findRunnerJar()).isEqualTo(jar);
        } finally {
            restore(old);
        }
    }

    private static void restore(String old) {
        if (old == null) {
            System.clearProperty(ApicurioRegistry.DIR_PROPERTY);
        } else {
            System.setProperty(ApicurioRegistry.DIR_PROPERTY, old);
        }
    }
}
