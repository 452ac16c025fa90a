package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * WordPiece on a small hand-made vocabulary (the real BERT vocabulary is checked in BertRewardModelIT, which
 * has the artifact). Expected outputs are derived by hand from the reference algorithm.
 */
class WordPieceTokenizerTest {
    // ids:                 0       1       2       3       4      5        6      7     8     9       10
    static final List<String> VOCAB = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un",
            "runn", "##ing", ",", "low", "##est", "hello", "!", "how", "are", "you", "?", "cafe", "博", "推", "ah",
            "##zz", "zz", "'", "s", "don", "t");

    private final WordPieceTokenizer tok = new WordPieceTokenizer(VOCAB, true);

    @Test
    void shouldSplitGreedilyLongestMatchFirstWithContinuationPieces() {
        // "unwanted": "unwanted".."unw" miss, "un" hits; "##wanted".."##wante" miss, "##want" hits; "##ed"
        assertThat(tok.tokenize("unwanted running")).containsExactly("un", "##want", "##ed", "runn", "##ing");
        assertThat(tok.encode("unwanted running")).containsExactly(8, 5, 6, 9, 10);
        // "lowest": "low" then "##est" (not "##e"+"##st": longest first)
        assertThat(tok.tokenize("lowest")).containsExactly("low", "##est");
    }

    @Test
    void shouldLowerCaseStripAccentsAndSplitPunctuation() {
        // BERT's own BasicTokenizer example: "UNwant\u00E9d,running" -> un ##want ##ed , runn ##ing
        assertThat(tok.tokenize("UNwant\u00E9d,running")).containsExactly("un", "##want", "##ed", ",", "runn", "##ing");
        assertThat(tok.basicTokenize(" \tHeLLo!how  \n Are yoU?  ")).containsExactly("hello", "!", "how", "are", "you", "?");
        // precomposed and combining accents both go away; the apostrophe is punctuation
        assertThat(tok.tokenize("CAF\u00C9 cafe\u0301 don't")).containsExactly("cafe", "cafe", "don", "'", "t");
    }

    @Test
    void shouldMakeEachChineseCharacterAWord() {
        assertThat(tok.basicTokenize("ah\u535A\u63A8zz")).containsExactly("ah", "\u535A", "\u63A8", "zz");
        assertThat(tok.tokenize("ah\u535A\u63A8zz")).containsExactly("ah", "博", "推", "zz");
    }

    @Test
    void shouldDropControlCharactersAndKeepWordsTogether() {
        // NUL, U+FFFD and a zero-width space (Cf) are removed, not turned into separators
        assertThat(tok.basicTokenize("hel\u0000lo\u200B wa\uFFFDnt")).containsExactly("hello", "want");
        // no-break space (Zs) separates words
        assertThat(tok.basicTokenize("how\u00A0are")).containsExactly("how", "are");
    }

    @Test
    void shouldMapUnsegmentableAndOverlongWordsToOneUnk() {
        // "wantx": "want" matches but "##x" never does -> the WHOLE word is [UNK], not "want [UNK]"
        assertThat(tok.tokenize("wantx running")).containsExactly("[UNK]", "runn", "##ing");
        assertThat(tok.encode("wantx")).containsExactly(1);
        assertThat(tok.tokenize("a".repeat(101))).containsExactly("[UNK]");
        assertThat(tok.tokenize("")).isEmpty();
    }

    @Test
    void shouldEncodePairsWithClsAndSepAndTruncateFromThePromptStart() {
        EncodedSequence s = tok.encodePair("how are you", "hello !", 16);
        assertThat(s.ids()).containsExactly(2, 16, 17, 18, 3, 14, 15, 3);
        assertThat(s.truncated()).isFalse();
        // room for 4 real tokens: response (2) kept whole, only the last 2 prompt tokens stay
        EncodedSequence cut = tok.encodePair("how are you", "hello !", 7);
        assertThat(cut.ids()).containsExactly(2, 17, 18, 3, 14, 15, 3);
        assertThat(cut.droppedTokens()).isEqualTo(1);
        // a response longer than the room keeps its end; the prompt goes entirely
        EncodedSequence tail = tok.encodePair("how", "hello ! how are you", 5);
        assertThat(tail.ids()).containsExactly(2, 3, 17, 18, 3);
        assertThat(tail.droppedTokens()).isEqualTo(1 + 3);
        assertThatThrownBy(() -> tok.encodePair("a", "b", 3)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldRejectAVocabularyWithoutSpecialTokens() {
        assertThatThrownBy(() -> new WordPieceTokenizer(List.of("[PAD]", "[UNK]", "[CLS]", "a"), true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[SEP]");
    }

    @Test
    void shouldLoadVocabTxtWithLineNumbersAsIds(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path v = dir.resolve("vocab.txt");
        Files.writeString(v, String.join("\n", VOCAB) + "\n");
        WordPieceTokenizer t = WordPieceTokenizer.load(v, true);
        assertThat(t.vocabSize()).isEqualTo(VOCAB.size());
        assertThat(t.clsId()).isEqualTo(2);
        assertThat(t.sepId()).isEqualTo(3);
        assertThat(t.encode("Hello!")).containsExactly(14, 15);
    }
}
