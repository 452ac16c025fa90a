package io.rewardstream.gateway;

import io.rewardstream.avro.Reward;

/**
 * What became of one rollout the gateway published: its reward as the scorer wrote it to the rewards topic, or the
 * reason it was dead-lettered. Exactly one of {@code reward} and {@code deadLetterReason} is set.
 */
public record RewardOutcome(String rolloutId, Reward reward, String deadLetterReason, String deadLetterDetail) {

    public static RewardOutcome rewarded(Reward reward) {
        return new RewardOutcome(reward.getRolloutId(), reward, null, null);
    }

    public static RewardOutcome deadLettered(String rolloutId, String reason, String detail) {
        return new RewardOutcome(rolloutId, null, reason == null ? "UNKNOWN" : reason, detail);
    }

    public boolean isRewarded() {
        return reward != null;
    }
}
