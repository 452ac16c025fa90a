package io.rewardstream.training;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.StringReader;

import static org.assertj.core.api.Assertions.assertThat;

class PreferenceJsonlTest {

    @Test
    void shouldLoadAllThreeFormatsAndReportMalformedLinesWithLineNumbers() throws IOException {
        String jsonl = String.join("\n",
                "{\"id\":\"p1\",\"prompt\":\"2+2=\",\"chosen\":\"4\",\"rejected\":\"5\",\"margin\":0.5}",
                "{\"chosen\":\"\\n\\nHuman: hi\\n\\nAssistant: hello there\",\"rejected\":\"\\n\\nHuman: hi\\n\\nAssistant: go away\"}",
                "not json at all",
                "{\"chosen\":[{\"role\":\"user\",\"content\":\"2+3=\"},{\"role\":\"assistant\",\"content\":\"5\"}],"
                        + "\"rejected\":[{\"role\":\"user\",\"content\":\"2+3=\"},{\"role\":\"assistant\",\"content\":\"6\"}]}",
                "",
                "{\"prompt\":\"x\",\"chosen\":\"a\"}",
                "{\"prompt\":\"x\",\"chosen\":\"a\",\"rejected\":\"b\",\"margin\":-1}",
                "{\"chosen\":[{\"role\":\"user\",\"content\":\"q1\"},{\"role\":\"assistant\",\"content\":\"a\"}],"
                        + "\"rejected\":[{\"role\":\"user\",\"content\":\"q2\"},{\"role\":\"assistant\",\"content\":\"b\"}]}");
        PreferenceJsonl.LoadResult r = PreferenceJsonl.load(new StringReader(jsonl));

        assertThat(r.examples()).hasSize(3);
        PreferenceExample plain = r.examples().get(0);
        assertThat(plain).isEqualTo(new PreferenceExample("p1", "2+2=", "4", "5", 0.5));
        PreferenceExample hh = r.examples().get(1);
        assertThat(hh.prompt()).isEqualTo("\n\nHuman: hi\n\nAssistant:");
        assertThat(hh.chosen()).isEqualTo("hello there");
        assertThat(hh.rejected()).isEqualTo("go away");
        assertThat(hh.id()).startsWith("sha256:");
        PreferenceExample chat = r.examples().get(2);
        assertThat(chat.prompt()).isEqualTo("user: 2+3=\n");
        assertThat(chat.chosen()).isEqualTo("5");
        assertThat(chat.rejected()).isEqualTo("6");

        assertThat(r.errors()).extracting(PreferenceJsonl.LineError::line).containsExactly(3, 6, 7, 8);
        assertThat(r.errors().get(0).reason()).startsWith("invalid JSON");
        assertThat(r.errors().get(1).reason()).contains("'rejected'");
        assertThat(r.errors().get(2).reason()).contains("margin");
        assertThat(r.errors().get(3).reason()).contains("differ");
    }

    @Test
    void shouldTreatTranscriptsWithoutSharedPrefixAsWholeResponses() {
        String[] s = PreferenceJsonl.splitTranscripts("apples are red", "bananas are yellow");
        assertThat(s).containsExactly("", "apples are red", "bananas are yellow");
        String[] w = PreferenceJsonl.splitTranscripts("The capital is Paris", "The capital is Rome");
        assertThat(w).containsExactly("The capital is ", "Paris", "Rome");
    }

    @Test
    void shouldGiveContentIdsThatDoNotDependOnLineOrder() throws IOException {
        String a = "{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\"}";
        String b = "{\"prompt\":\"q\",\"chosen\":\"c\",\"rejected\":\"d\"}";
        var r1 = PreferenceJsonl.load(new StringReader(a + "\n" + b));
        var r2 = PreferenceJsonl.load(new StringReader(b + "\n" + a));
        assertThat(r1.examples().get(0).id()).isEqualTo(r2.examples().get(1).id());
        assertThat(Splits.heldOut(r1.examples().get(0).id(), 0.5)).isEqualTo(Splits.heldOut(r2.examples().get(1).id(), 0.5));
    }
}
