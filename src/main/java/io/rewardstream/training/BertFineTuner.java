package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.WordPieceTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * Fine-tunes a BERT reward model: the top k encoder layers (or all of BERT), the pooler and the linear head, with the
 * Bradley-Terry loss {@code softplus(-(r_c - r_r - margin))}, AdamW (linear warm-up, then linear decay to 0), global-norm
 * gradient clipping and a seeded data order. A model without a trained head (the bare backbone) first gets a linear
 * probe on frozen features (the {@link BertHeadTrainer} fit): its held-out accuracy is the curve's step 0, so the report
 * shows frozen head vs fine-tuned side by side. Exports ONE contract SavedModel: the new variables through the graph's
 * own saver, the head folded into constants, vocabulary, {@code head.json}, training report, digested manifest.
 * Stateless.
 */
public final class BertFineTuner {
    private static final int EVAL_BATCH = 8;

    private BertFineTuner() {
    }

    /**
     * Fine-tuning settings.
     *
     * @param trainLayers  top encoder layers that train (1..12), or {@link BertTrainGraph#ALL} ({@code all}) for every
     *                     variable including the embeddings
     * @param epochs       passes over the training pairs
     * @param batchPairs   pairs per step (2x rows through BERT)
     * @param learningRate peak AdamW learning rate
     * @param warmup       fraction of the steps with a linear warm-up
     * @param weightDecay  decoupled weight decay (not on biases and LayerNorm)
     * @param clipNorm     global gradient-norm clip
     * @param seed         data order
     * @param maxSteps     stop after this many steps (0 = epochs decide)
     * @param headLrScale  the head's learning rate is {@code learningRate * headLrScale} (a new head starts at zero)
     */
    public record Config(int trainLayers, int epochs, int batchPairs, double learningRate, double warmup,
                         double weightDecay, double clipNorm, long seed, int maxSteps, double headLrScale) {
        public Config {
            if (trainLayers != BertTrainGraph.ALL && (trainLayers < 1 || trainLayers > BertTrainGraph.LAYERS)) {
                throw new IllegalArgumentException("train layers must be 1.." + BertTrainGraph.LAYERS + " or all, got "
                        + trainLayers);
            }
            if (epochs < 1 || batchPairs < 1 || !(learningRate > 0) || !(warmup >= 0 && warmup < 1)
                    || !(weightDecay >= 0) || !(clipNorm > 0) || maxSteps < 0 || !(headLrScale > 0)) {
                throw new IllegalArgumentException("fine-tune config needs epochs >= 1, batch >= 1, lr > 0, warmup in"
                        + " [0,1), weight decay >= 0, clip > 0, max steps >= 0; got " + this);
            }
        }

        /** Top 4 layers, 4 epochs of 8 pairs, lr 1e-4 (head x10), 10% warm-up, wd 0.01, clip 1.0, seed 7. */
        public static Config defaults() {
            return new Config(4, 4, 8, 1e-4, 0.1, 0.01, 1.0, 7, 0, 10);
        }

        /** {@code k} (1..12) or {@code all}. */
        public static int parseLayers(String s) {
            if (s.trim().equalsIgnoreCase("all")) {
                return BertTrainGraph.ALL;
            }
            try {
                return Integer.parseInt(s.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("train layers must be 1.." + BertTrainGraph.LAYERS + " or all, got '"
                        + s + "'");
            }
        }

        public Config withTrainLayers(int k) {
            return new Config(k, epochs, batchPairs, learningRate, warmup, weightDecay, clipNorm, seed, maxSteps,
                    headLrScale);
        }

        public Config withSchedule(int epochs, int batchPairs, double learningRate, long seed, int maxSteps) {
            return new Config(trainLayers, epochs, batchPairs, learningRate, warmup, weightDecay, clipNorm, seed, maxSteps,
                    headLrScale);
        }

        String layersLabel() {
            return trainLayers == BertTrainGraph.ALL ? "all" : "top " + trainLayers;
        }
    }

    /**
     * What a fine-tuning run produced.
     *
     * @param probe    held-out metrics of the starting point (frozen backbone + its head) - null without held-out pairs
     * @param training step losses, held-out curve (step 0 = the start) and final held-out metrics
     * @param pairsPerSecond training throughput (pairs through forward + backward + update per wall-clock second)
     */
    public record Result(ModelManifest manifest, EvalMetrics probe, EvalMetrics train, TrainingResult training,
                         double pairsPerSecond, long trainableParams, Map<String, EvalMetrics> probeByCategory,
                         Map<String, EvalMetrics> heldOutByCategory) {
        public EvalMetrics heldOut() {
            return training.finalEval();
        }
    }

    /**
     * Fine-tunes the model in {@code source} (the prepared backbone, {@link BertBackbone#prepare()}, or an exported BERT
     * reward model, whose head is the start) on {@code train} and exports it to {@code out} as {@code version}.
     *
     * @param eval    held-out pairs, evaluated at the start and after every epoch (may be empty)
     * @param summary extra report lines
     * @throws IOException when the source cannot be read or the export written
     */
    public static Result fineTune(Path source, List<PreferenceExample> train, List<PreferenceExample> eval, Config cfg,
                                  Path out, long version, Long parent, Map<String, String> lineage,
                                  Map<String, ?> summary, BooleanSupplier stop) throws IOException {
        if (train.isEmpty()) {
            throw new IllegalArgumentException("fine-tuning needs training pairs");
        }
        if (Files.exists(out.resolve("saved_model.pb"))) {
            throw new IOException(out + " already holds a model");
        }
        long t0 = System.nanoTime();
        WordPieceTokenizer tok = WordPieceTokenizer.load(source.resolve("assets/vocab.txt"), true);
        try (BertTrainGraph g = new BertTrainGraph(source, cfg.trainLayers(), cfg.weightDecay(), cfg.clipNorm())) {
            System.err.printf("fine-tuning %s: %s encoder layers + pooler + head (%,d parameters), %d pairs, %d held out%n",
                    BertBackbone.ID, cfg.layersLabel(), g.trainableParams(), train.size(), eval.size());
            List<int[]> chosen = encode(tok, train, true);
            List<int[]> rejected = encode(tok, train, false);
            // frozen layers run once per distinct sequence, not once per step
            Map<Key, float[]> lower = new java.util.HashMap<>();
            if (g.caches()) {
                List<int[]> all = new ArrayList<>(chosen);
                all.addAll(rejected);
                all.addAll(encode(tok, eval, true));
                all.addAll(encode(tok, eval, false));
                long tc = System.nanoTime();
                List<int[]> distinct = all.stream().map(Key::new).distinct().map(Key::ids).toList();
                float[][] states = new float[distinct.size()][];
                run(distinct, rows -> flatten(g.lower(rows)), -1, states);
                for (int i = 0; i < states.length; i++) {
                    lower.put(new Key(distinct.get(i)), states[i]);
                }
                System.err.printf("frozen layers: %d sequences in %.1f s%n", distinct.size(), (System.nanoTime() - tc) / 1e9);
            }
            Scorer scorer = (prompts, responses) -> score(g, tok, lower, prompts, responses);
            boolean hasHead = Files.isRegularFile(source.resolve(LinearHead.FILE));
            Map<String, EvalMetrics> probeCats = Map.of();
            if (hasHead) {
                LinearHead h = LinearHead.read(source);
                g.init(h.foldedWeights(), h.foldedBias());
                if (!eval.isEmpty()) {
                    probeCats = EvalMetrics.byCategory(scorer, eval);
                }
            } else {
                // the baseline: a linear head on frozen features, fitted on the same pairs; training starts from a zero head
                LinearHead h = probe(g, tok, lower, train);
                g.init(h.foldedWeights(), h.foldedBias());
                if (!eval.isEmpty()) {
                    probeCats = EvalMetrics.byCategory(scorer, eval);
                }
                g.init(new float[BertBackbone.FEATURES], 0f);
            }
            EvalMetrics probe = probeCats.get("all");
            if (probe != null) {
                System.err.printf("%s head on frozen features: held-out %s%n", hasHead ? "its" : "linear probe", probe);
            }
            List<TrainingResult.EvalPoint> curve = new ArrayList<>();
            if (!eval.isEmpty()) {
                EvalMetrics e0 = hasHead ? probe : EvalMetrics.evaluate(scorer, eval);
                curve.add(new TrainingResult.EvalPoint(0, Double.NaN, e0.loss(), e0.accuracy()));
            }
            int perEpoch = (train.size() + cfg.batchPairs() - 1) / cfg.batchPairs();
            int total = cfg.epochs() * perEpoch;
            if (cfg.maxSteps() > 0) {
                total = Math.min(total, cfg.maxSteps());
            }
            int warm = (int) Math.round(cfg.warmup() * total);
            Random rnd = new Random(cfg.seed());
            List<Double> losses = new ArrayList<>();
            ProgressBar bar = new ProgressBar(total, true);
            long tTrain = System.nanoTime();
            int step = 0;
            int pairsDone = 0;
            double lastLoss = Double.NaN;
            for (int epoch = 1; epoch <= cfg.epochs() && step < total; epoch++) {
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < train.size(); i++) {
                    order.add(i);
                }
                Collections.shuffle(order, rnd);
                for (int s = 0; s < order.size() && step < total; s += cfg.batchPairs()) {
                    if (stop.getAsBoolean()) {
                        throw new RoundTrainer.Interrupted("fine-tuning stopped at step " + step);
                    }
                    List<Integer> idx = order.subList(s, Math.min(order.size(), s + cfg.batchPairs()));
                    List<int[]> rows = new ArrayList<>();
                    float[] margins = new float[idx.size()];
                    for (int i : idx) {
                        rows.add(chosen.get(i));
                    }
                    for (int j = 0; j < idx.size(); j++) {
                        rows.add(rejected.get(idx.get(j)));
                        margins[j] = (float) train.get(idx.get(j)).margin();
                    }
                    step++;
                    double lr = learningRate(cfg, step, warm, total);
                    float[] r = g.step(Batches.pad(rows, 1), states(lower, rows), margins, lr, lr * cfg.headLrScale(), step);
                    lastLoss = r[0];
                    losses.add((double) r[0]);
                    pairsDone += idx.size();
                    double secs = (System.nanoTime() - tTrain) / 1e9;
                    bar.update(step, r[0], String.format(" |g| %.2f  %.2f pairs/s", r[1], pairsDone / secs));
                }
                if (!eval.isEmpty()) {
                    EvalMetrics e = EvalMetrics.evaluate(scorer, eval);
                    curve.add(new TrainingResult.EvalPoint(step, lastLoss, e.loss(), e.accuracy()));
                    bar.println(String.format("epoch %d (step %d): held-out %s", epoch, step, e));
                }
            }
            double trainSecs = (System.nanoTime() - tTrain) / 1e9;
            double pairsPerSecond = pairsDone / trainSecs;
            Map<String, EvalMetrics> finalCats = eval.isEmpty() ? Map.of() : EvalMetrics.byCategory(scorer, eval);
            EvalMetrics finalEval = finalCats.get("all");
            EvalMetrics trainEval = finalEval == null ? EvalMetrics.evaluate(scorer, train) : null;   // only without held-out pairs
            float[] h = g.head();
            double[] w = new double[BertBackbone.FEATURES];
            for (int j = 0; j < w.length; j++) {
                w[j] = h[j];
            }
            float[] ones = new float[w.length];
            Arrays.fill(ones, 1f);
            LinearHead head = new LinearHead(new float[w.length], ones, w, h[BertBackbone.FEATURES]);
            TrainingResult tr = new TrainingResult(losses, curve, finalEval, (System.nanoTime() - t0) / 1e9, train.size());
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("backbone", BertBackbone.ID);
            s.put("train_layers", cfg.layersLabel());
            s.put("trainable_parameters", g.trainableParams());
            s.put("config", cfg.toString());
            s.put("train_pairs", train.size());
            s.put("held_out_pairs", eval.size());
            s.put("steps", step);
            s.put("pairs_per_second", String.format("%.2f", pairsPerSecond));
            Map<String, EvalMetrics> startCats = probeCats;
            startCats.forEach((k, v) -> s.put("held-out accuracy " + k + ": " + (hasHead ? "start" : "frozen + linear head")
                    + " | fine-tuned", String.format("%.3f | %.3f  (%d pairs)", v.accuracy(), finalCats.get(k).accuracy(),
                    v.pairs())));
            if (finalEval != null) {
                finalEval.asMap().forEach((k, v) -> s.put("final." + k, v));
            }
            s.putAll(summary);
            Files.createDirectories(out);
            TrainingReport.write(out, tr, s);
            g.save(out.resolve("variables"));
            Map<String, String> lin = new LinkedHashMap<>(lineage);
            lin.put("train_layers", cfg.trainLayers() == BertTrainGraph.ALL ? "all" : Integer.toString(cfg.trainLayers()));
            lin.put("fine_tune", cfg.toString());
            ModelManifest m = BertHeadTrainer.exportWith(source, head, out, version, parent,
                    finalEval != null ? finalEval : trainEval, lin, false,
                    "fine-tuned: " + cfg.layersLabel() + " encoder layers + pooler + head");
            System.err.printf("fine-tuned in %.1f s (%.2f pairs/s); exported %s to %s%n", tr.seconds(), pairsPerSecond,
                    m.modelVersion(), out);
            return new Result(m, probe, trainEval, tr, pairsPerSecond, g.trainableParams(), probeCats, finalCats);
        }
    }

