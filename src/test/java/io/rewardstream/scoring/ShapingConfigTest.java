package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ShapingConfigTest {

    @Test
    void shouldUseSpecDefaults() {
        ShapingConfig c = ShapingConfig.defaults();
        assertThat(c.klEstimator()).isEqualTo(KlEstimator.K1);
        assertThat(c.klCoef()).isEqualTo(0.05);
        assertThat(c.klClamp()).isEqualTo(10.0);
        assertThat(c.klController()).isEqualTo(ShapingConfig.ControllerType.FIXED);
        assertThat(c.missingEosPenalty()).isZero();
        assertThat(c.normalization()).isEqualTo(ShapingConfig.NormalizationMode.NONE);
        assertThat(c.scoreClipEnabled()).isFalse();
        assertThat(c.groupAdvantage()).isEqualTo(GroupAdvantages.Method.GRPO);
        assertThat(c.advantageIncludesKl()).isFalse();
        assertThat(c.groupEps()).isEqualTo(1e-6);
        assertThat(c.uncertaintyPenalty()).isZero();
        assertThat(c.headWeights()).isEmpty();
    }

    @Test
    void shouldReadEveryDottedKeyFromStringsAndNumbers() {
        Map<String, Object> m = new HashMap<>();
        m.put("scoring.kl.estimator", "K3");
        m.put("scoring.kl.coef", 0.2);
        m.put("scoring.kl.clamp", "5");
        m.put("scoring.kl.controller", "adaptive");
        m.put("scoring.kl.target", 3);
        m.put("scoring.kl.horizon", "500");
        m.put("scoring.kl.window", 10);
        m.put("scoring.missing.eos.penalty", "1.5");
        m.put("scoring.normalization", "running");
        m.put("scoring.score.clip", "4");
        m.put("scoring.group.advantage", "rloo");
        m.put("scoring.group.advantage.include.kl", true);
        m.put("scoring.group.eps", "0.001");
        m.put("scoring.uncertainty.penalty", "0.5");
        m.put("scoring.head.weights", "helpful:1, harmless:0.5");
        m.put("scoring.batch.size", "ignored by this record");
        ShapingConfig c = ShapingConfig.from(m);
        assertThat(c).isEqualTo(new ShapingConfig(KlEstimator.K3, 0.2, 5, ShapingConfig.ControllerType.ADAPTIVE, 3, 500, 10,
                1.5, ShapingConfig.NormalizationMode.RUNNING, 4, GroupAdvantages.Method.RLOO, true, 0.001, 0.5,
                Map.of("helpful", 1.0, "harmless", 0.5)));
        assertThat(ShapingConfig.from(c.toMap())).isEqualTo(c);
    }

    @Test
    void shouldNameTheKeyInEveryError() {
        for (List<String> bad : List.of(
                List.of("scoring.kl.estimator", "k9"),
                List.of("scoring.kl.coef", "-1"),
                List.of("scoring.kl.coef", "NaN"),
                List.of("scoring.kl.clamp", "0"),
                List.of("scoring.kl.controller", "pid"),
                List.of("scoring.kl.target", "0"),
                List.of("scoring.kl.horizon", "0"),
                List.of("scoring.kl.window", "0"),
                List.of("scoring.missing.eos.penalty", "-0.5"),
                List.of("scoring.normalization", "zscore"),
                List.of("scoring.score.clip", "-2"),
                List.of("scoring.group.advantage", "ppo"),
                List.of("scoring.group.advantage.include.kl", "yes"),
                List.of("scoring.group.eps", "-1"),
                List.of("scoring.uncertainty.penalty", "abc"),
                List.of("scoring.head.weights", "helpful"))) {
            assertThatThrownBy(() -> ShapingConfig.from(Map.of(bad.get(0), bad.get(1))))
                    .as(bad.toString()).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(bad.get(0));
        }
    }

    @Test
    void shouldRejectWindowLongerThanHorizon() {
        assertThatThrownBy(() -> ShapingConfig.from(Map.of("scoring.kl.horizon", "10", "scoring.kl.window", "11")))
                .hasMessageContaining("scoring.kl.window");
    }
}
