package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;
import org.tensorflow.types.TFloat32;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.Objects;

/**
 * The {@code head_weights} rows [N,H] a {@code train_step} takes: per example, one-hot on the head its objective
 * names, or the serving weights (the combined score) when it has none. Stateless.
 */
final class HeadWeights {
    private HeadWeights() {
    }

    /**
     * Whether a pair or ranking with {@code objective} can be trained and judged by a model with {@code heads}: no
     * objective (the combined score), a model without named heads (its one score), or an objective naming a head.
     */
    static boolean knows(List<ModelManifest.Head> heads, String objective) {
        return objective == null || heads.isEmpty() || heads.stream().anyMatch(h -> h.name().equals(objective));
    }

    /**
     * @return row-major [N,H] weights, or null when no example names an objective or the model has no named heads
     *         (then the graph's default, the serving weights, applies to every example)
     * @throws IllegalArgumentException when an objective names no head
     */
    static float[] rows(List<ModelManifest.Head> heads, List<String> objectives, String model) {
        if (heads.isEmpty() || objectives.stream().allMatch(Objects::isNull)) {
            return null;
        }
        int h = heads.size();
        float[] w = new float[objectives.size() * h];
        for (int i = 0; i < objectives.size(); i++) {
            String o = objectives.get(i);
            if (o == null) {
                for (int j = 0; j < h; j++) {
                    w[i * h + j] = (float) heads.get(j).weight();
                }
            } else {
                w[i * h + index(heads, o, model)] = 1f;
            }
        }
        return w;
    }

    /** @throws IllegalArgumentException when {@code name} is not one of {@code heads} */
    /** Column {@code head} of a [B, heads] {@code rewards} tensor: that head's score per row. */
    static float[] column(TFloat32 rewards, int heads, int head) {
        float[] all = new float[(int) rewards.shape().size()];
        rewards.asRawTensor().data().asFloats().read(all);
        float[] out = new float[all.length / heads];
        for (int i = 0; i < out.length; i++) {
            out[i] = all[i * heads + head];
        }
        return out;
    }

    static int index(List<ModelManifest.Head> heads, String name, String model) {
        for (int j = 0; j < heads.size(); j++) {
            if (heads.get(j).name().equals(name)) {
                return j;
            }
        }
        throw new IllegalArgumentException("objective '" + name + "' is not a head of model " + model + " (heads "
                + heads.stream().map(ModelManifest.Head::name).toList() + ")");
    }

    /** Each named head on the held-out pairs of its own objective (heads without such pairs are left out). */
    static Map<String, EvalMetrics> evaluate(List<ModelManifest.Head> heads, List<PreferenceExample> pairs,
                                             Function<String, Scorer> headScorer) {
        Map<String, EvalMetrics> out = new LinkedHashMap<>();
        for (ModelManifest.Head head : heads) {
            List<PreferenceExample> own = pairs.stream().filter(p -> head.name().equals(p.objective())).toList();
            if (!own.isEmpty()) {
                out.put(head.name(), EvalMetrics.evaluate(headScorer.apply(head.name()), own));
            }
        }
        return out;
    }

    /** Adds {@code head.<name>.accuracy} and {@code head.<name>.pairs} to a manifest's metrics. */
    static void putMetrics(Map<String, Double> metrics, Map<String, EvalMetrics> perHead) {
        perHead.forEach((head, m) -> {
            metrics.put("head." + head + ".accuracy", m.accuracy());
            metrics.put("head." + head + ".pairs", (double) m.pairs());
        });
    }
}
