package io.rewardstream.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ScoreCommandTest {

    @Test
    void shouldDescribeTheTopologyWithoutAModelOrABroker(@TempDir Path dir) throws Exception {
        Path cfg = dir.resolve("scorer.properties");
        Files.writeString(cfg, "topics.rollouts.name=my-rollouts\n");
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            code = new CommandLine(new Main()).execute("score", "--config", cfg.toString(), "--bootstrap-servers",
                    "127.0.0.1:1", "--schema-registry-url", "http://127.0.0.1:1", "--set", "batch.max.size=8",
                    "--describe");
        } finally {
            System.setOut(old);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(code).isZero();
        assertThat(text).contains("Source: rollouts-source (topics: [my-rollouts])", "Processor: rollout-batcher",
                "stores: [", "rollout-buffer", "Sink: rewards-sink (topic: rewards)", "group-advantages-sink",
                "dead-letters-sink (topic: rewardstream-dead-letters)");
    }

    @Test
    void shouldFailNamingTheMissingKey(@TempDir Path dir) throws Exception {
        Path cfg = dir.resolve("scorer.properties");
        Files.writeString(cfg, "\n");
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = Main.execute("score", "--config", cfg.toString());
        } finally {
            System.setErr(oldErr);
        }
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("error: ").contains("bootstrap.servers")
                .doesNotContain("\tat ");
    }

    @Test
    void shouldDescribeWithoutBrokerOrRegistryAddresses() throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            code = Main.execute("score", "--describe");
        } finally {
            System.setOut(old);
        }
        assertThat(code).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("Source: rollouts-source (topics: [rollouts])");
    }
}
