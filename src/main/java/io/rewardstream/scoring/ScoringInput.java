package io.rewardstream.scoring;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Rollout;

import java.util.List;

/**
 * One decoded rollout as the {@link ScoringPipeline} reads it: what the encoder needs ({@link SequenceParts}) and what
 * the shaper needs (log-probs, whether the response stopped). Wire-level checks (ids, group size, metadata, sizes)
 * belong to {@link RolloutValidator} before this is built. Arrays are not copied: do not mutate them.
 *
 * @param id                 rollout id (for failures and logs)
 * @param parts              prompt/response ids and text
 * @param policyLogprobs     lp[t] of the response tokens; null is refused at shaping (MISSING_FIELD)
 * @param referenceLogprobs  lr[t], or null (KL = 0, flag NO_REFERENCE)
 * @param stopped            whether finish_reason was STOP
 */
public record ScoringInput(String id, SequenceParts parts, double[] policyLogprobs, double[] referenceLogprobs,
                           boolean stopped) {

    /**
     * The scoring view of an Avro rollout.
     *
     * @throws InvalidRolloutException MISSING_FIELD on a null token id or log-prob element
     */
    public static ScoringInput of(Rollout r) {
        return new ScoringInput(r.getRolloutId(), partsOf(r),
                RewardShaper.toDoubles("policy_logprobs", r.getPolicyLogprobs()),
                RewardShaper.toDoubles("reference_logprobs", r.getReferenceLogprobs()),
                r.getFinishReason() == FinishReason.STOP);
    }

    /** The encoder's view of an Avro rollout. @throws InvalidRolloutException MISSING_FIELD on a null token id */
    public static SequenceParts partsOf(Rollout r) {
        return new SequenceParts(ints(r.getPromptTokenIds()), ints(r.getResponseTokenIds()), r.getPromptText(),
                r.getResponseText());
    }

    private static int[] ints(List<Integer> ids) {
        if (ids == null) {
            return null;
        }
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            Integer v = ids.get(i);
            if (v == null) {
                throw new InvalidRolloutException(InvalidRolloutException.Reason.MISSING_FIELD, "token id " + i + " is null");
            }
            out[i] = v;
        }
        return out;
    }
}
