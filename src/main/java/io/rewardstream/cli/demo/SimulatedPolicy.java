package io.rewardstream.cli.demo;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.ByteTokenizer;
import io.rewardstream.training.ArithmeticTask;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * A stand-in for an RL policy: for each prompt of an {@link ArithmeticTask} it draws a group of {@code groupSize}
 * answers, each correct with probability {@code pCorrect} (otherwise a plausible wrong number, sometimes wrapped in
 * verbose filler), and attaches byte token ids ({@link ByteTokenizer}) and per-token log-probabilities: the policy's
 * are in (-3, 0), more confident for correct answers; the reference's are the policy's minus a small positive drift
 * plus noise, so the k1 KL estimate is positive on average and grows with {@link #drift(double)} (a policy moving
 * away from its reference as training proceeds).
 *
 * <p>Deterministic for a given seed and call sequence. Not thread-safe (one {@link Random}).
 */
public final class SimulatedPolicy {

    /** One simulated rollout and what the demo needs to know about it (never sent to Kafka). */
    public record Sample(Rollout rollout, boolean correct, String task, boolean padded) {
    }

    private final Random rnd;
    private final long seed;
    private final double pCorrect;
    private final int groupSize;
    private double verbose;
    private double padCorrect;
    private double klPerToken = 0.02;
    private long groups;

    /**
     * @param seed      random seed
     * @param pCorrect  probability that an answer is correct, in [0, 1]
     * @param groupSize samples per prompt (GRPO group), >= 1
     * @param verbose   probability that a wrong answer is wrapped in filler text, in [0, 1]
     */
    public SimulatedPolicy(long seed, double pCorrect, int groupSize, double verbose) {
        if (!(pCorrect >= 0 && pCorrect <= 1)) {
            throw new IllegalArgumentException("pCorrect must be in [0,1], got " + pCorrect);
        }
        if (groupSize < 1) {
            throw new IllegalArgumentException("groupSize must be >= 1, got " + groupSize);
        }
        if (!(verbose >= 0 && verbose <= 1)) {
            throw new IllegalArgumentException("verbose must be in [0,1], got " + verbose);
        }
        this.rnd = new Random(seed);
        this.seed = seed;
        this.pCorrect = pCorrect;
        this.groupSize = groupSize;
        this.verbose = verbose;
    }

    /** Sets the mean per-token KL (policy minus reference log-prob) of the next groups; >= 0. */
    public SimulatedPolicy drift(double meanKlPerToken) {
        if (!(meanKlPerToken >= 0)) {
            throw new IllegalArgumentException("mean KL per token must be >= 0, got " + meanKlPerToken);
        }
        this.klPerToken = meanKlPerToken;
        return this;
    }

    /**
     * Sets how often answers are padded with filler ({@link HackScenario#FILLERS}): wrong ones with {@code wrong},
     * correct ones with {@code correct} (a policy drifting towards what a length-biased reward model pays for).
     */
    public SimulatedPolicy padding(double wrong, double correct) {
        if (!(wrong >= 0 && wrong <= 1 && correct >= 0 && correct <= 1)) {
            throw new IllegalArgumentException("padding probabilities must be in [0,1], got " + wrong + ", " + correct);
        }
        this.verbose = wrong;
        this.padCorrect = correct;
        return this;
    }

    public int groupSize() {
        return groupSize;
    }

    /**
     * One group: {@code groupSize} rollouts for one prompt of {@code task}, sharing a group id.
     *
     * @param taskName   tag written to the rollout metadata ({@code task})
     * @param policyVersion policy version string for the rollouts
     * @param createdAt  created_at of every rollout (epoch ms)
     */
    public List<Sample> group(ArithmeticTask task, String taskName, String policyVersion, long createdAt) {
        Objects.requireNonNull(task, "task");
        ArithmeticTask.Sample problem = task.sample(rnd, true);
        String prompt = problem.prompt();
        long value = ArithmeticTask.evaluate(prompt);
        // the seed keeps group (and rollout) ids of several policies on one task apart
        String groupId = "g-" + taskName + "-" + seed + "-" + (groups++);
        List<Sample> out = new ArrayList<>(groupSize);
        for (int i = 0; i < groupSize; i++) {
            boolean correct = rnd.nextDouble() < pCorrect;
            String answer = correct ? Long.toString(value) : wrongAnswer(value);
            boolean padded = rnd.nextDouble() < (correct ? padCorrect : verbose);
            if (padded) {
                answer = HackScenario.pad(rnd, answer);
            }
            out.add(new Sample(rollout(groupId, i, prompt, answer, correct, taskName, policyVersion, createdAt),
                    correct, taskName, padded));
        }
        return out;
    }

    private String wrongAnswer(long value) {
        return HackScenario.wrong(rnd, value);
    }

    private Rollout rollout(String groupId, int member, String prompt, String answer, boolean correct, String task,
                            String policyVersion, long createdAt) {
        int[] p = ByteTokenizer.encode(prompt);
        int[] r = ByteTokenizer.encode(answer);
        List<Integer> pIds = new ArrayList<>(p.length);
        for (int x : p) {
            pIds.add(x);
        }
        List<Integer> rIds = new ArrayList<>(r.length);
        List<Float> lp = new ArrayList<>(r.length);
        List<Float> lr = new ArrayList<>(r.length);
        for (int x : r) {
            rIds.add(x);
            // a correct answer is confident; wrong answers and filler are less so
            double policy = -Math.abs(rnd.nextGaussian()) * (correct ? 0.3 : 1.0) - 0.01;
            double ref = policy - klPerToken + rnd.nextGaussian() * 0.02;
            lp.add((float) Math.max(-20, policy));
            lr.add((float) Math.max(-20, ref));
        }
        return Rollout.newBuilder()
                .setRolloutId(groupId + "-" + member)
                .setGroupId(groupId)
                .setGroupSize(groupSize)
                .setPolicyVersion(policyVersion)
                .setPromptTokenIds(pIds)
                .setResponseTokenIds(rIds)
                .setPromptText(prompt)
                .setResponseText(answer)
                .setPolicyLogprobs(lp)
                .setReferenceLogprobs(lr)
                .setFinishReason(FinishReason.STOP)
                .setCreatedAt(java.time.Instant.ofEpochMilli(createdAt))
                .setMetadata(Map.of("task", task, "correct", Boolean.toString(correct)))
                .build();
    }
}
