package io.rewardstream.training;

import java.util.List;
import java.util.Objects;

/**
 * A ranking of k >= 2 responses to one prompt, best first, trained with the Plackett-Luce loss.
 * Immutable.
 *
 * @param objective the named head this ranking trains, or null for the combined score
 */
public record RankedExample(String id, String prompt, List<String> responsesBestFirst, String objective) {
    public RankedExample {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(prompt, "prompt");
        responsesBestFirst = List.copyOf(responsesBestFirst);
        if (responsesBestFirst.size() < 2) {
            throw new IllegalArgumentException("a ranking needs k >= 2 responses, got " + responsesBestFirst.size());
        }
    }

    public RankedExample(String id, String prompt, List<String> responsesBestFirst) {
        this(id, prompt, responsesBestFirst, null);
    }

    /**
     * The k(k-1)/2 pairs the ranking implies (better over worse), ids {@code <id>#<i>><j>} by rank. For evaluation
     * (pairwise accuracy on held-out rankings); training uses the ranking itself.
     */
    public List<PreferenceExample> impliedPairs() {
        List<PreferenceExample> out = new java.util.ArrayList<>();
        for (int a = 0; a < responsesBestFirst.size(); a++) {
            for (int b = a + 1; b < responsesBestFirst.size(); b++) {
                out.add(new PreferenceExample(id + "#" + a + ">" + b, prompt, responsesBestFirst.get(a),
                        responsesBestFirst.get(b), 0.0, objective));
            }
        }
        return out;
    }
}