    /** Token ids with value equality (cache key). */
    private record Key(int[] ids) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(ids, k.ids);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(ids);
        }
    }

    private static List<float[]> states(Map<Key, float[]> lower, List<int[]> rows) {
        if (lower.isEmpty()) {
            return null;
        }
        List<float[]> out = new ArrayList<>();
        for (int[] r : rows) {
            out.add(lower.computeIfAbsent(new Key(r), k -> {
                throw new IllegalStateException("no cached frozen-layer output for a sequence of " + r.length + " tokens");
            }));
        }
        return out;
    }

    /** Per-row arrays of different lengths packed for {@link #run} with width -1 (length-prefixed). */
    private static float[] flatten(List<float[]> rows) {
        int n = 0;
        for (float[] r : rows) {
            n += 1 + r.length;
        }
        float[] out = new float[n];
        int at = 0;
        for (float[] r : rows) {
            out[at++] = r.length;
            System.arraycopy(r, 0, out, at, r.length);
            at += r.length;
        }
        return out;
    }

    /** Linear warm-up over {@code warm} steps to {@code lr}, then linear decay to 0 at {@code total}. */
    static double learningRate(Config cfg, int step, int warm, int total) {
        if (warm > 0 && step <= warm) {
            return cfg.learningRate() * step / warm;
        }
        return cfg.learningRate() * Math.max(0.0, (double) (total - step + 1) / Math.max(1, total - warm));
    }

    /** A linear head fitted on frozen features of {@code train} (the starting point for a bare backbone). */
    private static LinearHead probe(BertTrainGraph g, WordPieceTokenizer tok, Map<Key, float[]> lower,
                                    List<PreferenceExample> train) {
        List<int[]> seqs = new ArrayList<>(encode(tok, train, true));
        seqs.addAll(encode(tok, train, false));
        float[][] f = new float[seqs.size()][];
        run(seqs, rows -> g.features(rows, states(lower, unpad(rows))), BertBackbone.FEATURES, f);
        int n = train.size();
        float[][] c = Arrays.copyOfRange(f, 0, n);
        float[][] r = Arrays.copyOfRange(f, n, 2 * n);
        return BertHeadTrainer.fit(c, r, BertHeadTrainer.margins(train), BertHeadTrainer.Config.defaults(), null);
    }

    static List<int[]> encode(WordPieceTokenizer tok, List<PreferenceExample> pairs, boolean chosen) {
        List<int[]> out = new ArrayList<>();
        for (PreferenceExample e : pairs) {
            out.add(tok.encodePair(e.prompt(), chosen ? e.chosen() : e.rejected(), BertBackbone.MAX_SEQ_LEN).ids());
        }
        return out;
    }

    private static float[] score(BertTrainGraph g, WordPieceTokenizer tok, Map<Key, float[]> lower, List<String> prompts,
                                 List<String> responses) {
        List<int[]> seqs = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            seqs.add(tok.encodePair(prompts.get(i), responses.get(i), BertBackbone.MAX_SEQ_LEN).ids());
        }
        float[][] f = new float[seqs.size()][];
        run(seqs, rows -> g.rewards(rows, states(lower, unpad(rows))), 1, f);
        float[] out = new float[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i][0];
        }
        return out;
    }

    /** The real tokens of each padded row. */
    private static List<int[]> unpad(Batches.Padded p) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < p.rows(); i++) {
            int len = 0;
            while (len < p.cols() && p.mask()[i * p.cols() + len] == 1) {
                len++;
            }
            out.add(Arrays.copyOfRange(p.ids(), i * p.cols(), i * p.cols() + len));
        }
        return out;
    }

    /** Runs {@code fn} over length-sorted batches of {@link #EVAL_BATCH}; row i of the result goes to {@code out[i]}. */
    private static void run(List<int[]> seqs, java.util.function.Function<Batches.Padded, float[]> fn, int width,
                            float[][] out) {
        Integer[] order = new Integer[seqs.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt(i -> seqs.get(i).length));
        for (int s = 0; s < order.length; s += EVAL_BATCH) {
            List<int[]> rows = new ArrayList<>();
            for (int k = s; k < Math.min(order.length, s + EVAL_BATCH); k++) {
                rows.add(seqs.get(order[k]));
            }
            float[] flat = fn.apply(Batches.pad(rows, 1));
            int at = 0;
            for (int k = 0; k < rows.size(); k++) {
                int len = width >= 0 ? width : (int) flat[at++];
                out[order[s + k]] = Arrays.copyOfRange(flat, at, at + len);
                at += len;
            }
        }
    }
}
