package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SequenceEncoderTest {

    private static ModelManifest manifest(String tokenizer, int maxSeqLen) {
        return new ModelManifest("m", 1, maxSeqLen, 0, 300, tokenizer, "hf".equals(tokenizer) ? "tokenizer.json" : null,
                null, null, null, null, null, 0, Map.of());
    }

    @Test
    void shouldConcatenatePromptAndResponseIdsWhenTheyFit() {
        EncodedSequence s = new SequenceEncoder(manifest("ids", 8)).encode(
                SequenceParts.ofIds(new int[]{10, 11, 12}, new int[]{20, 21}));
        assertThat(s.ids()).containsExactly(10, 11, 12, 20, 21);
        assertThat(s.truncated()).isFalse();
        assertThat(s.length()).isEqualTo(5);
    }

    @Test
    void shouldDropTokensFromTheStartOfThePromptNeverTheResponse() {
        EncodedSequence s = new SequenceEncoder(manifest("ids", 5)).encode(
                SequenceParts.ofIds(new int[]{10, 11, 12, 13}, new int[]{20, 21, 22}));
        assertThat(s.ids()).containsExactly(12, 13, 20, 21, 22);
        assertThat(s.truncated()).isTrue();
        assertThat(s.droppedTokens()).isEqualTo(2);
    }

    @Test
    void shouldKeepTheLastTokensOfAResponseLongerThanMaxSeqLen() {
        EncodedSequence s = new SequenceEncoder(manifest("ids", 3)).encode(
                SequenceParts.ofIds(new int[]{10, 11}, new int[]{20, 21, 22, 23, 24}));
        assertThat(s.ids()).containsExactly(22, 23, 24);
        assertThat(s.truncated()).isTrue();
        assertThat(s.droppedTokens()).isEqualTo(4);
    }

    @Test
    void shouldEncodeTextPairsWithTheByteTokenizerKeepingBosWhenTruncating() {
        SequenceEncoder enc = new SequenceEncoder(manifest("bytes", 64));
        EncodedSequence full = enc.encode(SequenceParts.ofText("hello", "world"));
        assertThat(full.ids()).containsExactly(ByteTokenizer.encodePair("hello", "world"));
        assertThat(full.truncated()).isFalse();

        // BOS h e l l o SEP w o r l d EOS = 13 tokens; max 10 drops "hel"
        EncodedSequence cut = new SequenceEncoder(manifest("bytes", 10)).encode(SequenceParts.ofText("hello", "world"));
        int[] expected = new int[10];
        expected[0] = ByteTokenizer.BOS;
        System.arraycopy(ByteTokenizer.encode("lo"), 0, expected, 1, 2);
        expected[3] = ByteTokenizer.SEP;
        System.arraycopy(ByteTokenizer.encodeResponse("world"), 0, expected, 4, 6);
        assertThat(cut.ids()).containsExactly(expected);
        assertThat(cut.truncated()).isTrue();
        assertThat(cut.droppedTokens()).isEqualTo(3);
        assertThat(ByteTokenizer.decode(cut.ids())).isEqualTo("loworld");
    }

    @Test
    void shouldFailWithATypedErrorWhenTheTokenizerInputIsMissingOrBad() {
        assertThatThrownBy(() -> new SequenceEncoder(manifest("bytes", 64)).encode(SequenceParts.ofIds(new int[]{5},
                new int[]{6})))
                .isInstanceOfSatisfying(SequenceEncodingException.class,
                        e -> assertThat(e.reason()).isEqualTo(SequenceEncodingException.Reason.MISSING_TEXT))
                .hasMessageContaining("tokenizer=bytes needs prompt and response text");
        assertThatThrownBy(() -> new SequenceEncoder(manifest("ids", 64)).encode(SequenceParts.ofText("a", "b")))
                .isInstanceOfSatisfying(SequenceEncodingException.class,
                        e -> assertThat(e.reason()).isEqualTo(SequenceEncodingException.Reason.MISSING_IDS));
        assertThatThrownBy(() -> new SequenceEncoder(manifest("ids", 64)).encode(
                SequenceParts.ofIds(new int[]{5}, new int[]{300})))
                .isInstanceOfSatisfying(SequenceEncodingException.class,
                        e -> assertThat(e.reason()).isEqualTo(SequenceEncodingException.Reason.TOKEN_OUT_OF_RANGE))
                .hasMessageContaining("response token 0 is 300, outside [0, 300)");
        assertThatThrownBy(() -> new SequenceEncoder(manifest("ids", 64)).encode(
                SequenceParts.ofIds(new int[0], new int[0])))
                .isInstanceOfSatisfying(SequenceEncodingException.class,
                        e -> assertThat(e.reason()).isEqualTo(SequenceEncodingException.Reason.EMPTY));
        assertThatThrownBy(() -> new SequenceEncoder(manifest("hf", 64)).encode(SequenceParts.ofText("a", "b")))
                .isInstanceOfSatisfying(SequenceEncodingException.class,
                        e -> assertThat(e.reason()).isEqualTo(SequenceEncodingException.Reason.UNSUPPORTED_TOKENIZER))
                .hasMessageContaining("SequenceEncoder.forModel(modelDir, manifest)");
    }

    @Test
    void shouldEncodeWithAHuggingFaceTokenizerAndTruncateThePrompt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        java.nio.file.Files.writeString(dir.resolve("tokenizer.json"), """
                {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
                 "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
                 "post_processor": null, "decoder": null,
                 "model": {"type": "WordLevel", "unk_token": "[UNK]",
                           "vocab": {"[UNK]": 0, "[PAD]": 1, "what": 2, "is": 3, "two": 4, "plus": 5, "four": 6, "?": 7}}}
                """);
        ModelManifest m = new ModelManifest("m", 1, 5, 1, 8, "hf", "tokenizer.json", null, null, null, null, null, 0,
                Map.of());
        try (SequenceEncoder enc = SequenceEncoder.forModel(dir, m)) {
            EncodedSequence s = enc.encode(SequenceParts.ofText("What is two plus two?", "Four banana"));
            // prompt = what is two plus two ? (6 ids), response = four [UNK] (2 ids): keep the last 3 prompt ids
            assertThat(s.ids()).containsExactly(5, 4, 7, 6, 0);
            assertThat(s.truncated()).isTrue();
            assertThat(s.droppedTokens()).isEqualTo(3);
            assertThatThrownBy(() -> enc.encode(SequenceParts.ofIds(new int[]{2}, new int[]{3})))
                    .isInstanceOfSatisfying(SequenceEncodingException.class,
                            e -> assertThat(e.reason()).isEqualTo(SequenceEncodingException.Reason.MISSING_TEXT));
        }
    }

    @Test
    void shouldEncodeWordPiecePairsWithClsSepAndTruncateThePromptStart(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        java.nio.file.Files.createDirectories(dir.resolve("assets"));
        java.nio.file.Files.writeString(dir.resolve("assets/vocab.txt"),
                String.join("\n", WordPieceTokenizerTest.VOCAB) + "\n");
        int vocab = WordPieceTokenizerTest.VOCAB.size();
        ModelManifest m = new ModelManifest("m", 1, 7, 0, vocab, "wordpiece", "assets/vocab.txt", null, null, null,
                null, null, 0, Map.of());
        try (SequenceEncoder enc = SequenceEncoder.forModel(dir, m)) {
            // [CLS] how are you [SEP] hello ! [SEP] is 8 > 7: the prompt's first token goes
            EncodedSequence s = enc.encode(SequenceParts.ofText("How are you", "Hello!"));
            assertThat(s.ids()).containsExactly(2, 17, 18, 3, 14, 15, 3);
            assertThat(s.droppedTokens()).isEqualTo(1);
            assertThatThrownBy(() -> enc.encode(SequenceParts.ofIds(new int[]{2}, new int[]{3})))
                    .isInstanceOfSatisfying(SequenceEncodingException.class,
                            e -> assertThat(e.reason()).isEqualTo(SequenceEncodingException.Reason.MISSING_TEXT));
        }
        assertThatThrownBy(() -> new SequenceEncoder(m).encode(SequenceParts.ofText("a", "b")))
                .isInstanceOfSatisfying(SequenceEncodingException.class,
                        e -> assertThat(e.reason()).isEqualTo(SequenceEncodingException.Reason.UNSUPPORTED_TOKENIZER));
        ModelManifest wrongSize = new ModelManifest("m", 1, 7, 0, vocab + 1, "wordpiece", "assets/vocab.txt", null, null,
                null, null, null, 0, Map.of());
        assertThatThrownBy(() -> SequenceEncoder.forModel(dir, wrongSize)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("vocab_size");
        assertThatThrownBy(() -> new ModelManifest("m", 1, 7, 0, vocab, "wordpiece", null, null, null, null, null, null,
                0, Map.of())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokenizer_file");
    }
}
