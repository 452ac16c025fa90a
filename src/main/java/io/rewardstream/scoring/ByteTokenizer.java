package io.rewardstream.scoring;

import java.nio.charset.StandardCharsets;

/**
 * The built-in UTF-8 byte tokenizer ({@code tokenizer = bytes} in the model manifest). Stateless and
 * thread-safe.
 *
 * <p>Ids: {@value #PAD} = PAD, {@value #BOS} = BOS, {@value #EOS} = EOS, {@value #SEP} = SEP (between
 * prompt and response), and byte {@code b} (0..255) is id {@code b + }{@value #OFFSET}; vocabulary size
 * {@value #VOCAB_SIZE}. A (prompt, response) pair is encoded as
 * {@code BOS prompt-bytes SEP response-bytes EOS}; the reward head reads the last non-padding
 * position, i.e. the EOS.
 */
public final class ByteTokenizer {
    public static final int PAD = 0;
    public static final int BOS = 1;
    public static final int EOS = 2;
    public static final int SEP = 3;
    public static final int OFFSET = 4;
    public static final int VOCAB_SIZE = 256 + OFFSET;

    private ByteTokenizer() {
    }

    /** Token ids of a text's UTF-8 bytes (no special tokens). */
    public static int[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = (bytes[i] & 0xff) + OFFSET;
        }
        return ids;
    }

    /** Prompt part of a pair: {@code BOS prompt-bytes SEP}. */
    public static int[] encodePrompt(String prompt) {
        int[] p = encode(prompt);
        int[] out = new int[p.length + 2];
        out[0] = BOS;
        System.arraycopy(p, 0, out, 1, p.length);
        out[out.length - 1] = SEP;
        return out;
    }

    /** Response part of a pair: {@code response-bytes EOS}. */
    public static int[] encodeResponse(String response) {
        int[] r = encode(response);
        int[] out = new int[r.length + 1];
        System.arraycopy(r, 0, out, 0, r.length);
        out[out.length - 1] = EOS;
        return out;
    }

    /** Whole pair: {@code BOS prompt SEP response EOS}. */
    public static int[] encodePair(String prompt, String response) {
        int[] p = encodePrompt(prompt);
        int[] r = encodeResponse(response);
        int[] out = new int[p.length + r.length];
        System.arraycopy(p, 0, out, 0, p.length);
        System.arraycopy(r, 0, out, p.length, r.length);
        return out;
    }

    /** Text of byte ids; special tokens are skipped, invalid UTF-8 is replaced. */
    public static String decode(int[] ids) {
        byte[] buf = new byte[ids.length];
        int n = 0;
        for (int id : ids) {
            if (id >= OFFSET && id < VOCAB_SIZE) {
                buf[n++] = (byte) (id - OFFSET);
            }
        }
        return new String(buf, 0, n, StandardCharsets.UTF_8);
    }
}
