package io.rewardstream.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Test fixture of the BERT ITs: {@code model eval MODEL ... --json} in a fresh JVM (nothing cached from the test's
 * own process), and the check that a reloaded model's aggregates equal the in-process ones bit for bit.
 */
final class FreshProcessEval {
    private FreshProcessEval() {
    }

    /** Runs {@code model eval model evalArgs... --json} (5 min at most), its JSON written to {@code out}. */
    static JsonNode run(Path model, Path out, String... evalArgs) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g", "-cp", System.getProperty("java.class.path"), "io.rewardstream.cli.Main",
                "model", "eval", model.toString()));
        cmd.addAll(List.of(evalArgs));
        cmd.add("--json");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        return new ObjectMapper().readTree(Files.readString(out, StandardCharsets.UTF_8));
    }

    /** Bit-identical scores give bit-identical aggregates. */
    static void assertSameAggregates(JsonNode json, EvalMetrics inProcess, int pairs) {
        assertThat(json.get("pairs").asInt()).isEqualTo(pairs);
        assertThat(json.get("accuracy").asDouble()).isEqualTo(inProcess.accuracy());
        assertThat(json.get("loss").asDouble()).isEqualTo(inProcess.loss());
        assertThat(json.get("mean_margin").asDouble()).isEqualTo(inProcess.meanMargin());
        assertThat(json.get("score_std").asDouble()).isEqualTo(inProcess.scoreStd());
    }
}
