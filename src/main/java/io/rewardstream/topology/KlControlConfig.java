package io.rewardstream.topology;

import io.rewardstream.config.ConfigValues;
import io.rewardstream.scoring.ShapingConfig;

import java.util.Map;

/**
 * Where the shared adaptive KL controller lives (see {@link KlControllerProcessor}). Read from the scorer's keys;
 * immutable; thread-safe.
 *
 * @param shared            whether the controller is shared: {@code scoring.kl.controller=adaptive} (a fixed beta
 *                          needs no controller and no topic)
 * @param controller        the controller's key: {@code application.id} (one policy run = one scorer application)
 * @param observationsTopic {@code topics.kl-observations.name}: per-flush KL observations of every task
 * @param coefficientsTopic {@code topics.kl-coefficients.name}: compacted, the shared beta after each update
 * @param periodMs          {@code scoring.kl.period.ms}: the controller updates beta at most once per period (when
 *                          the window has {@code scoring.kl.window} rewards); must exceed the time every instance
 *                          needs to see an update (commit interval + global-store poll) for the one-update bound
 */
public record KlControlConfig(boolean shared, String controller, String observationsTopic, String coefficientsTopic,
                              long periodMs) {
    public static final String TOPIC_OBSERVATIONS = "topics." + TopicProvisioner.KL_OBSERVATIONS + ".name";
    public static final String TOPIC_COEFFICIENTS = "topics." + TopicProvisioner.KL_COEFFICIENTS + ".name";
    public static final String PERIOD_MS = "scoring.kl.period.ms";

    public KlControlConfig {
        if (controller == null || controller.isBlank()) {
            throw new IllegalArgumentException("KL controller key (application.id) is required");
        }
        if (observationsTopic == null || observationsTopic.isBlank()) {
            throw new IllegalArgumentException(TOPIC_OBSERVATIONS + " must not be blank");
        }
        if (coefficientsTopic == null || coefficientsTopic.isBlank()) {
            throw new IllegalArgumentException(TOPIC_COEFFICIENTS + " must not be blank");
        }
        if (observationsTopic.equals(coefficientsTopic)) {
            throw new IllegalArgumentException(TOPIC_OBSERVATIONS + " and " + TOPIC_COEFFICIENTS + " must differ");
        }
        if (periodMs < 1) {
            throw new IllegalArgumentException(PERIOD_MS + " must be >= 1, got " + periodMs);
        }
    }

    /** @throws IllegalArgumentException naming the key on a bad value */
    public static KlControlConfig from(ScorerConfig config) {
        Map<String, String> raw = config.raw();
        long period = ConfigValues.longValue(raw, PERIOD_MS, 5000);
        return new KlControlConfig(config.shaping().klController() == ShapingConfig.ControllerType.ADAPTIVE,
                config.applicationId(),
                raw.getOrDefault(TOPIC_OBSERVATIONS, TopicProvisioner.KL_OBSERVATIONS).trim(),
                raw.getOrDefault(TOPIC_COEFFICIENTS, TopicProvisioner.KL_COEFFICIENTS).trim(), period);
    }
}
