package io.rewardstream.config;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Typed reads of dotted configuration keys, shared by every configuration record. A value may be a String (from a
 * properties file or a flag) or already typed (Integer, Long, Double, Boolean); Strings are trimmed and a blank value
 * counts as absent. Every error is an {@link IllegalArgumentException} whose message starts with the key's name.
 * Stateless and thread-safe.
 */
public final class ConfigValues {
    private ConfigValues() {
    }

    /** The trimmed value, or {@code dflt} when absent or blank. */
    public static String string(Map<String, ?> props, String key, String dflt) {
        Object v = props.get(key);
        if (v == null) {
            return dflt;
        }
        String s = v.toString().trim();
        return s.isEmpty() ? dflt : s;
    }

    /** @throws IllegalArgumentException "KEY is required" when absent or blank */
    public static String requiredString(Map<String, ?> props, String key) {
        String s = string(props, key, null);
        if (s == null) {
            throw new IllegalArgumentException(key + " is required");
        }
        return s;
    }

    /** The value as a path, or null when absent or blank. */
    public static Path path(Map<String, ?> props, String key) {
        String s = string(props, key, null);
        return s == null ? null : Path.of(s);
    }

    /** @throws IllegalArgumentException naming the key when not an integer or outside the int range */
    public static int intValue(Map<String, ?> props, String key, int dflt) {
        return toInt(key, longValue(props, key, dflt));
    }

    /** @throws IllegalArgumentException naming the key when absent, not an integer or outside the int range */
    public static int requiredInt(Map<String, ?> props, String key) {
        return toInt(key, requiredLong(props, key));
    }

    /** @throws IllegalArgumentException naming the key when not an integer */
    public static long longValue(Map<String, ?> props, String key, long dflt) {
        Object v = props.get(key);
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        String s = string(props, key, null);
        if (s == null) {
            return dflt;
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be an integer, got '" + s + "'");
        }
    }

    /** @throws IllegalArgumentException naming the key when absent or not an integer */
    public static long requiredLong(Map<String, ?> props, String key) {
        requiredString(props, key);
        return longValue(props, key, 0);
    }

    /** @throws IllegalArgumentException naming the key when not a number */
    public static double doubleValue(Map<String, ?> props, String key, double dflt) {
        Object v = props.get(key);
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        String s = string(props, key, null);
        if (s == null) {
            return dflt;
        }
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, got '" + s + "'");
        }
    }

    /** {@code true} or {@code false}, any case. @throws IllegalArgumentException naming the key otherwise */
    public static boolean bool(Map<String, ?> props, String key, boolean dflt) {
        Object v = props.get(key);
        if (v instanceof Boolean b) {
            return b;
        }
        String s = string(props, key, null);
        if (s == null) {
            return dflt;
        }
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(key + " must be true or false, got '" + s + "'");
        };
    }

    private static int toInt(String key, long v) {
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(key + " is out of int range: " + v);
        }
        return (int) v;
    }
}
