package io.rewardstream.topology;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.ScoringPipeline;
import io.rewardstream.scoring.ShapedReward;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Avro mapping of a scored row to the {@code rewards} record. Stateless. */
final class RewardRecords {
    private RewardRecords() {
    }

    static Reward reward(Rollout r, ScoringPipeline.Scored row, String modelVersion, boolean emitKlPerToken,
                         Instant scoredAt) {
        ShapedReward sh = row.shaped();
        return Reward.newBuilder()
                .setRolloutId(r.getRolloutId())
                .setGroupId(r.getGroupId())
                .setPolicyVersion(r.getPolicyVersion())
                .setModelVersion(modelVersion)
                .setScore(sh.score())
                .setShapedScore(sh.shapedScore())
                .setKl(sh.klSum())
                .setKlPerToken(emitKlPerToken ? floats(sh.klPerToken()) : null)
                .setKlCoef(sh.beta())
                .setTokenRewards(floats(sh.tokenRewards()))
                .setReward(sh.reward())
                .setHeadScores(row.heads())
                .setUncertainty(row.uncertainty())
                .setFlags(new ArrayList<>(row.flags()))
                .setRolloutCreatedAt(r.getCreatedAt())
                .setScoredAt(scoredAt)
                .build();
    }

    private static List<Float> floats(double[] v) {
        List<Float> out = new ArrayList<>(v.length);
        for (double d : v) {
            out.add((float) d);
        }
        return out;
    }
}
