package io.rewardstream.scoring;

/**
 * The parts of one rollout the encoder may need; which ones are used depends on the manifest tokenizer
 * ({@code ids} needs the id arrays, {@code bytes} and {@code hf} need the texts). Any part may be null.
 * Arrays are not copied.
 */
public record SequenceParts(int[] promptIds, int[] responseIds, String promptText, String responseText) {

    public static SequenceParts ofIds(int[] promptIds, int[] responseIds) {
        return new SequenceParts(promptIds, responseIds, null, null);
    }

    public static SequenceParts ofText(String promptText, String responseText) {
        return new SequenceParts(null, null, promptText, responseText);
    }
}
