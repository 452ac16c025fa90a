package io.rewardstream.scoring;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Padding benchmark: length-bucketed planning vs naive pad-to-longest in arrival order, same batch
 * limits, on a seeded log-normal length mix clipped to [8, 1024]. Prints padding efficiency of both side
 * by side and their ratio (target: bucketed >= 0.85).
 *
 * <p>Usage: {@code PaddingBenchmark [n=10000] [seed=42] [batch.max.size=64] [batch.max.tokens=16384]}
 */
public final class PaddingBenchmark {
    static final int MIN_LEN = 8;
    static final int MAX_LEN = 1024;
    /** Median length 160 tokens, sigma 0.9: a long tail reaching max_seq_len. */
    static final double MU = Math.log(160);
    static final double SIGMA = 0.9;

    private PaddingBenchmark() {
    }

    /** {@code n} lengths drawn from LogNormal(ln 160, 0.9), rounded, clipped to [8, 1024]. */
    public static List<Integer> logNormalLengths(int n, long seed) {
        Random rnd = new Random(seed);
        List<Integer> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long len = Math.round(Math.exp(MU + SIGMA * rnd.nextGaussian()));
            out.add((int) Math.max(MIN_LEN, Math.min(MAX_LEN, len)));
        }
        return out;
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        long seed = args.length > 1 ? Long.parseLong(args[1]) : 42L;
        int maxSize = args.length > 2 ? Integer.parseInt(args[2]) : BatchingConfig.DEFAULTS.maxSize();
        int maxTokens = args.length > 3 ? Integer.parseInt(args[3]) : BatchingConfig.DEFAULTS.maxTokens();
        BatchingConfig cfg = new BatchingConfig(maxSize, maxTokens, BatchingConfig.DEFAULTS.padMultiple(),
                BatchingConfig.DEFAULTS.maxDelayMs());
        BatchPlanner planner = new BatchPlanner(cfg, MAX_LEN, 0);

        List<Integer> lengths = logNormalLengths(n, seed);
        List<EncodedSequence> seqs = new ArrayList<>(n);
        for (int len : lengths) {
            seqs.add(EncodedSequence.of(new int[len]));
        }
        int[] sorted = lengths.stream().mapToInt(Integer::intValue).sorted().toArray();
        System.out.printf("lengths: n=%d seed=%d log-normal(mu=ln160, sigma=%.1f) clipped [%d,%d]: "
                        + "min=%d p50=%d p90=%d p99=%d max=%d mean=%.1f%n",
                n, seed, SIGMA, MIN_LEN, MAX_LEN, sorted[0], sorted[n / 2], sorted[(int) (n * 0.9)],
                sorted[(int) (n * 0.99)], sorted[n - 1], Arrays.stream(sorted).average().orElse(0));
        System.out.printf("limits: batch.max.size=%d batch.max.tokens=%d batch.pad.multiple=%d max_seq_len=%d%n",
                cfg.maxSize(), cfg.maxTokens(), cfg.padMultiple(), MAX_LEN);

        long t0 = System.nanoTime();
        BatchPlan naive = planner.planInArrivalOrder(seqs);
        long t1 = System.nanoTime();
        BatchPlan bucketed = planner.plan(seqs);
        long t2 = System.nanoTime();

        System.out.printf("%-28s %10s %14s %14s %12s %10s%n", "strategy", "batches", "real tokens", "padded tokens",
                "efficiency", "plan ms");
        row("naive pad-to-longest", naive, (t1 - t0) / 1e6);
        row("length-bucketed", bucketed, (t2 - t1) / 1e6);
        System.out.printf("ratio bucketed/naive: efficiency x%.2f, padded tokens x%.2f fewer%n",
                bucketed.paddingEfficiency() / naive.paddingEfficiency(),
                (double) naive.paddedTokens() / bucketed.paddedTokens());
        System.out.printf("target bucketed efficiency >= 0.85: %s%n",
                bucketed.paddingEfficiency() >= 0.85 ? "MET" : "NOT MET");
    }

    private static void row(String name, BatchPlan plan, double ms) {
        System.out.printf("%-28s %10d %14d %14d %12.4f %10.1f%n", name, plan.batches().size(), plan.realTokens(),
                plan.paddedTokens(), plan.paddingEfficiency(), ms);
    }
}
