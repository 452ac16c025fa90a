package io.rewardstream.topology;

import io.rewardstream.config.ConfigValues;

import java.util.Map;

/**
 * Delivery of a flush's outputs: when they are written (after an overlapped scoring call), duplicate suppression at
 * the edges, and a chaos knob for crash tests. Immutable; built by {@link #from(Map)} over the scorer's merged keys.
 *
 * @param overlap           {@value #FLUSH_OVERLAP}: a flush scores on a helper thread while the stream thread keeps
 *                          polling and buffering; its rewards are written by the stream thread (in its open
 *                          transaction) once scoring is done, at the latest before the task's next flush
 *                          ({@link InFlightFlush}); a batch that fills meanwhile keeps filling, up to 1.5 batches,
 *                          and goes to the model once they are written. Default true; false scores every flush on
 *                          the stream thread
 * @param dedupeWindowMs    {@value #DEDUPE_WINDOW_MS}: a rollout whose rollout_id was rewarded less than this long ago
 *                          (wall clock, same task, i.e. same group_id key) gets no second reward; 0 = off
 * @param chaosPauseMs      {@value #CHAOS_PAUSE_MS}: TESTS ONLY. After a flush has sent its rewards (inside the open
 *                          transaction) the stream thread sleeps this long before the commit, so a test can kill the
 *                          process there; 0 = off (default)
 */
public record DeliveryConfig(boolean overlap, long dedupeWindowMs, long chaosPauseMs) {
    public static final String FLUSH_OVERLAP = "batch.flush.overlap";
    public static final String DEDUPE_WINDOW_MS = "dedupe.window.ms";
    public static final String CHAOS_PAUSE_MS = "chaos.flush.pause.before.commit.ms";
    public static final DeliveryConfig DEFAULTS = new DeliveryConfig(true, 600_000, 0);

    public DeliveryConfig {
        if (dedupeWindowMs < 0) {
            throw new IllegalArgumentException(DEDUPE_WINDOW_MS + " must be >= 0 (0 = off), got " + dedupeWindowMs);
        }
        if (chaosPauseMs < 0 || chaosPauseMs > 600_000) {
            throw new IllegalArgumentException(CHAOS_PAUSE_MS + " must be in [0, 600000] (0 = off), got "
                    + chaosPauseMs);
        }
    }

    /** @throws IllegalArgumentException naming the key when a value is malformed or out of range */
    public static DeliveryConfig from(Map<String, String> m) {
        return new DeliveryConfig(ConfigValues.bool(m, FLUSH_OVERLAP, DEFAULTS.overlap),
                ConfigValues.longValue(m, DEDUPE_WINDOW_MS, DEFAULTS.dedupeWindowMs),
                ConfigValues.longValue(m, CHAOS_PAUSE_MS, DEFAULTS.chaosPauseMs));
    }

    public boolean dedupe() {
        return dedupeWindowMs > 0;
    }
}
