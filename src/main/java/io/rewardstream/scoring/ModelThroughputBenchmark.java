package io.rewardstream.scoring;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Scoring throughput of exported models through the scoring runtime ({@link ModelLoader}, as the scorer runs
 * them), side by side: sequences of {@code T} tokens (default 128, capped at each model's max_seq_len), batch
 * sizes 1 and 8, about {@code seconds} of calls per cell after one warm-up call.
 *
 * <pre>java -cp ... io.rewardstream.scoring.ModelThroughputBenchmark [--tokens 128] [--seconds 10] DIR...</pre>
 */
public final class ModelThroughputBenchmark {
    private ModelThroughputBenchmark() {
    }

    public static void main(String[] args) {
        int tokens = 128;
        double seconds = 10;
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--tokens" -> tokens = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                default -> dirs.add(Path.of(args[i]));
            }
        }
        if (dirs.isEmpty()) {
            System.err.println("usage: ModelThroughputBenchmark [--tokens T] [--seconds S] MODEL_DIR...");
            System.exit(2);
        }
        int[] batches = {1, 8};
        List<String> lines = new ArrayList<>();
        double base = -1;
        for (Path dir : dirs) {
            try (SavedModelRewardModel m = ModelLoader.load(dir, RuntimeConfig.from(Map.of(RuntimeConfig.WARMUP, "false")))) {
                ModelManifest man = m.manifest();
                int t = Math.min(tokens, man.maxSeqLen());
                StringBuilder row = new StringBuilder(String.format("%-26s T=%-4d", man.modelVersion(), t));
                for (int b : batches) {
                    double rate = rate(m, b, t, seconds);
                    if (base < 0) {
                        base = rate;
                    }
                    row.append(String.format("  B=%d: %9.1f seq/s (x%.3f)", b, rate, rate / base));
                }
                lines.add(row.toString());
                System.out.println(row);
            }
        }
        System.out.println("--- ratios relative to the first model at B=1; 2 shared CPU cores ---");
        lines.forEach(System.out::println);
    }

    private static double rate(SavedModelRewardModel m, int rows, int t, double seconds) {
        ModelManifest man = m.manifest();
        Random rnd = new Random(1);
        int[][] seqs = new int[rows][t];
        int[] index = new int[rows];
        for (int r = 0; r < rows; r++) {
            index[r] = r;
            for (int c = 0; c < t; c++) {
                // avoid special ids: the low 1000 ids of a BERT vocabulary, the 4 specials of the byte tokenizer
                int lo = Math.min(man.vocabSize() - 1, man.vocabSize() > 2000 ? 1000 : 4);
                seqs[r][c] = lo + rnd.nextInt(man.vocabSize() - lo);
            }
        }
        PaddedBatch batch = PaddedBatch.of(seqs, index, t, man.padId());
        m.score(batch);
        long t0 = System.nanoTime();
        long deadline = t0 + (long) (seconds * 1e9);
        int calls = 0;
        do {
            m.score(batch);
            calls++;
        } while (System.nanoTime() < deadline);
        return calls * rows / ((System.nanoTime() - t0) / 1e9);
    }
}
