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

    @Test
    void shouldRefuseACandidateWhoseHeadRegressesOnItsOwnObjectiveEvenWhenOverallAccuracyRises() {
        java.util.Map<String, EvalMetrics> before = java.util.Map.of("correct", m(0.90), "concise", m(0.60));
        Gate.Decision d = Gate.decide(m(0.75), m(0.85), 0.02, before,
                java.util.Map.of("correct", m(0.70), "concise", m(1.00)));
        assertThat(d.release()).isFalse();
        assertThat(d.reason()).contains("head correct").contains("0.7000").contains("0.8800");
        Gate.Decision ok = Gate.decide(m(0.75), m(0.85), 0.02, before,
                java.util.Map.of("correct", m(0.89), "concise", m(0.81)));
        assertThat(ok.release()).isTrue();
        assertThat(ok.reason()).contains("head concise 0.8100 vs 0.6000");
        // a head the current model has no figure for has no floor; a NaN head accuracy refuses
        assertThat(Gate.decide(m(0.75), m(0.85), 0.02, java.util.Map.of(), java.util.Map.of("correct", m(0.1)))
                .release()).isTrue();
        assertThat(Gate.decide(m(0.75), m(0.85), 0.02, before, java.util.Map.of("correct", m(Double.NaN)))
                .release()).isFalse();
        // the overall check still comes first
        assertThat(Gate.decide(m(0.90), m(0.50), 0.02, before, java.util.Map.of("correct", m(1.0))).release())
                .isFalse();
    }

    @Test
    void shouldJudgeEachPairByItsObjectivesHeadAndKeepTheCombinedScoresDistribution() {
        // fake scorers (named as such): the combined score prefers the longer response, the concise head the shorter
        Scorer combined = (ps, rs) -> {
            float[] out = new float[rs.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = rs.get(i).length();
            }
            return out;
        };
        Scorer concise = (ps, rs) -> {
            float[] out = combined.score(ps, rs);
            for (int i = 0; i < out.length; i++) {
                out[i] = -out[i];
            }
            return out;
        };
        java.util.List<PreferenceExample> pairs = java.util.List.of(
                new PreferenceExample("a", "p", "x", "xxxx", 0, "concise"),
                new PreferenceExample("b", "p", "x", "xxxx", 0, "concise"),
                new PreferenceExample("c", "p", "xxxx", "x", 0, null));
        EvalMetrics all = EvalMetrics.evaluate(combined, pairs);
        EvalMetrics per = EvalMetrics.evaluatePerObjective(combined, h -> {
            assertThat(h).isEqualTo("concise");
            return concise;
        }, pairs);
        assertThat(all.accuracy()).isCloseTo(1.0 / 3, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(per.accuracy()).isEqualTo(1.0);
        assertThat(per.meanMargin()).isEqualTo(3.0);
        assertThat(per.scoreMean()).isEqualTo(all.scoreMean());
        assertThat(per.lengthCorrelation()).isEqualTo(all.lengthCorrelation());
        // without objectives it is the plain evaluation
        java.util.List<PreferenceExample> plain = java.util.List.of(new PreferenceExample("d", "p", "x", "xx"));
        assertThat(EvalMetrics.evaluatePerObjective(combined, h -> concise, plain))
                .isEqualTo(EvalMetrics.evaluate(combined, plain));
    }
}
