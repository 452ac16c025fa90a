package io.rewardstream.scoring;

import io.rewardstream.config.ConfigValues;

import java.util.Map;

/**
 * Micro-batching limits. Immutable; thread-safe.
 *
 * @param maxSize     {@code batch.max.size}: most sequences in one model call (default 64)
 * @param maxTokens   {@code batch.max.tokens}: most padded tokens (rows x padded length) in one model call
 *                    (default 16384)
 * @param padMultiple {@code batch.pad.multiple}: a batch is padded to its longest sequence rounded up to
 *                    this multiple, capped at the model's max_seq_len (default 8)
 * @param maxDelayMs  {@code batch.max.delay.ms}: longest a record may wait for its batch to fill (default 200)
 * @param callOverheadTokens {@code batch.call.overhead.tokens}: the fixed cost of one model call, in padded-token
 *                    equivalents; the planner splits a flush into more calls only where that saves more padded
 *                    tokens than this (default 64; 0 = split wherever padding is saved, large = fewest calls)
 * @param idleFlushMs {@code batch.idle.flush.ms}: a partial batch is flushed once no rollout has arrived in any task
 *                    of this scorer for this long while no flush of it is scoring (the model is idle; an idle flush
 *                    does not count, so every task's partial batch follows at once), instead of waiting
 *                    out {@code batch.max.delay.ms}: work-conserving, so batches still grow under load (default 20;
 *                    0 = off, a partial batch always waits for the max delay)
 */
public record BatchingConfig(int maxSize, int maxTokens, int padMultiple, long maxDelayMs, int callOverheadTokens,
                             long idleFlushMs) {

    public static final String MAX_SIZE = "batch.max.size";
    public static final String MAX_TOKENS = "batch.max.tokens";
    public static final String PAD_MULTIPLE = "batch.pad.multiple";
    public static final String MAX_DELAY_MS = "batch.max.delay.ms";
    public static final String CALL_OVERHEAD_TOKENS = "batch.call.overhead.tokens";
    public static final String IDLE_FLUSH_MS = "batch.idle.flush.ms";

    /** The defaults: 64 sequences, 16384 tokens, multiple of 2, 200 ms, call overhead 64 tokens, idle flush 20 ms. */
    public static final BatchingConfig DEFAULTS = new BatchingConfig(64, 16384, 2, 200, 64, 20);

    /** Limits with the default call overhead and idle flush. */
    public BatchingConfig(int maxSize, int maxTokens, int padMultiple, long maxDelayMs) {
        this(maxSize, maxTokens, padMultiple, maxDelayMs, 64);
    }

    /** Limits with the default idle flush. */
    public BatchingConfig(int maxSize, int maxTokens, int padMultiple, long maxDelayMs, int callOverheadTokens) {
        this(maxSize, maxTokens, padMultiple, maxDelayMs, callOverheadTokens, 20);
    }

    public BatchingConfig {
        if (maxSize < 1) {
            throw new IllegalArgumentException(MAX_SIZE + " must be >= 1, got " + maxSize);
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException(MAX_TOKENS + " must be >= 1, got " + maxTokens);
        }
        if (padMultiple < 1) {
            throw new IllegalArgumentException(PAD_MULTIPLE + " must be >= 1, got " + padMultiple);
        }
        if (maxDelayMs < 0) {
            throw new IllegalArgumentException(MAX_DELAY_MS + " must be >= 0, got " + maxDelayMs);
        }
        if (callOverheadTokens < 0) {
            throw new IllegalArgumentException(CALL_OVERHEAD_TOKENS + " must be >= 0, got " + callOverheadTokens);
        }
        if (idleFlushMs < 0) {
            throw new IllegalArgumentException(IDLE_FLUSH_MS + " must be >= 0, got " + idleFlushMs);
        }
    }

    /**
     * Reads the {@code batch.*} keys; missing keys take their defaults.
     *
     * @throws IllegalArgumentException naming the key when a value is not an integer or out of range
     */
    public static BatchingConfig from(Map<String, ?> props) {
        return new BatchingConfig(
                ConfigValues.intValue(props, MAX_SIZE, DEFAULTS.maxSize),
                ConfigValues.intValue(props, MAX_TOKENS, DEFAULTS.maxTokens),
                ConfigValues.intValue(props, PAD_MULTIPLE, DEFAULTS.padMultiple),
                ConfigValues.longValue(props, MAX_DELAY_MS, DEFAULTS.maxDelayMs),
                ConfigValues.intValue(props, CALL_OVERHEAD_TOKENS, DEFAULTS.callOverheadTokens),
                ConfigValues.longValue(props, IDLE_FLUSH_MS, DEFAULTS.idleFlushMs));
    }
}
