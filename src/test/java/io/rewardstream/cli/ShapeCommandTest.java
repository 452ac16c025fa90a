package io.rewardstream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ShapeCommandTest {

    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    private static final ObjectMapper JSON = new ObjectMapper();

    private int run(String... args) {
        CommandLine cl = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    private Path input(String... lines) throws IOException {
        Path p = dir.resolve("rollouts.jsonl");
        Files.write(p, List.of(lines));
        return p;
    }

    private static List<JsonNode> parse(String text) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        for (String l : text.split("\n")) {
            if (!l.isBlank()) {
                rows.add(JSON.readTree(l));
            }
        }
        return rows;
    }

    private static final String A = "{\"rollout_id\":\"a\",\"group_id\":\"g1\",\"score\":2.0,\"policy_logprobs\":[-1.0,-2.0,-0.5],"
            + "\"reference_logprobs\":[-1.5,-1.0,-0.5],\"finish_reason\":\"STOP\"}";
    private static final String B = "{\"rollout_id\":\"b\",\"group_id\":\"g1\",\"score\":1.0,\"policy_logprobs\":[-1.0],"
            + "\"reference_logprobs\":null,\"finish_reason\":\"LENGTH\"}";
    private static final String C = "{\"rollout_id\":\"c\",\"group_id\":\"g2\",\"score\":5.0,\"policy_logprobs\":[-1.0],"
            + "\"reference_logprobs\":[-1.0],\"finish_reason\":\"STOP\"}";

    @Test
    void shouldWriteDefaultRewardsAndGrpoAdvantagesToFile() throws IOException {
        Path output = dir.resolve("out.jsonl");
        int code = run("shape", "--input", input(A, B, C).toString(), "--output", output.toString());
        assertThat(code).as(err.toString()).isZero();
        List<JsonNode> rows = parse(Files.readString(output));
        assertThat(rows).extracting(r -> r.get("rollout_id").asText()).containsExactly("a", "b", "c");
        JsonNode a = rows.get(0);
        assertThat(a.get("reward").asDouble()).isCloseTo(2.025, within(1e-12));
        assertThat(a.get("kl").asDouble()).isCloseTo(-0.5, within(1e-12));
        assertThat(a.get("kl_coef").asDouble()).isEqualTo(0.05);
        assertThat(a.get("token_rewards")).hasSize(3);
        assertThat(a.get("token_rewards").get(2).asDouble()).isCloseTo(2.0, within(1e-12));
        assertThat(rows.get(1).get("flags")).extracting(JsonNode::asText).containsExactly("MISSING_EOS", "NO_REFERENCE");
        // group g1: s' = {2, 1}: mean 1.5, sample std sqrt(0.5)
        double sd = Math.sqrt(0.5);
        assertThat(a.get("advantage").asDouble()).isCloseTo(0.5 / (sd + 1e-6), within(1e-9));
        assertThat(rows.get(1).get("advantage").asDouble()).isCloseTo(-0.5 / (sd + 1e-6), within(1e-9));
        assertThat(rows.get(2).get("advantage").asDouble()).isZero(); // single-member group
    }

    @Test
    void shouldHonourOptionsAndOmitAdvantageWhenNone() throws IOException {
        int code = run("shape", "--input", input(A, B).toString(), "--kl-estimator", "k2", "--kl-coef", "1",
                "--missing-eos-penalty", "0.5", "--normalize", "static", "--norm-mean", "1", "--norm-std", "2",
                "--score-clip", "0.25", "--group-advantage", "none");
        assertThat(code).as(err.toString()).isZero();
        List<JsonNode> rows = parse(out.toString());
        // a: k2 kl = [0.125, 0.5, 0] sum 0.625; s' = clip((2 - 1) / 2, 0.25) = 0.25; reward = 0.25 - 0.625
        assertThat(rows.get(0).get("reward").asDouble()).isCloseTo(-0.375, within(1e-12));
        assertThat(rows.get(0).has("advantage")).isFalse();
        // b: s1 = 1 - 0.5 = 0.5; (0.5 - 1) / 2 = -0.25
        assertThat(rows.get(1).get("reward").asDouble()).isCloseTo(-0.25, within(1e-12));
        assertThat(rows.get(0).get("kl_coef").asDouble()).isEqualTo(1.0);
    }

    @Test
    void shouldUseRlooAndIncludeKlWhenAsked() throws IOException {
        int code = run("shape", "--input", input(A, B).toString(), "--group-advantage", "rloo", "--advantage-include-kl");
        assertThat(code).isZero();
        List<JsonNode> rows = parse(out.toString());
        // sequence rewards 2.025 and 1.0
        assertThat(rows.get(0).get("advantage").asDouble()).isCloseTo(1.025, within(1e-12));
        assertThat(rows.get(1).get("advantage").asDouble()).isCloseTo(-1.025, within(1e-12));
    }

    @Test
    void shouldReportBadLinesWithLineNumbersContinueAndExitOne() throws IOException {
        String nan = A.replace("-2.0,", "NaN,").replace("\"a\"", "\"nan\"");
        String mismatch = A.replace("[-1.5,-1.0,-0.5]", "[-1.5]").replace("\"a\"", "\"mm\"");
        String empty = B.replace("[-1.0]", "[]").replace("\"b\"", "\"empty\"");
        String noScore = C.replace("\"score\":5.0,", "");
        int code = run("shape", "--input", input(A, "not json", nan, "", mismatch, empty, noScore, C).toString());
        assertThat(code).isEqualTo(1);
        String e = err.toString();
        assertThat(e).contains("line 2: MALFORMED", "line 3: NON_FINITE_LOGPROB", "line 5: REFERENCE_LENGTH_MISMATCH",
                "line 6: EMPTY_RESPONSE", "line 7: MISSING_FIELD", "5 bad line(s)");
        assertThat(parse(out.toString())).extracting(r -> r.get("rollout_id").asText()).containsExactly("a", "c");
    }

    @Test
    void shouldFailCleanlyOnMissingFileAndBadOptions() throws IOException {
        assertThat(run("shape", "--input", dir.resolve("nope.jsonl").toString())).isEqualTo(2);
        assertThat(err.toString()).contains("cannot read");
        assertThat(run("shape", "--input", input(A).toString(), "--normalize", "static")).isEqualTo(2);
        assertThat(err.toString()).contains("--norm-mean");
        assertThat(run("shape", "--input", input(A).toString(), "--kl-estimator", "k7")).isEqualTo(2);
        assertThat(run("shape", "--input", input(A).toString(), "--normalize", "running")).isEqualTo(2);
    }
}
