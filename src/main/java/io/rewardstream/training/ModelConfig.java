package io.rewardstream.training;

import io.rewardstream.scoring.ByteTokenizer;
import io.rewardstream.scoring.ModelManifest;

import java.util.List;
import java.util.Objects;

/**
 * Architecture of the built-in reward model: a decoder-style pre-layer-norm transformer with a linear
 * head on the last non-padding token. Immutable.
 *
 * <p>{@code heads} are named outputs (exported as {@code rewards [B,H]}); the scalar {@code reward} is
 * their weighted sum. {@code ensemble} E > 1 adds E independent linear heads that <b>share one
 * backbone</b> (cheap, but their disagreement under-estimates the uncertainty of independently trained
 * models); {@code reward} is the ensemble mean and {@code reward_std} their standard deviation.
 *
 * @param name          manifest family name, e.g. {@code builtin-tiny}
 * @param vocabSize     token ids in [0, vocabSize); 260 for the byte tokenizer
 * @param tokenizer     {@code bytes} (built-in {@link ByteTokenizer}) or {@code ids}
 */
public record ModelConfig(String name, int dModel, int layers, int attentionHeads, int mlpRatio, int maxSeqLen,
                          int vocabSize, String tokenizer, List<ModelManifest.Head> heads, int ensemble) {
    public ModelConfig {
        Objects.requireNonNull(name, "name");
        if (dModel < 1 || layers < 1 || attentionHeads < 1 || dModel % attentionHeads != 0) {
            throw new IllegalArgumentException("model: d_model must be a positive multiple of attention_heads, got d="
                    + dModel + " heads=" + attentionHeads + " layers=" + layers);
        }
        if (mlpRatio < 1 || maxSeqLen < 4 || vocabSize < 5) {
            throw new IllegalArgumentException("model: mlp_ratio >= 1, max_seq_len >= 4, vocab_size >= 5 required");
        }
        if (!"bytes".equals(tokenizer) && !"ids".equals(tokenizer)) {
            throw new IllegalArgumentException("model: tokenizer must be bytes or ids, got " + tokenizer);
        }
        heads = heads == null || heads.isEmpty() ? List.of() : List.copyOf(heads);
        if (ensemble < 1) {
            throw new IllegalArgumentException("model: ensemble must be >= 1, got " + ensemble);
        }
    }

    /** The named size with the byte tokenizer, one scalar head, no ensemble. */
    public static ModelConfig of(ModelSize size) {
        return new ModelConfig("builtin-" + size.id(), size.dModel, size.layers, size.attentionHeads, 4,
                size.maxSeqLen, ByteTokenizer.VOCAB_SIZE, "bytes", List.of(), 1);
    }

    /** The named size over token ids of a vocabulary of {@code vocabSize}. */
    public static ModelConfig ofTokenIds(ModelSize size, int vocabSize) {
        return new ModelConfig("builtin-" + size.id() + "-ids", size.dModel, size.layers, size.attentionHeads, 4,
                size.maxSeqLen, vocabSize, "ids", List.of(), 1);
    }

    public ModelConfig withHeads(List<ModelManifest.Head> newHeads) {
        return new ModelConfig(name, dModel, layers, attentionHeads, mlpRatio, maxSeqLen, vocabSize, tokenizer,
                newHeads, ensemble);
    }

    public ModelConfig withEnsemble(int e) {
        return new ModelConfig(name, dModel, layers, attentionHeads, mlpRatio, maxSeqLen, vocabSize, tokenizer,
                heads, e);
    }

    /** Number of outputs per ensemble member (1 for a single scalar head). */
    public int headCount() {
        return heads.isEmpty() ? 1 : heads.size();
    }
}
