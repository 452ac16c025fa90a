package io.rewardstream.schema;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resolves secret placeholders in configuration values, so that passwords live in files (Kubernetes secrets, Docker
 * secrets) or environment variables instead of properties files and command lines:
 * <ul>
 *   <li>{@code ${file:PATH}}: the whole content of the file at PATH (UTF-8), one trailing line break removed;</li>
 *   <li>{@code ${env:NAME}}: the environment variable NAME.</li>
 * </ul>
 * A placeholder may sit inside a longer value, e.g.
 * {@code sasl.jaas.config=...ScramLoginModule required username="scorer" password="${file:/run/secrets/scorer}";}.
 * Other {@code ${...}} forms are left untouched. Resolution happens once, when the CLI loads its configuration (before
 * Kafka sees it), so Kafka's own {@code config.providers} are not needed; {@code sasl.jaas.config} and the store
 * passwords are Kafka {@code PASSWORD} settings, which Kafka logs as {@code [hidden]}.
 *
 * <p>Errors name the key and the placeholder (a path or a variable name), never a resolved value. Stateless and
 * thread-safe.
 */
public final class ConfigSecrets {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{(file|env):([^}]+)}");

    private ConfigSecrets() {
    }

    /** {@link #resolve(Map, Function)} with the process environment. */
    public static Map<String, String> resolve(Map<String, String> props) {
        return resolve(props, System::getenv);
    }

    /**
     * A copy of {@code props} (same iteration order) with every placeholder replaced.
     *
     * @param env environment lookup (null for an unset variable)
     * @throws IllegalArgumentException naming the key and placeholder when a file cannot be read or a variable is unset
     */
    public static Map<String, String> resolve(Map<String, String> props, Function<String, String> env) {
        Objects.requireNonNull(env, "env");
        Map<String, String> out = new LinkedHashMap<>();
        props.forEach((k, v) -> out.put(k, v == null ? null : resolveValue(k, v, env)));
        return out;
    }

    /** Keys whose values are secrets: never printed (password, secret, jaas, user.info, credentials, token, key material). */
    public static boolean isSecretKey(String key) {
        String k = key.toLowerCase(java.util.Locale.ROOT);
        return k.contains("password") || k.contains("secret") || k.contains("jaas") || k.contains("user.info")
                || k.contains("credential") || k.contains("token.value") || k.endsWith(".key") || k.contains("private");
    }

    /** {@code {k=v, ...}} with the values of {@link #isSecretKey secret keys} shown as {@code [hidden]}. */
    public static String redacted(Map<String, ?> props) {
        StringBuilder sb = new StringBuilder("{");
        new java.util.TreeMap<>(props).forEach((k, v) -> {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append(k).append('=').append(isSecretKey(k) && v != null ? "[hidden]" : v);
        });
        return sb.append('}').toString();
    }

    /** Whether {@code value} holds at least one placeholder. */
    public static boolean hasPlaceholder(String value) {
        return value != null && PLACEHOLDER.matcher(value).find();
    }

    static String resolveValue(String key, String value, Function<String, String> env) {
        Matcher m = PLACEHOLDER.matcher(value);
        if (!m.find()) {
            return value;
        }
        StringBuilder sb = new StringBuilder();
        do {
            String kind = m.group(1);
            String ref = m.group(2).trim();
            String secret = "file".equals(kind) ? readFile(key, ref) : readEnv(key, ref, env);
            m.appendReplacement(sb, Matcher.quoteReplacement(secret));
        } while (m.find());
        m.appendTail(sb);
        return sb.toString();
    }

    private static String readFile(String key, String path) {
        try {
            String s = Files.readString(Path.of(path), StandardCharsets.UTF_8);
            if (s.endsWith("\r\n")) {
                return s.substring(0, s.length() - 2);
            }
            return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
        } catch (IOException | RuntimeException e) {
            // the exception message names only the path, never content
            throw new IllegalArgumentException(key + ": cannot read secret file ${file:" + path + "}: "
                    + e.getClass().getSimpleName());
        }
    }

    private static String readEnv(String key, String name, Function<String, String> env) {
        String v = env.apply(name);
        if (v == null) {
            throw new IllegalArgumentException(key + ": environment variable ${env:" + name + "} is not set");
        }
        return v;
    }
}
