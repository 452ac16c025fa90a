package io.rewardstream.scoring;

/**
 * Process (per-token) rewards of a model with the optional {@code token_rewards} output: lines the model's
 * per-position values up with the rollout's response tokens. Shaping (normalization scale, clipping) is in
 * {@link RewardShaper}. Only tokenizer {@code ids} has positions equal to the rollout's token ids (the loader refuses
 * {@code token_rewards} for other tokenizers), so: the encoded row is {@code prompt-tail ++ response-tail} and response
 * token {@code t} of {@code L} sits at model position {@code len - L + t}; response tokens cut off by truncation (a
 * response longer than max_seq_len loses its start) get 0.
 *
 * <p>Stateless and thread-safe.
 */
public final class ProcessRewards {
    private ProcessRewards() {
    }

    /**
     * The model's process reward for each response token, times {@code weight} (the route's weight of the model).
     *
     * @param positions      the row of {@code token_rewards} (model positions; padding columns after the real ones)
     * @param encoded        the row's model input
     * @param responseLength L, the number of response tokens of the rollout
     * @param weight         factor applied to every value (1 for a model-only route)
     * @return L values; 0 for response tokens the model did not see
     * @throws InvalidRolloutException NON_FINITE_SCORE when a used value is not finite
     */
    public static double[] align(float[] positions, EncodedSequence encoded, int responseLength, double weight) {
        int len = encoded.length();
        if (positions.length < len) {
            throw new ModelScoringException("token_rewards row has " + positions.length + " positions for a "
                    + len + "-token input");
        }
        double[] out = new double[responseLength];
        for (int t = 0; t < responseLength; t++) {
            int pos = len - responseLength + t;
            if (pos < 0) {
                continue;
            }
            float v = positions[pos];
            if (!Float.isFinite(v)) {
                throw new InvalidRolloutException(InvalidRolloutException.Reason.NON_FINITE_SCORE,
                        "token_rewards[" + pos + "] is " + v);
            }
            out[t] = weight * v;
        }
        return out;
    }
}
