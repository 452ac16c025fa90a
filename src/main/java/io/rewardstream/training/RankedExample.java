package io.rewardstream.training;

import java.util.List;
import java.util.Objects;

/**
 * A ranking of k >= 2 responses to one prompt, best first, trained with the Plackett-Luce loss.
 * Immutable.
 */
public record RankedExample(String id, String prompt, List<String> responsesBestFirst) {
    public RankedExample {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(prompt, "prompt");
        responsesBestFirst = List.copyOf(responsesBestFirst);
        if (responsesBestFirst.size() < 2) {
            throw new IllegalArgumentException("a ranking needs k >= 2 responses, got " + responsesBestFirst.size());
        }
    }
}
