package io.rewardstream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.training.ArithmeticTask;
import io.rewardstream.training.PreferenceExample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ModelCommandTest {

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void shouldTrainFromJsonlReportingBadLinesThenInspectAsJson(@TempDir Path tmp) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (PreferenceExample e : new ArithmeticTask(ArithmeticTask.Config.defaults()).generate(300, ArithmeticTask.Part.ANY, false)) {
            lines.add(json.writeValueAsString(java.util.Map.of("id", e.id(), "prompt", e.prompt(), "chosen", e.chosen(),
                    "rejected", e.rejected())));
        }
        lines.add(7, "{broken");
        lines.add(20, "{\"prompt\":\"1+1=\",\"chosen\":\"2\"}");
        Path data = tmp.resolve("pairs.jsonl");
        Files.write(data, lines);
        Path out = tmp.resolve("m");

        CliRun train = run("model", "train", "--data", data.toString(), "--size", "tiny", "--steps", "20", "--out", out.toString());
        assertThat(train.code()).as(train.err()).isZero();
        assertThat(train.err()).contains("rejected 2 malformed line(s)", "line 8: invalid JSON", "line 21: missing field 'rejected'",
                "loaded 300 pair(s)", "step 20/20", "epoch 1:");
        assertThat(json.readTree(train.out()).get("parameters").asLong()).isPositive();
        assertThat(ModelManifest.read(out).lineage()).containsEntry("size", "tiny");

        CliRun inspect = run("model", "inspect", out.toString(), "--json");
        assertThat(inspect.code()).as(inspect.err()).isZero();
        JsonNode o = json.readTree(inspect.out());
        assertThat(o.at("/signatures/serving_default/inputs/input_ids").asText()).isEqualTo("DT_INT32 [-1, -1]");
        assertThat(o.at("/signatures/train_step/outputs/loss").asText()).isEqualTo("DT_FLOAT []");
        assertThat(o.at("/manifest/name").asText()).isEqualTo("builtin-tiny");
        assertThat(o.get("parameters").asLong()).isEqualTo(json.readTree(train.out()).get("parameters").asLong());

        CliRun again = run("model", "train", "--data", data.toString(), "--size", "tiny", "--steps", "1", "--out", out.toString());
        assertThat(again.code()).isNotZero();
        assertThat(again.err()).contains("already holds a model");
    }

    @Test
    void shouldRefuseAmbiguousDataSources() {
        CliRun r = run("model", "eval", "/nonexistent", "--task", "arithmetic", "--data", "x.jsonl");
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("exactly one of --task");
    }

    @Test
    void shouldRefuseAMissingBertArtifactWithTheFetchCommandAndAnUnknownBackbone(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("pairs.jsonl");
        Files.writeString(data, "{\"id\":\"a\",\"prompt\":\"q\",\"chosen\":\"yes\",\"rejected\":\"no\"}\n"
                + "{\"id\":\"b\",\"prompt\":\"q2\",\"chosen\":\"sure\",\"rejected\":\"nah\"}\n");
        String old = System.getProperty("rewardstream.bert.jar");
        String oldCache = System.getProperty("rewardstream.bert.cache");
        System.setProperty("rewardstream.bert.jar", tmp.resolve("absent.jar").toString());
        System.setProperty("rewardstream.bert.cache", tmp.resolve("cache").toString());   // nothing unpacked yet
        try {
            CliRun r = run("model", "train", "--backbone", "bert-base-uncased", "--data", data.toString(), "--held-out", "0",
                    "--out", tmp.resolve("m").toString());
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains("not in the local Maven repository", "./mvnw -Pbert dependency:get@fetch-bert");
            assertThat(tmp.resolve("m/saved_model.pb")).doesNotExist();
        } finally {
            restore("rewardstream.bert.jar", old);
            restore("rewardstream.bert.cache", oldCache);
        }
        CliRun unknown = run("model", "train", "--backbone", "gpt-17", "--data", data.toString(), "--held-out", "0",
                "--out", tmp.resolve("m2").toString());
        assertThat(unknown.code()).isEqualTo(2);
        assertThat(unknown.err()).contains("unknown --backbone 'gpt-17'");
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }
}
