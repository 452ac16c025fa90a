package io.rewardstream.scoring;

/**
 * The state shaping carries from one batch to the next: the KL controller's state and the model version's running
 * score stats. Immutable; the caller stores it (the scorer in change-logged stores) and passes it back in.
 */
public record ShapingState(KlControllerState kl, RunningStats stats) {
    public ShapingState {
        if (kl == null) {
            throw new IllegalArgumentException("kl state is required");
        }
        stats = stats == null ? RunningStats.EMPTY : stats;
    }
}
