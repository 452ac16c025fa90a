package io.rewardstream.gateway;

import io.rewardstream.avro.Reward;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON answer of {@code POST /get_reward}, in the shape OpenRLHF's trainer reads (its {@code serve_rm} answers
 * {@code {"rewards": [...], "scores": [...], "extra_logs": {...}}}; the trainer uses {@code rewards} for the
 * advantage, {@code scores} for dynamic filtering and logs every {@code extra_logs} entry, one number per query):
 * <ul>
 *   <li>{@code rewards}: {@link Reward#getReward()}, the KL-penalized reward the scorer wrote (s' - beta*kl);</li>
 *   <li>{@code scores}: {@link Reward#getScore()}, the raw reward-model score s;</li>
 *   <li>{@code extra_logs}: {@code shaped_score}, {@code kl}, {@code kl_coef} per query;</li>
 *   <li>beyond OpenRLHF (ignored by it): {@code request_id}, {@code rollout_ids} (find them on the rewards topic)
 *       and {@code model_versions}.</li>
 * </ul>
 * Stateless.
 */
public final class OpenRlhfResponse {
    private OpenRlhfResponse() {
    }

    /** The response body as a JSON-ready map (insertion-ordered). */
    public static Map<String, Object> of(RewardGateway.Scored scored) {
        List<Double> rewards = new ArrayList<>();
        List<Double> scores = new ArrayList<>();
        List<Double> shaped = new ArrayList<>();
        List<Double> kl = new ArrayList<>();
        List<Double> klCoef = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        List<String> versions = new ArrayList<>();
        for (Reward r : scored.rewards()) {
            rewards.add(r.getReward());
            scores.add(r.getScore());
            shaped.add(r.getShapedScore());
            kl.add(r.getKl());
            klCoef.add(r.getKlCoef());
            ids.add(r.getRolloutId());
            versions.add(r.getModelVersion());
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("shaped_score", shaped);
        extra.put("kl", kl);
        extra.put("kl_coef", klCoef);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("rewards", rewards);
        out.put("scores", scores);
        out.put("extra_logs", extra);
        out.put("request_id", scored.requestId());
        out.put("rollout_ids", ids);
        out.put("model_versions", versions);
        return out;
    }
}
