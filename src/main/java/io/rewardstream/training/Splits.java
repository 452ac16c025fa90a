package io.rewardstream.training;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Deterministic train/held-out split by SHA-256 of a stable key (the pair id), so the same pair lands on
 * the same side in every run, process and JVM (unlike {@code String.hashCode} of mutable content or
 * random sampling). Stateless.
 */
public final class Splits {
    private Splits() {
    }

    /** A number in [0,1) derived from the first 8 bytes of SHA-256(key). */
    public static double unit(String key) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            long v = 0;
            for (int i = 0; i < 7; i++) {
                v = (v << 8) | (h[i] & 0xff);
            }
            return v / (double) (1L << 56);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** True when the key belongs to the held-out fraction. */
    public static boolean heldOut(String key, double fraction) {
        return unit(key) < fraction;
    }

    /** Train and held-out lists. */
    public record Split<T>(List<T> train, List<T> heldOut) {
    }

    public static <T> Split<T> split(List<T> items, Function<T, String> key, double heldOutFraction) {
        if (heldOutFraction < 0 || heldOutFraction >= 1) {
            throw new IllegalArgumentException("held-out fraction must be in [0,1), got " + heldOutFraction);
        }
        List<T> train = new ArrayList<>();
        List<T> held = new ArrayList<>();
        for (T t : items) {
            (heldOut(key.apply(t), heldOutFraction) ? held : train).add(t);
        }
        return new Split<>(train, held);
    }

    public static Split<PreferenceExample> byPairId(List<PreferenceExample> items, double heldOutFraction) {
        return split(items, PreferenceExample::id, heldOutFraction);
    }
}
