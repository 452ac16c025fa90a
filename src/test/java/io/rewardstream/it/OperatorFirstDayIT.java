package io.rewardstream.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 17's "first day", as a user would do it: runs the README's "First day" bash block verbatim (only the
 * launcher's path filled in) with bash, in a directory OUTSIDE the checkout. Every step is a separate JVM through
 * the {@code ./rewardstream} launcher: dev-stack, model train, produce rollouts, score, consume rewards (every
 * reward), keys generate, produce preferences, retrain, consume model-releases (a signed release). A step that
 * fails stops the script ({@code bash -e}). Then {@code keys generate --out relkeys} must have written there
 * (the caller's directory), mode 600, and printed the absolute path.
 */
class OperatorFirstDayIT {
    private static final Pattern BLOCK = Pattern.compile(
            "<!-- first-day:begin -->\\s*```bash\\n(.*?)```\\s*<!-- first-day:end -->", Pattern.DOTALL);

    @TempDir
    Path outside;

    /** The README's block with the launcher's path filled in. */
    static String script(Path checkout) throws Exception {
        Matcher m = BLOCK.matcher(Files.readString(checkout.resolve("README.md")));
        assertThat(m.find()).as("README.md has the first-day block").isTrue();
        String block = m.group(1);
        assertThat(block).startsWith("RS=/path/to/checkout/rewardstream");
        return block.replaceFirst("RS=/path/to/checkout/rewardstream", "RS=" + checkout.resolve("rewardstream"));
    }

    @Test
    void shouldFollowTheReadmeFromAnotherDirectory() throws Exception {
        Path checkout = Path.of("").toAbsolutePath();
        assertThat(outside.toAbsolutePath().startsWith(checkout)).as("runs outside the checkout").isFalse();
        Path sh = Files.writeString(outside.resolve("first-day.sh"), script(checkout));
        Path log = outside.resolve("first-day.log");
        ProcessBuilder pb = new ProcessBuilder("bash", "-euo", "pipefail", sh.toString()).directory(outside.toFile())
                .redirectErrorStream(false).redirectOutput(outside.resolve("first-day.out").toFile())
                .redirectError(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("REWARDSTREAM_JAVA_OPTS", "-Xmx1g -XX:+UseSerialGC -XX:TieredStopAtLevel=1");
        env.remove("KAFKA_BOOTSTRAP");
        env.remove("SCHEMA_REGISTRY_URL");
        Process p = pb.start();
        int code;
        try {
            if (!p.waitFor(15, TimeUnit.MINUTES)) {
                throw new AssertionError("the first-day script did not finish in 15 min:\n" + tail(log));
            }
            code = p.exitValue();
        } finally {
            // the script stops its background JVMs; if it failed half-way, stop whatever it left
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
            p.descendants().forEach(d -> d.onExit().orTimeout(30, TimeUnit.SECONDS));
            p.waitFor(30, TimeUnit.SECONDS);
            p.descendants().forEach(ProcessHandle::destroyForcibly);
        }
        Path work = outside.resolve("rs-first-day");
        String out = Files.readString(outside.resolve("first-day.out"));
        System.out.println("---- first-day stdout\n" + out + "---- stderr (tail)\n" + tail(log));
        assertThat(code).as("script exit code; stderr tail:%n%s%nscorer log:%n%s%nretrain log:%n%s", tail(log),
                tailOf(work.resolve("scorer.log")), tailOf(work.resolve("retrain.log"))).isZero();

        // every rollout of my.jsonl came back as a reward, each once
        List<String> rolloutIds = Files.readAllLines(work.resolve("my.jsonl")).stream().filter(l -> !l.isBlank())
                .map(l -> field(l, "rollout_id")).toList();
        assertThat(rolloutIds).hasSize(12);
        List<String> rewards = out.lines().filter(l -> l.contains("\"model_version\"") && l.contains("\"reward\""))
                .toList();
        assertThat(new TreeSet<>(rewards.stream().map(l -> field(l, "rollout_id")).toList()))
                .containsExactlyInAnyOrderElementsOf(rolloutIds);
        assertThat(rewards).hasSize(12).allMatch(l -> l.contains("builtin-tiny:"));

        // the retraining job published a signed release of the model
        String release = out.lines().filter(l -> l.contains("\"model_name\":\"builtin-tiny\"")).findFirst()
                .orElseThrow(() -> new AssertionError("no release printed:\n" + out));
        assertThat(release).contains("\"version\":1", "\"signing_key_id\":\"release\"").doesNotContain("\"signature\":null");
        assertThat(work.resolve("models/builtin-tiny/v1/rewardstream-model.json")).exists();

        // keys generate --out relkeys wrote into the caller's directory, mode 600, and said where (absolute)
        Path key = work.resolve("relkeys/release.key");
        assertThat(key).exists();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        assertThat(out).contains("private key " + key.toRealPath() + " (mode 600)");
        assertThat(checkout.resolve("relkeys")).doesNotExist();
    }

    private static String field(String jsonLine, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":\"([^\"]*)\"").matcher(jsonLine);
        assertThat(m.find()).as("%s in %s", name, jsonLine).isTrue();
        return m.group(1);
    }

    private static String tail(Path f) throws Exception {
        return tailOf(f);
    }

    static String tailOf(Path f) {
        try {
            List<String> l = Files.exists(f) ? Files.readAllLines(f, StandardCharsets.UTF_8) : List.of();
            return String.join("\n", l.subList(Math.max(0, l.size() - 40), l.size()));
        } catch (Exception e) {
            return "(" + e + ")";
        }
    }
}
