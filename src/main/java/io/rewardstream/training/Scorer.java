package io.rewardstream.training;

import java.util.List;

/** Scores (prompt, response) pairs with a reward model. Implementations say whether they are thread-safe. */
public interface Scorer {
    /** One reward per pair; {@code prompts} and {@code responses} have equal length. */
    float[] score(List<String> prompts, List<String> responses);
}
