package io.rewardstream.cli;

import io.rewardstream.scoring.ReleaseTestModels;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CLI's contract, command by command: every {@code --help} exits 0; bad configuration, missing files and
 * unreachable brokers give ONE {@code error: ...} line (no stack trace) and a non-zero exit code. In-process through
 * {@link Main#execute}, with stdout/stderr captured; unreachable = 127.0.0.1:1 (nothing listens there).
 */
class CliContractTest {
    private static final String NOWHERE = "127.0.0.1:1";
    private static final String NO_REGISTRY = "http://127.0.0.1:1";

    @TempDir
    static Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @TestFactory
    Stream<DynamicTest> shouldExitZeroOnHelpForEveryCommand() {
        List<List<String>> paths = new ArrayList<>();
        collect(Main.commandLine(), new ArrayList<>(), paths);
        assertThat(paths).hasSizeGreaterThan(20);
        return paths.stream().map(p -> DynamicTest.dynamicTest(String.join(" ", p) + " --help", () -> {
            List<String> args = new ArrayList<>(p);
            args.add("--help");
            CliRun r = run(args.toArray(String[]::new));
            assertThat(r.code()).as("exit code of %s; stderr: %s", args, r.err()).isZero();
            assertThat(r.out()).as("usage of %s", args).contains("Usage: rewardstream");
        }));
    }

    private static void collect(CommandLine cl, List<String> prefix, List<List<String>> out) {
        out.add(List.copyOf(prefix));
        cl.getSubcommands().forEach((name, sub) -> {
            if (!name.equals("help") && sub.getCommandSpec().name().equals(name)) {
                List<String> p = new ArrayList<>(prefix);
                p.add(name);
                collect(sub, p, out);
            }
        });
    }

    /** One row: the command line, the exit code it must give, and a text its one error line must contain. */
    record Case(String what, int code, String mustSay, String... args) {
    }

    static List<Case> cases() throws IOException {
        Path missing = dir.resolve("missing.properties");
        Path badScorer = Files.writeString(dir.resolve("bad-scorer.properties"), "batch.max.size=lots\n");
        Path badRetrain = Files.writeString(dir.resolve("bad-retrain.properties"), "retrain.steps=-3\n");
        Path rollouts = Files.writeString(dir.resolve("rollouts.jsonl"), """
                {"rollout_id":"r1","group_id":"g1","policy_version":"p","prompt_token_ids":[1],"response_token_ids":[2],"policy_logprobs":[-0.5],"finish_reason":"STOP"}
                """);
        Path badJsonl = Files.writeString(dir.resolve("bad.jsonl"), """
                {"rollout_id":"r1","group_id":"g1","policy_version":"p","prompt_token_ids":[1],"response_token_ids":[2],"policy_logprobs":[-0.5],"finish_reason":"STOP"}
                {"rollout_id":"r2","group_id":"g1","policy_version":"p","prompt_token_ids":"oops","response_token_ids":[2],"policy_logprobs":[-0.5],"finish_reason":"STOP"}
                """);
        Path keys = Files.createDirectories(dir.resolve("keys"));
        assertThat(run("keys", "generate", "--out", keys.toString()).code()).isZero();
        Path base = ReleaseTestModels.fakeModelDir(dir.resolve("base"), "other-name", 1);
        Path root = Files.createDirectories(dir.resolve("models"));
        Path replay = dir.resolve("replay");
        String[] retrainPaths = {"--set", "retrain.replay.dir=" + replay, "--set", "retrain.model.root=" + root,
                "--set", "retrain.base.model.dir=" + base, "--set", "retrain.model.name=other-name",
                "--bootstrap-servers", NOWHERE, "--schema-registry-url", NO_REGISTRY};
        List<Case> c = new ArrayList<>();
        c.add(new Case("unknown option", 2, "--bogus", "score", "--bogus"));
        c.add(new Case("score: missing config file", 2, "missing.properties", "score", "--config", missing.toString()));
        c.add(new Case("score: bad value", 2, "batch.max.size", "score", "--config", badScorer.toString(),
                "--bootstrap-servers", NOWHERE, "--schema-registry-url", NO_REGISTRY));
        c.add(new Case("score: missing address", 2, "bootstrap.servers", "score"));
        c.add(new Case("score: missing model dir", 2, "no such directory", "score", "--bootstrap-servers", NOWHERE,
                "--schema-registry-url", NO_REGISTRY, "--model-dir", dir.resolve("no-model").toString()));
        c.add(new Case("topics create: unreachable broker", 1, NOWHERE, "topics", "create", "--bootstrap-servers",
                NOWHERE, "--connect-timeout", "2"));
        c.add(new Case("topics list: unreachable broker", 1, NOWHERE, "topics", "list", "--bootstrap-servers",
                NOWHERE, "--connect-timeout", "2"));
        c.add(new Case("topics create: missing spec", 2, "missing.json", "topics", "create", "--bootstrap-servers",
                NOWHERE, "--spec", dir.resolve("missing.json").toString()));
        c.add(new Case("topics create: missing command config", 2, "missing.properties", "topics", "create",
                "--bootstrap-servers", NOWHERE, "--command-config", missing.toString()));
        c.add(new Case("produce: missing input", 2, "no such file", "produce", "rollouts", "--input",
                dir.resolve("nope.jsonl").toString(), "--bootstrap-servers", NOWHERE, "--schema-registry-url", NO_REGISTRY));
        c.add(new Case("produce: bad line", 2, "line 2: prompt_token_ids: expected an array", "produce", "rollouts",
                "--input", badJsonl.toString(), "--bootstrap-servers", NOWHERE, "--schema-registry-url", NO_REGISTRY));
        c.add(new Case("produce: not an input kind", 2, "not rewards", "produce", "rewards", "--input",
                rollouts.toString(), "--bootstrap-servers", NOWHERE, "--schema-registry-url", NO_REGISTRY));
        c.add(new Case("produce: unreachable broker", 1, "cannot reach Kafka at " + NOWHERE, "produce", "rollouts",
                "--input", rollouts.toString(), "--bootstrap-servers", NOWHERE, "--schema-registry-url", NO_REGISTRY,
                "--connect-timeout", "2"));
        c.add(new Case("consume: unreachable broker", 1, "cannot reach Kafka at " + NOWHERE, "consume", "rewards",
                "--bootstrap-servers", NOWHERE, "--schema-registry-url", NO_REGISTRY, "--connect-timeout", "2"));
        c.add(new Case("consume: unknown kind", 2, "unknown record kind", "consume", "rewardz",
                "--bootstrap-servers", NOWHERE, "--schema-registry-url", NO_REGISTRY));
        c.add(new Case("retrain: missing config file", 2, "missing.properties", "retrain", "--config", missing.toString()));
        c.add(new Case("retrain: bad value", 2, "retrain.steps", "retrain", "--config", badRetrain.toString()));
        c.add(new Case("retrain: /var/lib default paths", 2, "retrain.replay.dir", "retrain", "--bootstrap-servers",
                NOWHERE, "--schema-registry-url", NO_REGISTRY, "--allow-unsigned"));
        c.add(new Case("retrain: no signing key", 2, "no signing key", retrain(retrainPaths)));
        c.add(new Case("retrain: missing signing key file", 2, "retrain.signing.key", retrain(retrainPaths,
                "--set", "retrain.signing.key=" + dir.resolve("nokey.key"), "--set", "retrain.signing.key.id=x")));
        c.add(new Case("retrain: missing base model", 2, "retrain.base.model.dir", retrain(retrainPaths,
                "--allow-unsigned", "--set", "retrain.base.model.dir=" + dir.resolve("no-base"))));
        c.add(new Case("retrain: model name differs from the base model's", 2, "is named other-name",
                retrain(retrainPaths, "--allow-unsigned", "--set", "retrain.model.name=builtin-small")));
        c.add(new Case("keys generate: existing key", 2, "refusing to overwrite", "keys", "generate", "--out",
                keys.toString()));
        c.add(new Case("release publish: missing options", 2, "Missing required option", "release", "publish"));
        c.add(new Case("release publish: missing model", 1, "no-model", "release", "publish", "--model-dir",
                dir.resolve("no-model").toString(), "--model-root", root.toString(), "--version", "1", "--unsigned",
                "--bootstrap-servers", NOWHERE, "--schema-registry-url", NO_REGISTRY));
        c.add(new Case("shape: missing input", 2, "nope.jsonl", "shape", "--input", dir.resolve("nope.jsonl").toString()));
        c.add(new Case("model inspect: missing model", 2, "no-model", "model", "inspect",
                dir.resolve("no-model").toString()));
        c.add(new Case("dev-stack: missing spec", 2, "missing.json", "dev-stack", "--spec",
                dir.resolve("missing.json").toString()));
        return c;
    }

    private static String[] retrain(String[] paths, String... more) {
        List<String> a = new ArrayList<>(List.of("retrain"));
        a.addAll(List.of(paths));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @TestFactory
    Stream<DynamicTest> shouldGiveOneErrorLineAndANonZeroExitForEveryFailure() throws IOException {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.what(), () -> {
            long t0 = System.nanoTime();
            CliRun r = run(c.args());
            double s = (System.nanoTime() - t0) / 1e9;
            List<String> lines = r.errLines();
            assertThat(r.code()).as("%s: exit code; stderr:%n%s", c.what(), r.err()).isEqualTo(c.code());
            assertThat(lines).as("%s: stderr", c.what()).isNotEmpty();
            assertThat(lines.get(0)).as("%s: the error line", c.what()).startsWith("error: ").contains(c.mustSay());
            assertThat(lines.stream().filter(l -> l.startsWith("error:")).count()).as(r.err()).isEqualTo(1);
            assertThat(lines).as("%s: no stack trace without --verbose", c.what())
                    .noneMatch(l -> l.startsWith("\tat ") || l.startsWith("Caused by:"));
            assertThat(s).as("%s: seconds", c.what()).isLessThan(20);
        }));
    }

    @Test
    void shouldPrintTheStackTraceOnlyWithVerbose() {
        CliRun quiet = run("score", "--config", dir.resolve("missing.properties").toString());
        CliRun verbose = run("score", "--verbose", "--config", dir.resolve("missing.properties").toString());
        assertThat(quiet.err()).doesNotContain("\tat ");
        assertThat(verbose.code()).isEqualTo(quiet.code());
        assertThat(verbose.err()).startsWith(quiet.errLines().get(0)).contains("\tat io.rewardstream.cli.");
    }

    @Test
    void shouldNameTheCauseChainOnOneLine() {
        Exception e = new IllegalStateException("cannot publish release v2",
                new java.io.UncheckedIOException("cannot read model", new java.nio.file.NoSuchFileException("/m/v2/x")));
        assertThat(CliErrors.oneLine(e))
                .isEqualTo("cannot publish release v2; cannot read model; no such file or directory: /m/v2/x");
    }
}
