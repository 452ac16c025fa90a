package io.rewardstream.training;

import io.rewardstream.scoring.ByteTokenizer;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TInt32;

import java.util.List;

/**
 * Turns (prompt, response) texts into right-padded id/mask matrices for the byte tokenizer.
 * Sequences longer than {@code maxSeqLen} keep their LAST {@code maxSeqLen} tokens (left truncation),
 * so the EOS the reward head reads is never cut off. Stateless.
 */
public final class Batches {
    private Batches() {
    }

    /** Encoded and truncated ids of one (prompt, response) pair. */
    public static int[] encode(String prompt, String response, int maxSeqLen) {
        int[] ids = ByteTokenizer.encodePair(prompt, response);
        if (ids.length <= maxSeqLen) {
            return ids;
        }
        int[] out = new int[maxSeqLen];
        System.arraycopy(ids, ids.length - maxSeqLen, out, 0, maxSeqLen);
        return out;
    }

    /** Ids and mask [B,T] with T = the longest row (at least {@code minLen}). */
    public record Padded(int[] ids, int[] mask, int rows, int cols) {
        public TInt32 idsTensor() {
            return TInt32.tensorOf(Shape.of(rows, cols), DataBuffers.of(ids, true, false));
        }

        public TInt32 maskTensor() {
            return TInt32.tensorOf(Shape.of(rows, cols), DataBuffers.of(mask, true, false));
        }
    }

    public static Padded pad(List<int[]> rows, int minLen) {
        int t = Math.max(1, minLen);
        for (int[] r : rows) {
            t = Math.max(t, r.length);
        }
        int[] ids = new int[rows.size() * t];
        int[] mask = new int[rows.size() * t];
        for (int i = 0; i < rows.size(); i++) {
            int[] r = rows.get(i);
            if (r.length == 0) {
                throw new IllegalArgumentException("row " + i + " is empty: every sequence needs >= 1 token");
            }
            System.arraycopy(r, 0, ids, i * t, r.length);
            for (int j = 0; j < r.length; j++) {
                mask[i * t + j] = 1;
            }
        }
        return new Padded(ids, mask, rows.size(), t);
    }
}
