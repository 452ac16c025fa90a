package io.rewardstream.training;

import java.util.Locale;

/**
 * Named sizes of the built-in reward model. {@code tiny} is for tests (trains in seconds on 2 cores),
 * {@code small} is the demo default (minutes on 2 cores), {@code base} is meant for a GPU.
 */
public enum ModelSize {
    TINY(32, 1, 2, 64),
    SMALL(64, 2, 4, 128),
    BASE(256, 6, 8, 512);

    public final int dModel;
    public final int layers;
    public final int attentionHeads;
    public final int maxSeqLen;

    ModelSize(int dModel, int layers, int attentionHeads, int maxSeqLen) {
        this.dModel = dModel;
        this.layers = layers;
        this.attentionHeads = attentionHeads;
        this.maxSeqLen = maxSeqLen;
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses tiny|small|base (case-insensitive). @throws IllegalArgumentException naming the choices */
    public static ModelSize parse(String s) {
        for (ModelSize m : values()) {
            if (m.id().equalsIgnoreCase(s.trim())) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown model size '" + s + "' (expected tiny, small or base)");
    }
}
