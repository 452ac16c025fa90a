package io.rewardstream.scoring;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Turns a rollout's parts into model input ids following the manifest's tokenizer. Stateless apart from
 * the manifest; thread-safe.
 *
 * <ul>
 *   <li>{@code ids}: prompt ids followed by response ids, as the trainer sent them.</li>
 *   <li>{@code bytes}: {@link ByteTokenizer#encodePair} of prompt and response text.</li>
 *   <li>{@code hf}: the model's HuggingFace {@code tokenizer.json} (DJL tokenizers, native, offline):
 *       prompt text and response text are encoded separately without special tokens and concatenated.
 *       Needs {@link #forModel(Path, ModelManifest)}.</li>
 *   <li>{@code wordpiece}: uncased BERT WordPiece over the model's {@code vocab.txt} ({@code tokenizer_file}):
 *       {@code [CLS] prompt [SEP] response [SEP]}; truncation drops prompt tokens from the start, then the
 *       start of the response, and always keeps the three special tokens ({@link WordPieceTokenizer#pair}).
 *       Needs {@link #forModel(Path, ModelManifest)}.</li>
 * </ul>
 *
 * <p>Truncation, when prompt + response is longer than max_seq_len: tokens are dropped from the START of
 * the prompt, never from the response (for {@code bytes} the leading BOS is kept: the prompt bytes after it
 * are dropped first, then SEP, then BOS). A response longer than
 * max_seq_len on its own keeps its LAST max_seq_len tokens. Either way the sequence is flagged truncated.
 *
 * <p>Owns the HuggingFace tokenizer when there is one: close the encoder with its model. Thread-safe
 * (calls into the native HuggingFace tokenizer are serialized).
 */
public final class SequenceEncoder implements AutoCloseable {
    private final ModelManifest manifest;
    private final HuggingFaceTokenizer hf;
    private final WordPieceTokenizer wordPiece;

    /** An encoder for {@code ids} and {@code bytes} models ({@code hf}, {@code wordpiece} need {@link #forModel}). */
    public SequenceEncoder(ModelManifest manifest) {
        this.manifest = Objects.requireNonNull(manifest, "manifest");
        this.hf = null;
        this.wordPiece = null;
    }

    private SequenceEncoder(ModelManifest manifest, HuggingFaceTokenizer hf, WordPieceTokenizer wordPiece) {
        this.manifest = manifest;
        this.hf = hf;
        this.wordPiece = wordPiece;
    }

    /**
     * An encoder for the model in {@code modelDir}; loads {@code tokenizer_file} when tokenizer = hf or wordpiece.
     *
     * @throws ModelLoadException (reason MANIFEST) when the tokenizer file cannot be read, or a wordpiece
     *                            vocabulary does not match the manifest's vocab_size
     */
    public static SequenceEncoder forModel(Path modelDir, ModelManifest manifest) {
        if ("wordpiece".equals(manifest.tokenizer())) {
            Path file = modelDir.resolve(manifest.tokenizerFile());
            WordPieceTokenizer wp;
            try {
                wp = WordPieceTokenizer.load(file, true);
            } catch (IOException | RuntimeException e) {
                throw new ModelLoadException(ModelLoadException.Reason.MANIFEST, "cannot load WordPiece vocabulary "
                        + file + " of model " + manifest.modelVersion() + ": " + e.getMessage(), e);
            }
            if (wp.vocabSize() != manifest.vocabSize()) {
                throw new ModelLoadException(ModelLoadException.Reason.MANIFEST, "WordPiece vocabulary " + file
                        + " has " + wp.vocabSize() + " tokens, manifest vocab_size is " + manifest.vocabSize());
            }
            return new SequenceEncoder(manifest, null, wp);
        }
        if (!"hf".equals(manifest.tokenizer())) {
            return new SequenceEncoder(manifest);
        }
        Path file = modelDir.resolve(manifest.tokenizerFile());
        try {
            // no special tokens, no truncation, no padding: this class does all three itself
            return new SequenceEncoder(manifest, HuggingFaceTokenizer.newInstance(file, Map.of(
                    "addSpecialTokens", "false", "truncation", "false", "padding", "false")), null);
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException(ModelLoadException.Reason.MANIFEST, "cannot load HuggingFace tokenizer "
                    + file + " of model " + manifest.modelVersion() + ": " + e.getMessage(), e);
        }
    }

    public ModelManifest manifest() {
        return manifest;
    }

    /**
     * @throws SequenceEncodingException when a part the tokenizer needs is missing, a token id is out of
     *                                   the vocabulary, both parts are empty, or the tokenizer is unsupported
     */
    public EncodedSequence encode(SequenceParts parts) {
        Objects.requireNonNull(parts, "parts");
        return switch (manifest.tokenizer()) {
            case "ids" -> encodeIds(parts);
            case "bytes" -> encodeBytes(parts);
            case "hf" -> encodeHf(parts);
            case "wordpiece" -> encodeWordPiece(parts);
            default -> throw new IllegalStateException("unknown tokenizer " + manifest.tokenizer());
        };
    }

    private EncodedSequence encodeIds(SequenceParts parts) {
        if (parts.promptIds() == null || parts.responseIds() == null) {
            throw new SequenceEncodingException(SequenceEncodingException.Reason.MISSING_IDS,
                    "tokenizer=ids needs prompt and response token ids, got "
                            + (parts.promptIds() == null ? "no prompt ids" : "no response ids"));
        }
        checkRange(parts.promptIds(), "prompt");
        checkRange(parts.responseIds(), "response");
        return join(parts.promptIds(), parts.responseIds(), 0);
    }

    private EncodedSequence encodeBytes(SequenceParts parts) {
        if (parts.promptText() == null || parts.responseText() == null) {
            throw new SequenceEncodingException(SequenceEncodingException.Reason.MISSING_TEXT,
                    "tokenizer=bytes needs prompt and response text, got "
                            + (parts.promptText() == null ? "no prompt text" : "no response text"));
        }
        // encodePrompt = BOS bytes SEP; keep BOS while prompt bytes can still be dropped
        return join(ByteTokenizer.encodePrompt(parts.promptText()),
                ByteTokenizer.encodeResponse(parts.responseText()), 1);
    }

    private EncodedSequence encodeHf(SequenceParts parts) {
        if (hf == null) {
            throw new SequenceEncodingException(SequenceEncodingException.Reason.UNSUPPORTED_TOKENIZER,
                    "model " + manifest.modelVersion() + " uses tokenizer=hf (" + manifest.tokenizerFile()
                            + "): build the encoder with SequenceEncoder.forModel(modelDir, manifest)");
        }
        if (parts.promptText() == null || parts.responseText() == null) {
            throw new SequenceEncodingException(SequenceEncodingException.Reason.MISSING_TEXT,
                    "tokenizer=hf needs prompt and response text, got "
                            + (parts.promptText() == null ? "no prompt text" : "no response text"));
        }
        int[] prompt;
        int[] response;
        synchronized (hf) {
            prompt = toInts(hf.encode(parts.promptText(), false, false).getIds());
            response = toInts(hf.encode(parts.responseText(), false, false).getIds());
        }
        checkRange(prompt, "prompt");
        checkRange(response, "response");
        return join(prompt, response, 0);
    }

    private EncodedSequence encodeWordPiece(SequenceParts parts) {
        if (wordPiece == null) {
            throw new SequenceEncodingException(SequenceEncodingException.Reason.UNSUPPORTED_TOKENIZER,
                    "model " + manifest.modelVersion() + " uses tokenizer=wordpiece (" + manifest.tokenizerFile()
                            + "): build the encoder with SequenceEncoder.forModel(modelDir, manifest)");
        }
        if (parts.promptText() == null || parts.responseText() == null) {
            throw new SequenceEncodingException(SequenceEncodingException.Reason.MISSING_TEXT,
                    "tokenizer=wordpiece needs prompt and response text, got "
                            + (parts.promptText() == null ? "no prompt text" : "no response text"));
        }
        EncodedSequence s = wordPiece.encodePair(parts.promptText(), parts.responseText(), manifest.maxSeqLen());
        if (s.length() == 3 && parts.promptText().isBlank() && parts.responseText().isBlank()) {
            throw new SequenceEncodingException(SequenceEncodingException.Reason.EMPTY,
                    "prompt and response are both empty");
        }
        return s;
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** Frees the HuggingFace tokenizer, if any. Idempotent. */
    @Override
    public void close() {
        if (hf != null) {
            synchronized (hf) {
                hf.close();
            }
        }
    }

    /** prompt + response cut to max_seq_len; {@code protectedHead} leading prompt tokens are dropped last. */
    private EncodedSequence join(int[] prompt, int[] response, int protectedHead) {
        int max = manifest.maxSeqLen();
        if (prompt.length + response.length == 0) {
            throw new SequenceEncodingException(SequenceEncodingException.Reason.EMPTY,
                    "prompt and response are both empty");
        }
        int total = prompt.length + response.length;
        if (total <= max) {
            int[] out = new int[total];
            System.arraycopy(prompt, 0, out, 0, prompt.length);
            System.arraycopy(response, 0, out, prompt.length, response.length);
            return new EncodedSequence(out, false, 0);
        }
        if (response.length >= max) {
            int[] out = new int[max];
            System.arraycopy(response, response.length - max, out, 0, max);
            return new EncodedSequence(out, true, total - max);
        }
        int promptRoom = max - response.length;
        int drop = prompt.length - promptRoom;
        int[] out = new int[max];
        int head = Math.min(protectedHead, promptRoom);
        if (head > 0 && drop <= prompt.length - head) {
            // keep the protected head, drop right after it
            System.arraycopy(prompt, 0, out, 0, head);
            System.arraycopy(prompt, head + drop, out, head, promptRoom - head);
        } else {
            System.arraycopy(prompt, drop, out, 0, promptRoom);
        }
        System.arraycopy(response, 0, out, promptRoom, response.length);
        return new EncodedSequence(out, true, drop);
    }

    private void checkRange(int[] ids, String part) {
        int vocab = manifest.vocabSize();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new SequenceEncodingException(SequenceEncodingException.Reason.TOKEN_OUT_OF_RANGE,
                        part + " token " + i + " is " + ids[i] + ", outside [0, " + vocab + ") of model "
                                + manifest.modelVersion());
            }
        }
    }
}
