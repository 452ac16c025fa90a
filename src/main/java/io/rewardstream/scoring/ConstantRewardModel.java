package io.rewardstream.scoring;

import java.util.Arrays;
import java.util.Objects;

/**
 * A null model: every row scores the same constant, with no TensorFlow call. It exists for the benchmark's
 * Kafka-ceiling measurement (throughput of the pipeline with scoring cost removed) and for tests; never
 * serve it to a trainer. Thread-safe; close is a no-op apart from refusing later calls.
 */
public final class ConstantRewardModel implements RewardModel {
    private final ModelManifest manifest;
    private final float value;
    private volatile boolean closed;

    public ConstantRewardModel(ModelManifest manifest, float value) {
        this.manifest = Objects.requireNonNull(manifest, "manifest");
        if (!Float.isFinite(value)) {
            throw new IllegalArgumentException("constant reward must be finite, got " + value);
        }
        this.value = value;
    }

    /** A constant model named {@code constant}, version 0, ids tokenizer, given max_seq_len and vocab. */
    public static ConstantRewardModel of(float value, int maxSeqLen, int vocabSize) {
        return new ConstantRewardModel(new ModelManifest("constant", 0, maxSeqLen, 0, vocabSize, "ids", null, null,
                null, null, null, null, 0, null), value);
    }

    @Override
    public ModelManifest manifest() {
        return manifest;
    }

    @Override
    public ModelOutput score(PaddedBatch batch) {
        if (closed) {
            throw new IllegalStateException("model " + modelVersion() + " is closed");
        }
        float[] r = new float[batch.rows()];
        Arrays.fill(r, value);
        return ModelOutput.of(r);
    }

    @Override
    public void close() {
        closed = true;
    }

    public boolean isClosed() {
        return closed;
    }
}
