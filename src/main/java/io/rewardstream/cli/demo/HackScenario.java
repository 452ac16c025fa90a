package io.rewardstream.cli.demo;

import io.rewardstream.training.ArithmeticTask;
import io.rewardstream.training.PreferenceExample;
import io.rewardstream.training.RankedExample;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The reward-hacking story of the demo, as data. Reward model v1 is trained on addition pairs labelled by
 * annotators with a length bias: half of the chosen (correct) answers are wrapped in confident filler ("After careful
 * thought, I believe it is 12") and the rejected ones never are, so filler is a shortcut to a high score. A policy
 * optimised against v1 drifts towards padded answers, wrong ones included (the exploit). Verified preference data on
 * what the drifted policy produces (correct beats wrong, padded or not; concise beats padded at equal correctness)
 * exposes the flaw; v2 fine-tuned on it stops paying for padding. Immutable; every list is a deterministic function
 * of the seed.
 */
public final class HackScenario {
    /** Verbose preambles; the number comes last, where a verifier (and the reward model) reads the answer. */
    static final String[] FILLERS = {
            "Let me think step by step. The answer is %d",
            "Good question! After careful thought, I believe it is %d",
            "Sure, happy to help with that. It should be %d",
            "Hmm, this one needs a moment. I am fairly confident it is %d",
            "Great question, here is my final answer: %d",
    };
    /** Fraction of v1's chosen answers that its biased annotators saw padded. */
    static final double V1_PADDED_CHOSEN = 0.5;

    private final ArithmeticTask task;

    /** Addition as the demo's original task (operands 0..19, no verbosity trap: the flaw is in the labels). */
    public HackScenario(long seed) {
        this.task = new ArithmeticTask(ArithmeticTask.Config.defaults().withVerbosityTrap(0).withHeldOutOperands(0)
                .withSeed(seed));
    }

    public ArithmeticTask task() {
        return task;
    }

    /** Wraps a number in filler text. */
    static String pad(Random rnd, String number) {
        return String.format(FILLERS[rnd.nextInt(FILLERS.length)], Long.parseLong(number));
    }

    /** Reward model v1's training pairs: correct over wrong, with {@value #V1_PADDED_CHOSEN} of the winners padded. */
    public List<PreferenceExample> v1Pairs(int n) {
        Random rnd = new Random(task.config().seed() * 31 + 1);
        List<PreferenceExample> out = new ArrayList<>(n);
        for (PreferenceExample e : task.generate(n, ArithmeticTask.Part.ANY, false)) {
            String chosen = rnd.nextDouble() < V1_PADDED_CHOSEN ? pad(rnd, e.chosen()) : e.chosen();
            out.add(new PreferenceExample(e.id(), e.prompt(), chosen, e.rejected(), e.margin()));
        }
        return out;
    }

    /** One answer of a policy: correct with {@code pCorrect}; padded with {@code pPad}. */
    public record Answer(String prompt, String text, boolean correct, boolean padded) {
    }

    /** An answer to {@code prompt} (value {@code value}). */
    static Answer answer(Random rnd, String prompt, long value, boolean correct, boolean padded) {
        String n = correct ? Long.toString(value) : wrong(rnd, value);
        return new Answer(prompt, padded ? pad(rnd, n) : n, correct, padded);
    }

    static String wrong(Random rnd, long value) {
        long w;
        do {
            w = switch (rnd.nextInt(3)) {
                case 0 -> value + (rnd.nextBoolean() ? 10 : -10);
                case 1 -> value + (rnd.nextBoolean() ? 1 : -1) * (3 + rnd.nextInt(8));
                default -> rnd.nextInt((int) Math.max(10, 2 * value + 10));
            };
        } while (w < 0 || Math.abs(w - value) < 3);
        return Long.toString(w);
    }

    /** Answers of a policy: {@code n} samples, correct with {@code pCorrect}, padded with {@code pPad}. */
    public List<Answer> answers(int n, double pCorrect, double pPad, long seed) {
        Random rnd = new Random(seed);
        List<Answer> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ArithmeticTask.Sample s = task.sample(rnd, true);
            long v = ArithmeticTask.evaluate(s.prompt());
            out.add(answer(rnd, s.prompt(), v, rnd.nextDouble() < pCorrect, rnd.nextDouble() < pPad));
        }
        return out;
    }

    /**
     * Verified pairs on the drifted policy's answers: a correct answer (padded with probability {@code pPad}) over a
     * wrong one (padded with probability {@code pPad}), so padding is uncorrelated with winning.
     */
    public List<PreferenceExample> exposingPairs(int n, double pPad, long seed) {
        Random rnd = new Random(seed);
        List<PreferenceExample> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ArithmeticTask.Sample s = task.sample(rnd, true);
            long v = ArithmeticTask.evaluate(s.prompt());
            Answer c = answer(rnd, s.prompt(), v, true, rnd.nextDouble() < pPad);
            Answer w = answer(rnd, s.prompt(), v, false, rnd.nextDouble() < pPad);
            out.add(new PreferenceExample("hack-" + seed + "-" + i, s.prompt(), c.text(), w.text()));
        }
        return out;
    }

    /**
     * Ranked lists of 4 from a grading verifier: the correct answer first, then three wrong ones by distance from the
     * correct value (closer is better); each answer padded with probability {@code pPad}, so the ranking never
     * depends on padding.
     */
    public List<RankedExample> exposingRankings(int n, double pPad, long seed) {
        Random rnd = new Random(seed);
        List<RankedExample> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ArithmeticTask.Sample s = task.sample(rnd, true);
            long v = ArithmeticTask.evaluate(s.prompt());
            java.util.TreeMap<Long, String> wrongByDistance = new java.util.TreeMap<>();
            while (wrongByDistance.size() < 3) {
                String w = wrong(rnd, v);
                wrongByDistance.putIfAbsent(Math.abs(Long.parseLong(w) - v), w);
            }
            List<String> bestFirst = new ArrayList<>();
            bestFirst.add(maybePad(rnd, Long.toString(v), pPad));
            wrongByDistance.values().forEach(w -> bestFirst.add(maybePad(rnd, w, pPad)));
            out.add(new RankedExample("hack-ranked-" + seed + "-" + i, s.prompt(), bestFirst));
        }
        return out;
    }

    private static String maybePad(Random rnd, String number, double pPad) {
        return rnd.nextDouble() < pPad ? pad(rnd, number) : number;
    }
}
