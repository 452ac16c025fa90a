package io.rewardstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DemoAndBenchCommandTest {

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new Main()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new String[]{Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void shouldListDemoAndBenchWithTheirOptions() {
        String[] demo = run("demo", "--help");
        assertThat(demo[0]).isEqualTo("0");
        assertThat(demo[1]).contains("--rollouts").contains("--json").contains("--size").contains("--out");
        String[] bench = run("bench", "--help");
        assertThat(bench[0]).isEqualTo("0");
        assertThat(bench[1]).contains("--model").contains("--json").contains("--rollouts");
    }

    @Test
    void shouldRefuseBadArgumentsBeforeStartingAnything() {
        String[] tooFew = run("demo", "--rollouts", "50");
        assertThat(tooFew[0]).isNotEqualTo("0");
        assertThat(tooFew[2]).contains("--rollouts must be >= 100");
        String[] badSize = run("demo", "--size", "huge");
        assertThat(badSize[0]).isNotEqualTo("0");
        assertThat(badSize[2]).contains("unknown model size 'huge'");
        String[] badModel = run("bench", "--model", "/no/such/dir", "--rollouts", "100", "--per-record", "50");
        assertThat(badModel[0]).isNotEqualTo("0");
        assertThat(badModel[2]).contains("neither tiny|small|base nor a model directory");
    }
}
