package io.rewardstream.scoring;

import java.nio.ByteBuffer;

/**
 * Running count, mean and sum of squared deviations ({@code m2}) of a stream of scores, updated with
 * Welford's method. Immutable value; thread-safe. Persisted by the topology (keyed by model version)
 * through {@link #toBytes()} / {@link #fromBytes(byte[])}.
 *
 * <p>Variance is the sample variance {@code m2 / (count - 1)}, defined as 0 for fewer than two
 * values (the same convention as the GRPO group std).
 *
 * @param count number of values seen (>= 0)
 * @param mean  mean of the values (0 when empty)
 * @param m2    sum of squared deviations from the mean (>= 0)
 */
public record RunningStats(long count, double mean, double m2) {

    /** No values yet. */
    public static final RunningStats EMPTY = new RunningStats(0, 0.0, 0.0);

    private static final byte FORMAT_VERSION = 1;
    /** Serialized size: version byte + count + mean + m2. */
    public static final int BYTES = 1 + 8 + 8 + 8;

    public RunningStats {
        if (count < 0) {
            throw new IllegalArgumentException("running stats: count must be >= 0, got " + count);
        }
        if (!Double.isFinite(mean) || !Double.isFinite(m2) || m2 < 0) {
            throw new IllegalArgumentException("running stats: mean and m2 must be finite, m2 >= 0; got mean="
                    + mean + " m2=" + m2);
        }
        if (count == 0 && (mean != 0.0 || m2 != 0.0)) {
            throw new IllegalArgumentException("running stats: empty stats must have mean=0 and m2=0");
        }
    }

    /** These stats with one more value. @throws IllegalArgumentException if {@code x} is not finite */
    public RunningStats plus(double x) {
        if (!Double.isFinite(x)) {
            throw new IllegalArgumentException("running stats: value must be finite, got " + x);
        }
        long n = count + 1;
        double delta = x - mean;
        double newMean = mean + delta / n;
        double newM2 = m2 + delta * (x - newMean);
        return new RunningStats(n, newMean, Math.max(0.0, newM2));
    }

    /** Sample variance, {@code m2 / (count - 1)}; 0 when {@code count < 2}. */
    public double variance() {
        return count < 2 ? 0.0 : m2 / (count - 1);
    }

    /** Sample standard deviation; 0 when {@code count < 2}. */
    public double std() {
        return Math.sqrt(variance());
    }

    /**
     * {@code (x - mean) / std}, or {@code x - mean} when the std is 0 (fewer than two values, or all
     * equal): dividing by a zero spread would make the first score of a model version infinite.
     */
    public double whiten(double x) {
        double sd = std();
        return sd > 0 ? (x - mean) / sd : x - mean;
    }

    /** 25 bytes: format version 1, then count (long), mean, m2 (doubles), big-endian. */
    public byte[] toBytes() {
        return ByteBuffer.allocate(BYTES).put(FORMAT_VERSION).putLong(count).putDouble(mean).putDouble(m2).array();
    }

    /** Inverse of {@link #toBytes()}. @throws IllegalArgumentException on a wrong length, version or invalid values */
    public static RunningStats fromBytes(byte[] bytes) {
        if (bytes == null || bytes.length != BYTES) {
            throw new IllegalArgumentException("running stats: expected " + BYTES + " bytes, got "
                    + (bytes == null ? "null" : bytes.length));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte v = b.get();
        if (v != FORMAT_VERSION) {
            throw new IllegalArgumentException("running stats: unknown format version " + v);
        }
        return new RunningStats(b.getLong(), b.getDouble(), b.getDouble());
    }
}
