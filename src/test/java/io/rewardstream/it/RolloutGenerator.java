package io.rewardstream.it;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Rollout;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Deterministic (by seed) valid rollouts for integration tests: groups of k sharing a group_id, most with
 * {@code group_size = k}, some without; prompt lengths 1..48; response lengths mostly 1..32 with a long tail up to
 * {@code 3 x maxSeqLen} (so some are truncated); reference log-probs present for about 70%; finish reasons mostly STOP,
 * some LENGTH and ABORT. Token ids are in [4, vocab) (ids below 4 are the built-in special tokens). Rollout ids are
 * {@code <prefix>-g<group>-r<member>}, unique per generator prefix. Not thread-safe.
 */
public final class RolloutGenerator {
    private final Random rnd;
    private final String prefix;
    private final int vocab;
    private final int maxSeqLen;
    private int nextGroup;

    /**
     * @param seed      all randomness comes from it
     * @param prefix    prefix of every rollout and group id (make it unique per test)
     * @param vocab     the model's vocabulary size; token ids stay below it
     * @param maxSeqLen the model's max_seq_len; the long tail of responses goes beyond it
     */
    public RolloutGenerator(long seed, String prefix, int vocab, int maxSeqLen) {
        if (vocab <= 4) {
            throw new IllegalArgumentException("vocab must be > 4, got " + vocab);
        }
        this.rnd = new Random(seed);
        this.prefix = prefix;
        this.vocab = vocab;
        this.maxSeqLen = maxSeqLen;
    }

    /** {@code groups} groups of {@code k} rollouts each, group by group. */
    public List<Rollout> groups(int groups, int k) {
        List<Rollout> out = new ArrayList<>(groups * k);
        for (int g = 0; g < groups; g++) {
            out.addAll(group(k));
        }
        return out;
    }

    /** One group of {@code k} rollouts sharing a prompt; group_size is k for 80% of the groups, absent otherwise. */
    public List<Rollout> group(int k) {
        int g = nextGroup++;
        String groupId = prefix + "-g" + g;
        Integer groupSize = rnd.nextInt(5) == 0 ? null : k;
        List<Integer> prompt = tokens(1 + rnd.nextInt(48));
        List<Rollout> out = new ArrayList<>(k);
        for (int m = 0; m < k; m++) {
            out.add(rollout(groupId + "-r" + m, groupId, groupSize, prompt));
        }
        return out;
    }

    private Rollout rollout(String id, String groupId, Integer groupSize, List<Integer> prompt) {
        int len = responseLength();
        List<Float> policy = logprobs(len);
        List<Float> reference = rnd.nextInt(10) < 7 ? perturb(policy) : null;
        int f = rnd.nextInt(10);
        FinishReason finish = f < 7 ? FinishReason.STOP : f < 9 ? FinishReason.LENGTH : FinishReason.ABORT;
        return Rollout.newBuilder()
                .setRolloutId(id)
                .setGroupId(groupId)
                .setGroupSize(groupSize)
                .setPolicyVersion("step-" + rnd.nextInt(3))
                .setPromptTokenIds(prompt)
                .setResponseTokenIds(tokens(len))
                .setPolicyLogprobs(policy)
                .setReferenceLogprobs(reference)
                .setFinishReason(finish)
                .setCreatedAt(Instant.now())
                .setMetadata(Map.of("worker", "w" + rnd.nextInt(4)))
                .build();
    }

    /** Mostly short, with a long tail: 1..32 (85%), 33..maxSeqLen (10%), maxSeqLen..3*maxSeqLen (5%). */
    private int responseLength() {
        int p = rnd.nextInt(100);
        if (p < 85) {
            return 1 + rnd.nextInt(32);
        }
        if (p < 95) {
            return 33 + rnd.nextInt(Math.max(1, maxSeqLen - 32));
        }
        return maxSeqLen + rnd.nextInt(2 * maxSeqLen);
    }

    private List<Integer> tokens(int n) {
        List<Integer> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(4 + rnd.nextInt(vocab - 4));
        }
        return out;
    }

    private List<Float> logprobs(int n) {
        List<Float> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add((float) -(rnd.nextDouble() * 4));
        }
        return out;
    }

    private List<Float> perturb(List<Float> policy) {
        List<Float> out = new ArrayList<>(policy.size());
        for (Float f : policy) {
            out.add((float) (f - 0.3 * rnd.nextGaussian()));
        }
        return out;
    }
}
