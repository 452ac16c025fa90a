package io.rewardstream.training;

import java.util.Objects;

/**
 * One preference pair: for {@code prompt}, {@code chosen} is preferred to {@code rejected}, with an
 * optional preference strength {@code margin >= 0} used in the loss {@code -log sigmoid(r_c - r_r - margin)}.
 * Immutable.
 *
 * @param id        stable identifier; its SHA-256 decides the held-out split (see {@link Splits})
 * @param objective the named head this pair trains, or null for the combined score (every head through it)
 */
public record PreferenceExample(String id, String prompt, String chosen, String rejected, double margin,
                                String objective) {
    public PreferenceExample {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(chosen, "chosen");
        Objects.requireNonNull(rejected, "rejected");
        if (!Double.isFinite(margin) || margin < 0) {
            throw new IllegalArgumentException("margin must be finite and >= 0, got " + margin);
        }
    }

    public PreferenceExample(String id, String prompt, String chosen, String rejected, double margin) {
        this(id, prompt, chosen, rejected, margin, null);
    }

    public PreferenceExample(String id, String prompt, String chosen, String rejected) {
        this(id, prompt, chosen, rejected, 0.0);
    }

    /** This pair for another objective (null: the combined score). */
    public PreferenceExample withObjective(String objective) {
        return new PreferenceExample(id, prompt, chosen, rejected, margin, objective);
    }
}
