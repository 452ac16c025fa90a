package io.rewardstream.training;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One validated preference record as the retraining job keeps it (one JSON line in the {@link ReplayBuffer}):
 * either a pair (text and/or token ids of prompt, chosen and rejected) or a whole ranking ({@link #isRanking()}:
 * {@code ranked}/{@code rankedIds} best first, chosen/rejected null), where it came from, and who labelled it.
 * A ranking stays one entry: it is trained with the Plackett-Luce loss, never split into pairs for training.
 * Immutable (arrays are not copied on access: do not modify them).
 *
 * @param id        pair id ({@code pair_id}) or ranking id ({@code ranking_id})
 * @param splitKey  key whose SHA-256 decides the held-out split (the id)
 * @param topic     source topic; {@code partition}/{@code offset} its position
 * @param ranked    a ranking's response texts, best first (entries null where only ids were given), or null
 * @param rankedIds a ranking's response token ids, best first (entries null where only text was given), or null
 * @param objective the named head the pair trains ({@code PreferencePair.objective}), or null for the combined score
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StoredPair(@JsonProperty("id") String id, @JsonProperty("split_key") String splitKey,
                         @JsonProperty("prompt") String prompt, @JsonProperty("prompt_ids") int[] promptIds,
                         @JsonProperty("chosen") String chosen, @JsonProperty("chosen_ids") int[] chosenIds,
                         @JsonProperty("rejected") String rejected, @JsonProperty("rejected_ids") int[] rejectedIds,
                         @JsonProperty("margin") double margin, @JsonProperty("annotator") String annotator,
                         @JsonProperty("topic") String topic, @JsonProperty("partition") int partition,
                         @JsonProperty("offset") long offset,
                         @JsonProperty("ranked") List<String> ranked,
                         @JsonProperty("ranked_ids") List<int[]> rankedIds,
                         @JsonProperty("objective") String objective) {
    @JsonCreator
    public StoredPair {
        Objects.requireNonNull(id, "id");
        splitKey = splitKey == null ? id : splitKey;
        ranked = ranked == null ? null : java.util.Collections.unmodifiableList(new ArrayList<>(ranked));
        rankedIds = rankedIds == null ? null : java.util.Collections.unmodifiableList(new ArrayList<>(rankedIds));
    }

    /** A pair. */
    public StoredPair(String id, String splitKey, String prompt, int[] promptIds, String chosen, int[] chosenIds,
                      String rejected, int[] rejectedIds, double margin, String annotator, String topic, int partition,
                      long offset) {
        this(id, splitKey, prompt, promptIds, chosen, chosenIds, rejected, rejectedIds, margin, annotator, topic,
                partition, offset, null, null, null);
    }

    /** This entry for a named head's objective (null: the combined score). */
    public StoredPair withObjective(String objective) {
        return new StoredPair(id, splitKey, prompt, promptIds, chosen, chosenIds, rejected, rejectedIds, margin,
                annotator, topic, partition, offset, ranked, rankedIds, objective);
    }

    /** A ranking of k >= 2 responses, best first (texts and/or ids per response). */
    public static StoredPair ranking(String id, String prompt, int[] promptIds, List<String> textsBestFirst,
                                     List<int[]> idsBestFirst, String annotator, String topic, int partition,
                                     long offset) {
        return new StoredPair(id, id, prompt, promptIds, null, null, null, null, 0.0, annotator, topic, partition,
                offset, textsBestFirst, idsBestFirst, null);
    }

    /** True for a whole ranking (trained with Plackett-Luce), false for a pair. */
    @JsonIgnore
    public boolean isRanking() {
        return ranked != null || rankedIds != null;
    }

    /** Number of responses of a ranking (2 for a pair). */
    @JsonIgnore
    public int k() {
        return !isRanking() ? 2 : ranked != null ? ranked.size() : rankedIds.size();
    }

    /**
     * A ranking in the form a model with {@code tokenizer} trains on (texts, or ids joined by spaces for {@code ids});
     * null when this is a pair or the ranking lacks what the tokenizer needs.
     */
    public RankedExample toRanked(String tokenizer) {
        if (!isRanking()) {
            return null;
        }
        boolean ids = "ids".equals(tokenizer);
        String p = ids ? (promptIds == null ? null : join(promptIds)) : prompt;
        if (p == null) {
            return null;
        }
        List<String> out = new ArrayList<>(k());
        for (int i = 0; i < k(); i++) {
            String r = ids ? (rankedIds == null || rankedIds.get(i) == null ? null : join(rankedIds.get(i)))
                    : (ranked == null ? null : ranked.get(i));
            if (r == null) {
                return null;
            }
            out.add(r);
        }
        return new RankedExample(id, p, out, objective);
    }

    /** Text form for text-tokenized models; null when any of the three texts is missing. */
    public PreferenceExample toExample() {
        if (isRanking() || prompt == null || chosen == null || rejected == null) {
            return null;
        }
        return new PreferenceExample(id, prompt, chosen, rejected, margin, objective);
    }

    /**
     * The form a model with {@code tokenizer} trains on: texts for {@code bytes} (and {@code hf}); for {@code ids},
     * the token ids joined by spaces (see {@link Batches}). Null when this pair lacks what the tokenizer needs.
     */
    public PreferenceExample toExample(String tokenizer) {
        if (!"ids".equals(tokenizer)) {
            return toExample();
        }
        if (isRanking() || promptIds == null || chosenIds == null || rejectedIds == null) {
            return null;
        }
        return new PreferenceExample(id, join(promptIds), join(chosenIds), join(rejectedIds), margin, objective);
    }

    private static String join(int[] ids) {
        StringBuilder sb = new StringBuilder(ids.length * 4);
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(ids[i]);
        }
        return sb.toString();
    }

    /** Position key {@code topic:partition}. */
    @JsonIgnore
    public String position() {
        return topic + ":" + partition;
    }

    /** Content of a response for grouping: its text, else its ids. */
    static String content(String text, int[] ids) {
        return text != null ? "t:" + text : "i:" + Arrays.toString(ids);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StoredPair s && id.equals(s.id) && Objects.equals(topic, s.topic)
                && partition == s.partition && offset == s.offset;
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, topic, partition, offset);
    }

    @Override
    public String toString() {
        return "StoredPair[" + id + " @" + topic + ":" + partition + ":" + offset + "]";
    }
}
