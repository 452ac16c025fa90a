package io.rewardstream.training;

import io.rewardstream.scoring.ByteTokenizer;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TInt32;

import java.util.List;

/**
 * Turns (prompt, response) texts into right-padded id/mask matrices. With tokenizer {@code bytes} the
 * texts are encoded by {@link ByteTokenizer} ({@code BOS prompt SEP response EOS}); with {@code ids} the
 * texts hold whitespace-separated token ids (e.g. {@code "17 4 99"}), concatenated prompt then response
 * with no special tokens. Sequences longer than {@code maxSeqLen} keep their LAST {@code maxSeqLen}
 * tokens (left truncation), so the last token the reward head reads is never cut off. Stateless.
 */
public final class Batches {
    private Batches() {
    }

    /** Encoded and truncated ids of one (prompt, response) pair with the byte tokenizer. */
    public static int[] encode(String prompt, String response, int maxSeqLen) {
        return truncate(ByteTokenizer.encodePair(prompt, response), maxSeqLen);
    }

    /**
     * Encoded and truncated ids for {@code tokenizer} ({@code bytes} or {@code ids}).
     *
     * @throws IllegalArgumentException for a non-integer or out-of-range id, or an empty sequence
     */
    public static int[] encode(String tokenizer, int vocabSize, String prompt, String response, int maxSeqLen) {
        if ("bytes".equals(tokenizer)) {
            return encode(prompt, response, maxSeqLen);
        }
        if (!"ids".equals(tokenizer)) {
            throw new IllegalArgumentException("unsupported tokenizer '" + tokenizer + "' (bytes or ids)");
        }
        int[] p = parseIds(prompt, vocabSize, "prompt");
        int[] r = parseIds(response, vocabSize, "response");
        if (r.length == 0) {
            throw new IllegalArgumentException("empty response token ids");
        }
        int[] all = new int[p.length + r.length];
        System.arraycopy(p, 0, all, 0, p.length);
        System.arraycopy(r, 0, all, p.length, r.length);
        return truncate(all, maxSeqLen);
    }

    private static int[] parseIds(String s, int vocabSize, String what) {
        String t = s.strip();
        if (t.isEmpty()) {
            return new int[0];
        }
        String[] parts = t.split("\\s+");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + " token " + i + " is not an integer: '" + parts[i] + "'");
            }
            if (out[i] < 0 || out[i] >= vocabSize) {
                throw new IllegalArgumentException(what + " token id " + out[i] + " outside [0," + vocabSize + ")");
            }
        }
        return out;
    }

    private static int[] truncate(int[] ids, int maxSeqLen) {
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
