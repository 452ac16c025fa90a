package io.rewardstream.release;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

import static io.rewardstream.config.ConfigValues.bool;
import static io.rewardstream.config.ConfigValues.longValue;
import static io.rewardstream.config.ConfigValues.path;
import static io.rewardstream.config.ConfigValues.requiredString;
import static io.rewardstream.config.ConfigValues.string;

/**
 * Configuration of the scorer's {@link ReleaseWatcher}. Immutable; validated on construction.
 *
 * @param modelRoot        {@value #MODEL_ROOT}: directory every release location is relative to (required)
 * @param topic            {@value #TOPIC}: compacted release topic, default {@value #DEFAULT_TOPIC}
 * @param publicKeysDir    {@value #PUBLIC_KEYS_DIR}: directory of trusted {@code *.pub}/{@code *.pem} Ed25519 keys,
 *                         key id = file name without extension; required unless unsigned releases are allowed
 * @param allowUnsigned    {@value #ALLOW_UNSIGNED}: accept unsigned releases (local development only), default false
 * @param allowRollback    {@value #ALLOW_ROLLBACK}: accept {@code rollback=true} releases at or below the serving
 *                         version, default false
 * @param pollMs           {@value #POLL_MS}: consumer poll timeout, default 1000
 * @param modelName        {@value #MODEL_NAME}: only releases of this model are considered; null (unset) = any
 * @param startupTimeoutMs {@value #STARTUP_TIMEOUT_MS}: how long {@link ReleaseWatcher#start()} may take to read
 *                         the topic to its end, default 60000
 */
public record ReleaseConfig(Path modelRoot, String topic, Path publicKeysDir, boolean allowUnsigned,
                            boolean allowRollback, long pollMs, String modelName, long startupTimeoutMs) {

    public static final String MODEL_ROOT = "model.root";
    public static final String TOPIC = "release.topic";
    public static final String PUBLIC_KEYS_DIR = "release.public.keys.dir";
    public static final String ALLOW_UNSIGNED = "release.allow.unsigned";
    public static final String ALLOW_ROLLBACK = "release.allow.rollback";
    public static final String POLL_MS = "release.poll.ms";
    public static final String MODEL_NAME = "release.model.name";
    public static final String STARTUP_TIMEOUT_MS = "release.startup.timeout.ms";
    public static final String DEFAULT_TOPIC = "model-releases";

    public ReleaseConfig {
        Objects.requireNonNull(modelRoot, MODEL_ROOT + " is required");
        if (topic == null || topic.isBlank()) {
            throw new IllegalArgumentException(TOPIC + " must not be blank");
        }
        if (publicKeysDir == null && !allowUnsigned) {
            throw new IllegalArgumentException(PUBLIC_KEYS_DIR + " is required unless " + ALLOW_UNSIGNED + "=true");
        }
        if (pollMs < 1 || pollMs > 600_000) {
            throw new IllegalArgumentException(POLL_MS + " must be in [1, 600000], got " + pollMs);
        }
        if (startupTimeoutMs < 1) {
            throw new IllegalArgumentException(STARTUP_TIMEOUT_MS + " must be >= 1, got " + startupTimeoutMs);
        }
        if (modelName != null && modelName.isBlank()) {
            modelName = null;
        }
    }

    /** Reads the dotted keys above from {@code props}; errors name the key. */
    public static ReleaseConfig from(Map<String, ?> props) {
        return new ReleaseConfig(Path.of(requiredString(props, MODEL_ROOT)), string(props, TOPIC, DEFAULT_TOPIC),
                path(props, PUBLIC_KEYS_DIR), bool(props, ALLOW_UNSIGNED, false), bool(props, ALLOW_ROLLBACK, false),
                longValue(props, POLL_MS, 1000), string(props, MODEL_NAME, null),
                longValue(props, STARTUP_TIMEOUT_MS, 60_000));
    }

    /** Whether releases of {@code name} are for this scorer. */
    public boolean accepts(String name) {
        return modelName == null || modelName.equals(name);
    }
}
