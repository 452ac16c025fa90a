package io.rewardstream.scoring;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * BERT's WordPiece tokenizer over a {@code vocab.txt} (one token per line, line number = id), as in Google's
 * reference {@code tokenization.py} (BasicTokenizer + WordpieceTokenizer):
 * <ol>
 *   <li>clean: drop NUL, U+FFFD and control characters (Cc/Cf except tab, CR, LF); whitespace (Zs, tab,
 *       CR, LF) becomes a space;</li>
 *   <li>CJK ideographs become words of their own;</li>
 *   <li>split on whitespace; per word, when lower-casing: lower-case, then strip accents (NFD, drop
 *       non-spacing marks Mn);</li>
 *   <li>split off every punctuation character (ASCII symbols 33-47, 58-64, 91-96, 123-126 and Unicode P*);</li>
 *   <li>greedy longest-match-first WordPiece with {@code ##} continuation pieces; a word with no full
 *       segmentation, or longer than 100 code points, becomes one {@code [UNK]}.</li>
 * </ol>
 * Immutable; thread-safe.
 */
public final class WordPieceTokenizer {
    public static final String UNK = "[UNK]";
    public static final String CLS = "[CLS]";
    public static final String SEP = "[SEP]";
    public static final String PAD = "[PAD]";
    /** Words longer than this (code points) become [UNK], as in the reference implementation. */
    public static final int MAX_WORD_CHARS = 100;

    private final Map<String, Integer> ids;
    private final List<String> tokens;
    private final boolean lowerCase;
    private final int unkId;
    private final int clsId;
    private final int sepId;
    private final int padId;

    /**
     * @param vocab     tokens by id
     * @param lowerCase lower-case and strip accents (uncased models)
     * @throws IllegalArgumentException when the vocabulary lacks [UNK], [CLS], [SEP] or [PAD], or repeats a token
     */
    public WordPieceTokenizer(List<String> vocab, boolean lowerCase) {
        this.tokens = List.copyOf(vocab);
        this.lowerCase = lowerCase;
        Map<String, Integer> m = new HashMap<>(vocab.size() * 2);
        for (int i = 0; i < tokens.size(); i++) {
            if (m.putIfAbsent(tokens.get(i), i) != null) {
                throw new IllegalArgumentException("vocabulary repeats token '" + tokens.get(i) + "' (line " + (i + 1) + ")");
            }
        }
        this.ids = m;
        this.unkId = required(UNK);
        this.clsId = required(CLS);
        this.sepId = required(SEP);
        this.padId = required(PAD);
    }

    /**
     * Reads a {@code vocab.txt} (UTF-8, one token per line; a trailing newline is not a token).
     *
     * @throws IOException when the file cannot be read
     */
    public static WordPieceTokenizer load(Path vocabTxt, boolean lowerCase) throws IOException {
        List<String> lines = Files.readAllLines(vocabTxt, StandardCharsets.UTF_8);
        List<String> vocab = new ArrayList<>(lines.size());
        for (String l : lines) {
            vocab.add(l.strip());
        }
        return new WordPieceTokenizer(vocab, lowerCase);
    }

    private int required(String token) {
        Integer id = ids.get(token);
        if (id == null) {
            throw new IllegalArgumentException("vocabulary has no " + token + " token");
        }
        return id;
    }

    public int vocabSize() {
        return tokens.size();
    }

    public int unkId() {
        return unkId;
    }

    public int clsId() {
        return clsId;
    }

    public int sepId() {
        return sepId;
    }

    public int padId() {
        return padId;
    }

    /** The token of an id. @throws IndexOutOfBoundsException outside the vocabulary */
    public String token(int id) {
        return tokens.get(id);
    }

    /** WordPiece tokens of {@code text}, no special tokens. */
    public List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        for (String word : basicTokenize(text)) {
            wordPiece(word, out);
        }
        return out;
    }

    /** Token ids of {@code text}, no special tokens. */
    public int[] encode(String text) {
        List<String> t = tokenize(Objects.requireNonNull(text, "text"));
        int[] out = new int[t.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.getOrDefault(t.get(i), unkId);
        }
        return out;
    }

    /**
     * {@code [CLS] prompt [SEP] response [SEP]} cut to {@code maxLen}: prompt tokens are dropped from the
     * start first; when the response alone does not fit, its first tokens go too (its end is kept). The
     * three special tokens always stay.
     *
     * @throws IllegalArgumentException when maxLen < 4 (no room for one real token)
     */
    public EncodedSequence encodePair(String prompt, String response, int maxLen) {
        return pair(encode(prompt), encode(response), maxLen);
    }

    /** {@link #encodePair} on already-encoded pieces. */
    public EncodedSequence pair(int[] prompt, int[] response, int maxLen) {
        if (maxLen < 4) {
            throw new IllegalArgumentException("max length must be >= 4 for [CLS] x [SEP] y [SEP], got " + maxLen);
        }
        int room = maxLen - 3;
        int keepResponse = Math.min(response.length, room);
        int keepPrompt = Math.min(prompt.length, room - keepResponse);
        int dropped = (prompt.length - keepPrompt) + (response.length - keepResponse);
        int[] out = new int[keepPrompt + keepResponse + 3];
        int k = 0;
        out[k++] = clsId;
        System.arraycopy(prompt, prompt.length - keepPrompt, out, k, keepPrompt);
        k += keepPrompt;
        out[k++] = sepId;
        System.arraycopy(response, response.length - keepResponse, out, k, keepResponse);
        k += keepResponse;
        out[k] = sepId;
        return new EncodedSequence(out, dropped > 0, dropped);
    }

    /** BasicTokenizer: clean, CJK split, whitespace split, lower-case + accent strip, punctuation split. */
    List<String> basicTokenize(String text) {
        StringBuilder clean = new StringBuilder(text.length() + 16);
        text.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
                return;
            }
            if (isWhitespace(cp)) {
                clean.append(' ');
            } else if (isCjk(cp)) {
                clean.append(' ').appendCodePoint(cp).append(' ');
            } else {
                clean.appendCodePoint(cp);
            }
        });
        List<String> out = new ArrayList<>();
        // Python str.split() also splits on the line/paragraph separators that survive cleaning
        for (String word : clean.toString().split("[ \\u2028\\u2029]+")) {
            if (word.isEmpty()) {
                continue;
            }
            String w = word;
            if (lowerCase) {
                w = stripAccents(w.toLowerCase(Locale.ROOT));
            }
            splitPunctuation(w, out);
        }
        return out;
    }

    private static String stripAccents(String s) {
        String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
        StringBuilder b = new StringBuilder(nfd.length());
        nfd.codePoints().filter(cp -> Character.getType(cp) != Character.NON_SPACING_MARK).forEach(b::appendCodePoint);
        return b.toString();
    }

    private static void splitPunctuation(String w, List<String> out) {
        StringBuilder cur = new StringBuilder();
        w.codePoints().forEach(cp -> {
            if (isPunctuation(cp)) {
                if (!cur.isEmpty()) {
                    out.add(cur.toString());
                    cur.setLength(0);
                }
                out.add(new String(Character.toChars(cp)));
            } else {
                cur.appendCodePoint(cp);
            }
        });
        if (!cur.isEmpty()) {
            out.add(cur.toString());
        }
    }

    /** Greedy longest-match-first; the whole word is [UNK] when any position has no match. */
    private void wordPiece(String word, List<String> out) {
        int[] cps = word.codePoints().toArray();
        if (cps.length > MAX_WORD_CHARS) {
            out.add(UNK);
            return;
        }
        List<String> pieces = new ArrayList<>();
        int start = 0;
        while (start < cps.length) {
            int end = cps.length;
            String match = null;
            while (start < end) {
                String sub = new String(cps, start, end - start);
                if (start > 0) {
                    sub = "##" + sub;
                }
                if (ids.containsKey(sub)) {
                    match = sub;
                    break;
                }
                end--;
            }
            if (match == null) {
                out.add(UNK);
                return;
            }
            pieces.add(match);
            start = end;
        }
        out.addAll(pieces);
    }

    static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') {
            return false;
        }
        int t = Character.getType(cp);
        return t == Character.CONTROL || t == Character.FORMAT;
    }

    static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
            return true;
        }
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    /** CJK Unified Ideographs blocks as in the reference (not Hangul, Hiragana or Katakana). */
    static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B820 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
