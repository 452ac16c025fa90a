package io.rewardstream.training;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ArithmeticTaskTest {

    @Test
    void shouldGenerateVerifiablePairsDeterministically() {
        ArithmeticTask t = new ArithmeticTask(ArithmeticTask.Config.defaults()
                .withOps(List.of(ArithmeticTask.Operation.ADD, ArithmeticTask.Operation.MUL, ArithmeticTask.Operation.MULTI)));
        List<PreferenceExample> a = t.generate(500, ArithmeticTask.Part.ANY, false);
        assertThat(t.generate(500, ArithmeticTask.Part.ANY, false)).isEqualTo(a);
        for (PreferenceExample e : a) {
            assertThat(ArithmeticTask.isCorrect(e.prompt(), e.chosen())).as(e.toString()).isTrue();
            assertThat(ArithmeticTask.isCorrect(e.prompt(), e.rejected())).as(e.toString()).isFalse();
        }
        assertThat(a).anyMatch(e -> e.prompt().matches("\\d+\\+\\d+\\*\\d+=|\\d+\\*\\d+\\+\\d+="));
        assertThat(ArithmeticTask.evaluate("2+3*4=")).isEqualTo(14);
    }

    @Test
    void shouldNeverShowHeldOutOperandPairsInTraining() {
        ArithmeticTask t = new ArithmeticTask(ArithmeticTask.Config.defaults());
        Set<String> train = new HashSet<>();
        for (PreferenceExample e : t.generate(3000, ArithmeticTask.Part.TRAIN, true)) {
            train.add(unordered(e.prompt()));
        }
        List<PreferenceExample> held = t.generate(500, ArithmeticTask.Part.HELD_OUT, false);
        assertThat(held).isNotEmpty();
        for (PreferenceExample e : held) {
            assertThat(train).doesNotContain(unordered(e.prompt()));
        }
    }

    @Test
    void shouldApplyNoiseAndVerbosityTrapAtTheConfiguredRates() {
        ArithmeticTask t = new ArithmeticTask(ArithmeticTask.Config.defaults().withNoise(0.2).withVerbosityTrap(0.5));
        List<PreferenceExample> xs = t.generate(4000, ArithmeticTask.Part.TRAIN, true);
        double flipped = xs.stream().filter(e -> !ArithmeticTask.isCorrect(e.prompt(), e.chosen())).count() / 4000.0;
        double verbose = xs.stream().filter(e -> e.rejected().length() > 6 || e.chosen().length() > 6).count() / 4000.0;
        assertThat(flipped).isBetween(0.17, 0.23);
        assertThat(verbose).isBetween(0.45, 0.55);
        // the trap only pads wrong answers: a correct answer is never verbose
        assertThat(xs).filteredOn(e -> ArithmeticTask.isCorrect(e.prompt(), e.chosen()))
                .allMatch(e -> e.chosen().length() <= 3);
    }

    @Test
    void shouldSampleCorrectAndWrongAnswersForDemos() {
        Random r = new Random(1);
        ArithmeticTask t = new ArithmeticTask(ArithmeticTask.Config.defaults());
        for (int i = 0; i < 50; i++) {
            ArithmeticTask.Sample good = t.sample(r, true);
            ArithmeticTask.Sample bad = t.sample(r, false);
            assertThat(ArithmeticTask.isCorrect(good.prompt(), good.answer())).isTrue();
            assertThat(ArithmeticTask.isCorrect(bad.prompt(), bad.answer())).isFalse();
        }
        assertThat(ArithmeticTask.sample(5, true).correct()).isTrue();
    }

    @Test
    void shouldRejectBadConfigWithTheKeyName() {
        assertThatThrownBy(() -> ArithmeticTask.Config.defaults().withNoise(0.7))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("noise");
        assertThatThrownBy(() -> ArithmeticTask.Operation.parse("div"))
                .hasMessageContaining("div");
    }

    private static String unordered(String prompt) {
        String[] ab = prompt.substring(0, prompt.length() - 1).split("[+*]");
        int a = Integer.parseInt(ab[0]);
        int b = Integer.parseInt(ab[1]);
        return prompt.replaceAll("\\d", "").charAt(0) + "" + Math.min(a, b) + "," + Math.max(a, b);
    }
}
