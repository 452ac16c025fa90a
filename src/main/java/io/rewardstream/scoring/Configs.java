package io.rewardstream.scoring;

import java.util.Map;

/** Typed reads of dotted configuration keys; every error names the key. */
final class Configs {
    private Configs() {
    }

    static String string(Map<String, ?> props, String key, String dflt) {
        Object v = props.get(key);
        if (v == null) {
            return dflt;
        }
        String s = v.toString().trim();
        return s.isEmpty() ? dflt : s;
    }

    static int intValue(Map<String, ?> props, String key, int dflt) {
        long v = longValue(props, key, dflt);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(key + " is out of int range: " + v);
        }
        return (int) v;
    }

    static long longValue(Map<String, ?> props, String key, long dflt) {
        Object v = props.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        String s = v.toString().trim();
        if (s.isEmpty()) {
            return dflt;
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be an integer, got '" + v + "'");
        }
    }

    static double doubleValue(Map<String, ?> props, String key, double dflt) {
        Object v = props.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        String s = v.toString().trim();
        if (s.isEmpty()) {
            return dflt;
        }
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, got '" + v + "'");
        }
    }

    static boolean bool(Map<String, ?> props, String key, boolean dflt) {
        Object v = props.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        String s = v.toString().trim().toLowerCase(java.util.Locale.ROOT);
        if (s.isEmpty()) {
            return dflt;
        }
        return switch (s) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(key + " must be true or false, got '" + v + "'");
        };
    }
}
