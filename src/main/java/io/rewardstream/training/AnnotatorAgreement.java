package io.rewardstream.training;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Inter-annotator agreement over pairs labelled by several annotators. A group is the same prompt with the
 * same two responses (unordered); each pair in it is one label (which response won). A group with two or
 * more labels has a majority (the response preferred by more labels; none on a tie). Immutable result.
 *
 * @param groups        groups with >= 2 labels
 * @param overall       fraction of labels in those groups that match their group's majority (ties: 0.5 each)
 * @param perAnnotator  per annotator id ({@code "?"} for none): the same fraction over their labels
 * @param groupAgreement agreement of each multi-label group, by group key
 */
public record AnnotatorAgreement(int groups, double overall, Map<String, Double> perAnnotator,
                                 Map<String, Double> groupAgreement) {

    /** Computes agreement over {@code pairs}. */
    public static AnnotatorAgreement of(List<StoredPair> pairs) {
        Map<String, List<StoredPair>> byGroup = new LinkedHashMap<>();
        for (StoredPair p : pairs) {
            if (p.isRanking()) {
                continue;   // agreement is measured on pairs; rankings are kept as they are
            }
            byGroup.computeIfAbsent(groupKey(p), k -> new ArrayList<>()).add(p);
        }
        Map<String, double[]> ann = new TreeMap<>();   // annotator -> {agreeing, labels}
        Map<String, Double> groupAg = new HashMap<>();
        double agree = 0;
        int labels = 0;
        int groups = 0;
        for (var e : byGroup.entrySet()) {
            List<StoredPair> g = e.getValue();
            if (g.size() < 2) {
                continue;
            }
            groups++;
            Map<String, Integer> votes = new HashMap<>();
            for (StoredPair p : g) {
                votes.merge(StoredPair.content(p.chosen(), p.chosenIds()), 1, Integer::sum);
            }
            int best = votes.values().stream().max(Integer::compare).orElse(0);
            Set<String> top = new HashSet<>();
            votes.forEach((k, v) -> {
                if (v == best) {
                    top.add(k);
                }
            });
            double groupAgree = 0;
            for (StoredPair p : g) {
                double a = top.contains(StoredPair.content(p.chosen(), p.chosenIds())) ? 1.0 / top.size() : 0.0;
                groupAgree += a;
                double[] c = ann.computeIfAbsent(p.annotator() == null ? "?" : p.annotator(), k -> new double[2]);
                c[0] += a;
                c[1] += 1;
            }
            agree += groupAgree;
            labels += g.size();
            groupAg.put(e.getKey(), groupAgree / g.size());
        }
        Map<String, Double> per = new TreeMap<>();
        ann.forEach((k, c) -> per.put(k, c[0] / c[1]));
        return new AnnotatorAgreement(groups, labels == 0 ? Double.NaN : agree / labels, per, groupAg);
    }

    /** Pairs whose multi-label group agrees less than {@code min} removed; single-label pairs are kept. */
    public List<StoredPair> dropBelow(List<StoredPair> pairs, double min) {
        List<StoredPair> out = new ArrayList<>(pairs.size());
        for (StoredPair p : pairs) {
            Double a = groupAgreement.get(groupKey(p));
            if (a == null || a >= min) {
                out.add(p);
            }
        }
        return out;
    }

    /**
     * Group key: the objective, the prompt and the two responses in a canonical (sorted) order. Labels for different
     * objectives ("concise" vs "correct") may rightly disagree on the same two responses: that is not annotator
     * disagreement, and it is the conflict the per-objective heads learn from.
     */
    static String groupKey(StoredPair p) {
        String prompt = StoredPair.content(p.prompt(), p.promptIds());
        String a = StoredPair.content(p.chosen(), p.chosenIds());
        String b = StoredPair.content(p.rejected(), p.rejectedIds());
        String objective = p.objective() == null ? "" : p.objective();
        String pair = a.compareTo(b) <= 0 ? a + "\u0000" + b : b + "\u0000" + a;
        return objective + "\u0000" + prompt + "\u0000" + pair;
    }

    /** Metrics for logs and the report: {@code annotator_agreement} and {@code annotator_agreement.<id>}. */
    public Map<String, Double> asMap() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("annotator_groups", (double) groups);
        if (!Double.isNaN(overall)) {
            m.put("annotator_agreement", overall);
        }
        perAnnotator.forEach((k, v) -> m.put("annotator_agreement." + k, v));
        return m;
    }
}
