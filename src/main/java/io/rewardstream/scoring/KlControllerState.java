package io.rewardstream.scoring;

import java.nio.ByteBuffer;

/**
 * State of a {@link KlController}: the current beta and the open window (rewards counted and the sum of
 * their sequence KL). Immutable value; thread-safe. Persisted by the topology through
 * {@link #toBytes()} / {@link #fromBytes(byte[])}.
 *
 * @param beta  the KL coefficient to use for the next reward (finite, >= 0)
 * @param count rewards in the open window (>= 0)
 * @param klSum sum of their sequence KL (finite)
 */
public record KlControllerState(double beta, long count, double klSum) {

    private static final byte FORMAT_VERSION = 1;
    /** Serialized size: version byte + beta + count + klSum. */
    public static final int BYTES = 1 + 8 + 8 + 8;

    public KlControllerState {
        if (!Double.isFinite(beta) || beta < 0) {
            throw new IllegalArgumentException("KL controller: beta must be finite and >= 0, got " + beta);
        }
        if (count < 0) {
            throw new IllegalArgumentException("KL controller: count must be >= 0, got " + count);
        }
        if (!Double.isFinite(klSum)) {
            throw new IllegalArgumentException("KL controller: KL sum must be finite, got " + klSum);
        }
    }

    /** A fresh state with an empty window. */
    public static KlControllerState initial(double beta) {
        return new KlControllerState(beta, 0, 0.0);
    }

    /** 25 bytes: format version 1, then beta (double), count (long), klSum (double), big-endian. */
    public byte[] toBytes() {
        return ByteBuffer.allocate(BYTES).put(FORMAT_VERSION).putDouble(beta).putLong(count).putDouble(klSum).array();
    }

    /** Inverse of {@link #toBytes()}. @throws IllegalArgumentException on a wrong length, version or invalid values */
    public static KlControllerState fromBytes(byte[] bytes) {
        if (bytes == null || bytes.length != BYTES) {
            throw new IllegalArgumentException("KL controller state: expected " + BYTES + " bytes, got "
                    + (bytes == null ? "null" : bytes.length));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte v = b.get();
        if (v != FORMAT_VERSION) {
            throw new IllegalArgumentException("KL controller state: unknown format version " + v);
        }
        return new KlControllerState(b.getDouble(), b.getLong(), b.getDouble());
    }
}
