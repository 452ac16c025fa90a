package io.rewardstream.training;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pairwise evaluation of a reward model. Immutable.
 *
 * @param pairs             number of pairs evaluated
 * @param accuracy          fraction with r_chosen > r_rejected (ties count half)
 * @param loss              mean Bradley-Terry loss softplus(-(r_c - r_r - margin))
 * @param meanMargin        mean of r_c - r_r
 * @param lengthCorrelation Pearson correlation of reward with response length (chars) over all 2N responses
 * @param scoreMean         mean reward over all responses (for static normalisation)
 * @param scoreStd          standard deviation of those rewards
 */
public record EvalMetrics(int pairs, double accuracy, double loss, double meanMargin, double lengthCorrelation,
                          double scoreMean, double scoreStd) {

    public static EvalMetrics evaluate(Scorer scorer, List<PreferenceExample> examples) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("cannot evaluate on an empty set of pairs");
        }
        List<String> prompts = new ArrayList<>();
        List<String> responses = new ArrayList<>();
        for (PreferenceExample e : examples) {
            prompts.add(e.prompt());
            responses.add(e.chosen());
        }
        for (PreferenceExample e : examples) {
            prompts.add(e.prompt());
            responses.add(e.rejected());
        }
        float[] s = scorer.score(prompts, responses);
        int n = examples.size();
        double acc = 0;
        double loss = 0;
        double gap = 0;
        for (int i = 0; i < n; i++) {
            double d = s[i] - s[n + i];
            acc += d > 0 ? 1 : d == 0 ? 0.5 : 0;
            double z = -(d - examples.get(i).margin());
            loss += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
            gap += d;
        }
        double[] len = new double[2 * n];
        double[] sc = new double[2 * n];
        for (int i = 0; i < 2 * n; i++) {
            len[i] = responses.get(i).length();
            sc[i] = s[i];
        }
        double mean = 0;
        for (double v : sc) {
            mean += v;
        }
        mean /= sc.length;
        double var = 0;
        for (double v : sc) {
            var += (v - mean) * (v - mean);
        }
        return new EvalMetrics(n, acc / n, loss / n, gap / n, pearson(sc, len), mean, Math.sqrt(var / sc.length));
    }

    /**
     * Like {@link #evaluate(Scorer, List)}, but each pair is judged by the score it trains: a pair with an
     * {@link PreferenceExample#objective() objective} by that named head ({@code head.apply(objective)}), a pair
     * without one by the combined score. Accuracy, loss and mean margin are these per-objective figures (what the
     * release gate compares); length correlation and the score mean and spread stay those of the combined score, the
     * one the scorer normalizes and serves. Without any objective this is {@link #evaluate(Scorer, List)}.
     *
     * @throws IllegalArgumentException when {@code examples} is empty, or {@code head} rejects an objective
     */
    public static EvalMetrics evaluatePerObjective(Scorer combined, java.util.function.Function<String, Scorer> head,
                                                   List<PreferenceExample> examples) {
        EvalMetrics all = evaluate(combined, examples);
        if (examples.stream().allMatch(e -> e.objective() == null)) {
            return all;
        }
        Map<String, List<Integer>> byObjective = new LinkedHashMap<>();
        for (int i = 0; i < examples.size(); i++) {
            byObjective.computeIfAbsent(examples.get(i).objective(), k -> new ArrayList<>()).add(i);
        }
        int n = examples.size();
        double acc = 0;
        double loss = 0;
        double gap = 0;
        for (var g : byObjective.entrySet()) {
            Scorer s = g.getKey() == null ? combined : head.apply(g.getKey());
            List<String> prompts = new ArrayList<>();
            List<String> responses = new ArrayList<>();
            for (int i : g.getValue()) {
                prompts.add(examples.get(i).prompt());
                responses.add(examples.get(i).chosen());
            }
            for (int i : g.getValue()) {
                prompts.add(examples.get(i).prompt());
                responses.add(examples.get(i).rejected());
            }
            float[] sc = s.score(prompts, responses);
            int k = g.getValue().size();
            for (int j = 0; j < k; j++) {
                double d = sc[j] - sc[k + j];
                acc += d > 0 ? 1 : d == 0 ? 0.5 : 0;
                double z = -(d - examples.get(g.getValue().get(j)).margin());
                loss += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
                gap += d;
            }
        }
        return new EvalMetrics(n, acc / n, loss / n, gap / n, all.lengthCorrelation(), all.scoreMean(),
                all.scoreStd());
    }

    /**
     * Metrics per category, the category being the pair id up to its first '-' ({@code fact-012} -> {@code fact}), in
     * order of first appearance, plus {@code "all"}. Scores every response once.
     */
    public static Map<String, EvalMetrics> byCategory(Scorer scorer, List<PreferenceExample> examples) {
        List<String> prompts = new ArrayList<>();
        List<String> responses = new ArrayList<>();
        for (PreferenceExample e : examples) {
            prompts.add(e.prompt());
            responses.add(e.chosen());
            prompts.add(e.prompt());
            responses.add(e.rejected());
        }
        float[] all = scorer.score(prompts, responses);
        Map<String, Float> memo = new java.util.HashMap<>();
        for (int i = 0; i < all.length; i++) {
            memo.put(prompts.get(i) + '\u0000' + responses.get(i), all[i]);
        }
        Scorer cached = (ps, rs) -> {
            float[] out = new float[ps.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = memo.get(ps.get(i) + '\u0000' + rs.get(i));
            }
            return out;
        };
        Map<String, List<PreferenceExample>> groups = new LinkedHashMap<>();
        for (PreferenceExample e : examples) {
            int dash = e.id().indexOf('-');
            groups.computeIfAbsent(dash < 0 ? e.id() : e.id().substring(0, dash), k -> new ArrayList<>()).add(e);
        }
        Map<String, EvalMetrics> out = new LinkedHashMap<>();
        groups.forEach((k, v) -> out.put(k, evaluate(cached, v)));
        out.put("all", evaluate(cached, examples));
        return out;
    }

    /** Pearson correlation; 0 when either side is constant. */
    public static double pearson(double[] a, double[] b) {
        int n = a.length;
        double ma = 0;
        double mb = 0;
        for (int i = 0; i < n; i++) {
            ma += a[i];
            mb += b[i];
        }
        ma /= n;
        mb /= n;
        double sab = 0;
        double saa = 0;
        double sbb = 0;
        for (int i = 0; i < n; i++) {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) * (a[i] - ma);
            sbb += (b[i] - mb) * (b[i] - mb);
        }
        return saa == 0 || sbb == 0 ? 0 : sab / Math.sqrt(saa * sbb);
    }

    /** Metrics as the manifest / JSON map (snake_case keys). */
    public Map<String, Double> asMap() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("pairs", (double) pairs);
        m.put("accuracy", accuracy);
        m.put("loss", loss);
        m.put("mean_margin", meanMargin);
        m.put("length_correlation", lengthCorrelation);
        m.put("score_mean", scoreMean);
        m.put("score_std", scoreStd);
        return m;
    }

    @Override
    public String toString() {
        return String.format("pairs %d, accuracy %.3f, loss %.4f, mean margin %.3f, length corr %.3f",
                pairs, accuracy, loss, meanMargin, lengthCorrelation);
    }
}
