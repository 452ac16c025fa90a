package io.rewardstream.cli;

import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.PythonModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code model package}: exit 0 and a manifest when the model keeps the contract, 1 when it breaks it, 2 on bad options. */
class ModelPackageCommandTest {
    @TempDir
    Path tmp;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void shouldPackageAKerasExportWithItsDigestsAndExitZero() throws Exception {
        Path dir = PythonModels.copy(PythonModels.KERAS_EXPORT, tmp.resolve("k"));
        CliRun r = run("model", "package", dir.toString(), "--name", "my-rm", "--version", "7", "--tokenizer", "ids",
                "--vocab-size", "260", "--max-seq-len", "128");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("packaged my-rm:7").contains("fingerprint.pb").contains("vocab_size 260");
        ModelManifest m = ModelManifest.read(dir);
        assertThat(m.maxSeqLen()).isEqualTo(128);
        assertThat(m.files()).hasSize(4);
    }

    @Test
    void shouldExitOneWithTheReasonWhenTheModelBreaksTheContract() throws Exception {
        Path dir = PythonModels.copy(PythonModels.KERAS_IN_MODULE, tmp.resolve("kim"));
        CliRun r = run("model", "package", dir.toString(), "--name", "kim", "--version", "1", "--tokenizer", "bytes");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("error: model refused (WARMUP)").contains("tensorflow#72963");
    }

    @Test
    void shouldExitTwoOnBadOptions() throws Exception {
        Path dir = PythonModels.copy(PythonModels.TF_MODULE, tmp.resolve("t"));
        CliRun r = run("model", "package", dir.toString(), "--name", "t", "--version", "1", "--tokenizer", "ids");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("error: --vocab-size is required");
    }
}
