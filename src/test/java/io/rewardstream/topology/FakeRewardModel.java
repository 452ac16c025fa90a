package io.rewardstream.topology;

import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.ModelOutput;
import io.rewardstream.scoring.ModelScoringException;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RewardModel;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * FAKE reward model for the topology unit tests: the reward of a row is {@link #expected(int[])}, a deterministic
 * function of its real (unpadded) token ids. Records every batch's row count; can be told to fail or to wait
 * at a gate.
 */
final class FakeRewardModel implements RewardModel {
    private final ModelManifest manifest;
    final List<Integer> batchRows = Collections.synchronizedList(new ArrayList<>());
    volatile boolean failing;
    volatile boolean closed;
    /** When set, every call waits for it to open (a slow device, for the overlapped flush). */
    volatile java.util.concurrent.CountDownLatch gate;
    /** When set, token_rewards rows are one position long: the pipeline's per-row stage fails after the call. */
    volatile boolean shortTokenRewards;
    /** When set, a call whose batch holds this token id fails (a poison row, like TF's Gather on an id past its table). */
    volatile int poisonId = -1;

    FakeRewardModel(String name, long version, int maxSeqLen, int vocab) {
        manifest = new ModelManifest(name, version, maxSeqLen, 0, vocab, "ids", null, null, null, null, null, null,
                0, null);
    }

    /** The score of a sequence: sum of id * position weight, scaled into roughly [-5, 5]. */
    static float expected(int[] ids) {
        long acc = 0;
        for (int c = 0; c < ids.length; c++) {
            acc += (long) ids[c] * (c % 7 + 1);
        }
        return (acc % 1000) / 100f - 5f;
    }

    @Override
    public ModelManifest manifest() {
        return manifest;
    }

    @Override
    public ModelOutput score(PaddedBatch batch) {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        java.util.concurrent.CountDownLatch g = gate;
        if (g != null) {
            try {
                if (!g.await(30, java.util.concurrent.TimeUnit.SECONDS)) {
                    throw new ModelScoringException("fake model gate never opened");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ModelScoringException("interrupted at the fake model's gate");
            }
        }
        if (failing) {
            throw new ModelScoringException("fake model failure");
        }
        batchRows.add(batch.rows());
        float[] r = new float[batch.rows()];
        for (int i = 0; i < r.length; i++) {
            int len = 0;
            while (len < batch.paddedLength() && batch.mask()[i][len] == 1) {
                len++;
            }
            int[] ids = java.util.Arrays.copyOf(batch.ids()[i], len);
            for (int id : ids) {
                if (id == poisonId) {
                    throw new ModelScoringException("fake model: token " + id + " is outside its embedding");
                }
            }
            r[i] = expected(ids);
        }
        return shortTokenRewards ? new ModelOutput(r, null, null, new float[r.length][1]) : ModelOutput.of(r);
    }

    @Override
    public void close() {
        closed = true;
    }
}
