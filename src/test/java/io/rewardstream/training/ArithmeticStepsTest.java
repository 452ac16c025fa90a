package io.rewardstream.training;

import io.rewardstream.scoring.ByteTokenizer;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ArithmeticStepsTest {

    @Test
    void shouldLabelStepsAndEverythingAfterTheFirstWrongOne() {
        // 3+4=7, 7*2=14, 14-5=9 with step 1 written as 15: "3+4=7, 7*2=15, 15-5=10"
        ArithmeticSteps.Answer ok = ArithmeticSteps.build(3, new int[]{0, 2, 1}, new int[]{4, 2, 5}, new int[3]);
        ArithmeticSteps.Answer bad = ArithmeticSteps.build(3, new int[]{0, 2, 1}, new int[]{4, 2, 5},
                new int[]{0, 1, 0});
        assertThat(ok.text()).isEqualTo("3+4=7, 7*2=14, 14-5=9");
        assertThat(bad.text()).isEqualTo("3+4=7, 7*2=15, 15-5=10");
        assertThat(ok.firstWrongStep()).isEqualTo(-1);
        assertThat(bad.firstWrongStep()).isEqualTo(1);
        assertThat(bad.firstWrongToken()).isEqualTo("3+4=7, 7*2=".length());
        for (int t = 0; t < bad.ids().length; t++) {
            assertThat(bad.labels()[t]).as("token %d", t).isEqualTo(t < 11 ? 1f : 0f);
        }
        assertThat(ok.labels()).containsOnly(1f);
        assertThat(ok.ids()[0]).isEqualTo('3' + ByteTokenizer.OFFSET);
    }

    @Test
    void shouldWriteTheProblemLeftToRightAsThePromptAndPutItBeforeTheAnswer() {
        ArithmeticSteps.Answer a = ArithmeticSteps.build(3, new int[]{0, 2, 1}, new int[]{4, 2, 5}, new int[3]);
        assertThat(a.prompt()).isEqualTo("(3+4)*2-5=");
        assertThat(ArithmeticSteps.build(3, new int[]{2, 0, 2}, new int[]{4, 2, 5}, new int[3]).prompt())
                .isEqualTo("(3*4+2)*5=");
        assertThat(ArithmeticSteps.build(3, new int[]{1, 1}, new int[]{4, 2}, new int[2]).prompt()).isEqualTo("3-4-2=");
        assertThat(a.promptIds()).isEqualTo(ByteTokenizer.encode("(3+4)*2-5="));
        // the scorer's input for tokenizer ids: prompt ids ++ response ids, no special tokens
        assertThat(a.sequence()).isEqualTo(ByteTokenizer.encode("(3+4)*2-5=3+4=7, 7*2=14, 14-5=9"));
    }

    @Test
    void shouldGenerateAnswersWhoseLabelsFollowTheWrongStep() {
        Random rnd = new Random(5);
        for (int i = 0; i < 200; i++) {
            int wrong = i % 4 - 1;
            ArithmeticSteps.Answer a = ArithmeticSteps.generate(rnd, 3, wrong);
            assertThat(a.firstWrongStep()).as(a.text()).isEqualTo(wrong);
            assertThat(a.text().split(", ")).hasSize(3);
            for (int t = 0; t < a.labels().length; t++) {
                assertThat(a.labels()[t]).as("%s token %d", a.text(), t).isEqualTo(t < a.firstWrongToken() ? 1f : 0f);
            }
        }
    }
}
