package io.rewardstream.it;

import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.topology.TopicProvisioner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs the Python client's tests ({@code src/test/python}, {@code /usr/bin/python3 -m unittest}) against the real
 * stack and a scorer on topics of their own, and asserts they passed. Skipped, with what to install, on a machine
 * without Debian's {@code python3-confluent-kafka}, {@code python3-avro} and {@code python3-requests}.
 */
@ExtendWith(SharedLocalStack.class)
class PythonClientIT {
    static final String PYTHON = "/usr/bin/python3";
    static final String INSTALL = "needs Debian's python3-confluent-kafka, python3-avro and python3-requests: "
            + "apt-get install -y python3-confluent-kafka python3-avro python3-requests";

    @Test
    void shouldPassThePythonClientTestsOnTheRealStack(LocalStack stack) throws Exception {
        assumeTrue(Files.isExecutable(Path.of(PYTHON)), "no " + PYTHON + ": PythonClientIT " + INSTALL);
        Process probe = new ProcessBuilder(PYTHON, "-c", "import confluent_kafka, avro, requests").redirectErrorStream(true).start();
        String probeOut = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assumeTrue(probe.waitFor(60, TimeUnit.SECONDS) && probe.exitValue() == 0,
                "PythonClientIT " + INSTALL + " (" + probeOut.strip() + ")");
        Process fast = new ProcessBuilder(PYTHON, "-c", "import fastavro").start();
        boolean fastavro = fast.waitFor(60, TimeUnit.SECONDS) && fast.exitValue() == 0;

        Path work = ScorerIt.workDir("python-client");
        try (RunningScorer scorer = RunningScorer.start(stack, "python-it", work, Map.of())) {
            Path root = Path.of("").toAbsolutePath();
            Path log = work.resolve("unittest.log");
            ProcessBuilder pb = new ProcessBuilder(PYTHON, "-m", "unittest", "discover", "-s", "src/test/python", "-v")
                    .directory(root.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
            Map<String, String> env = pb.environment();
            env.put("PYTHONPATH", root.resolve("src/main/python").toString());
            env.put("PYTHONDONTWRITEBYTECODE", "1");
            env.put("KAFKA_BOOTSTRAP", stack.bootstrapServers());
            env.put("SCHEMA_REGISTRY_URL", stack.schemaRegistryUrl());
            env.put("ROLLOUTS_TOPIC", scorer.topic(TopicProvisioner.ROLLOUTS));
            env.put("REWARDS_TOPIC", scorer.topic(TopicProvisioner.REWARDS));
            env.put("DEAD_LETTERS_TOPIC", scorer.topic(TopicProvisioner.DEAD_LETTERS));
            env.put("REWARD_TIMEOUT_S", "90");
            Process p = pb.start();
            boolean exited = p.waitFor(10, TimeUnit.MINUTES);
            if (!exited) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            String out = Files.readString(log);
            System.out.println("---- python -m unittest (src/test/python) ----\n" + out);
            assertThat(exited).as("python tests finished within 10 min").isTrue();
            assertThat(p.exitValue()).as("python tests exit code; output:%n%s", out).isZero();
            Matcher ran = Pattern.compile("Ran (\\d+) tests?").matcher(out);
            assertThat(ran.find()).as(out).isTrue();
            int tests = Integer.parseInt(ran.group(1));
            Matcher sk = Pattern.compile("OK \\(skipped=(\\d+)\\)").matcher(out);
            int skipped = sk.find() ? Integer.parseInt(sk.group(1)) : 0;
            assertThat(out).contains("\nOK");
            // only the schema_registry backend may skip, and only without fastavro
            long fastavroSkips = out.lines().filter(l -> l.contains("skipped") && l.contains("fastavro")).count();
            assertThat(skipped).as(out).isEqualTo(fastavro ? 0 : (int) fastavroSkips);
            assertThat(tests - skipped).as("python tests that really ran").isGreaterThanOrEqualTo(5);
            for (String name : List.of("LegacyClientTest", "TrlRewardFunctionTest", "ReadmeSnippetTest")) {
                assertThat(out).as(name).containsPattern(name + "\\.test_\\w+\\) \\.\\.\\. (?s).*?ok");
            }
        }
    }
}
