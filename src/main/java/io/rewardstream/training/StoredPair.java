package io.rewardstream.training;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Arrays;
import java.util.Objects;

/**
 * One validated preference pair as the retraining job keeps it (one JSON line in the {@link ReplayBuffer}):
 * text and/or token ids of prompt, chosen and rejected, where it came from, and who labelled it. Immutable
 * (arrays are not copied on access: do not modify them).
 *
 * @param id        pair id ({@code pair_id}, or {@code <ranking_id>#<i>><j>} for a pair expanded from a ranking)
 * @param splitKey  key whose SHA-256 decides the held-out split: the pair id, or the ranking id so that all
 *                  pairs of one ranking land on the same side
 * @param topic     source topic; {@code partition}/{@code offset} its position
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StoredPair(@JsonProperty("id") String id, @JsonProperty("split_key") String splitKey,
                         @JsonProperty("prompt") String prompt, @JsonProperty("prompt_ids") int[] promptIds,
                         @JsonProperty("chosen") String chosen, @JsonProperty("chosen_ids") int[] chosenIds,
                         @JsonProperty("rejected") String rejected, @JsonProperty("rejected_ids") int[] rejectedIds,
                         @JsonProperty("margin") double margin, @JsonProperty("annotator") String annotator,
                         @JsonProperty("topic") String topic, @JsonProperty("partition") int partition,
                         @JsonProperty("offset") long offset) {
    public StoredPair {
        Objects.requireNonNull(id, "id");
        splitKey = splitKey == null ? id : splitKey;
    }

    /** Text form for text-tokenized models; null when any of the three texts is missing. */
    public PreferenceExample toExample() {
        if (prompt == null || chosen == null || rejected == null) {
            return null;
        }
        return new PreferenceExample(id, prompt, chosen, rejected, margin);
    }

    /**
     * The form a model with {@code tokenizer} trains on: texts for {@code bytes} (and {@code hf}); for {@code ids},
     * the token ids joined by spaces (see {@link Batches}). Null when this pair lacks what the tokenizer needs.
     */
    public PreferenceExample toExample(String tokenizer) {
        if (!"ids".equals(tokenizer)) {
            return toExample();
        }
        if (promptIds == null || chosenIds == null || rejectedIds == null) {
            return null;
        }
        return new PreferenceExample(id, join(promptIds), join(chosenIds), join(rejectedIds), margin);
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
