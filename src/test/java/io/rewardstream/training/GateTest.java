package io.rewardstream.training;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class GateTest {
    static EvalMetrics m(double acc) {
        return new EvalMetrics(100, acc, 0.5, 1.0, 0.1, 0, 1);
    }

    @Test
    void shouldReleaseWhenAccuracyIsWithinTolerance() {
        assertThat(Gate.decide(m(0.80), m(0.90), 0.01).release()).isTrue();
        assertThat(Gate.decide(m(0.80), m(0.795), 0.01).release()).isTrue();
        assertThat(Gate.decide(m(0.80), m(0.80), 0.0).release()).isTrue();
        assertThat(Gate.decide(null, m(0.6), 0.01).release()).isTrue();
    }

    @Test
    void shouldRefuseALessAccurateCandidateWithItsFigures() {
        Gate.Decision d = Gate.decide(m(0.80), m(0.70), 0.05);
        assertThat(d.release()).isFalse();
        assertThat(d.reason()).contains("0.7000").contains("0.8000").contains("0.7500");
    }

    @Test
    void shouldRefuseNaNMetrics() {
        EvalMetrics nanLoss = new EvalMetrics(100, 0.9, Double.NaN, 1.0, 0.1, 0, 1);
        assertThat(Gate.decide(m(0.5), nanLoss, 0.1).release()).isFalse();
        assertThat(Gate.decide(m(0.5), nanLoss, 0.1).reason()).contains("loss");
        EvalMetrics nanCorr = new EvalMetrics(100, 0.9, 0.3, 1.0, Double.NaN, 0, 1);
        assertThat(Gate.decide(m(0.5), nanCorr, 0.1).release()).isFalse();
        assertThat(Gate.decide(nanCorr, m(0.9), 0.1).release()).isFalse();
        assertThat(Gate.decide(m(0.5), new EvalMetrics(100, Double.NaN, 0.3, 1, 0, 0, 1), 1.0).release()).isFalse();
    }
}
