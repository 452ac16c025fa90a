package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Bradley-Terry (pairs) / Plackett-Luce (rankings) reward head on a frozen BERT-base backbone: features from {@link BertFeatures} (cached), a
 * {@link LinearHead} trained by full-batch Adam on {@code -log sigmoid(r_c - r_r - margin) + l2 |w - w0|^2}
 * (w0 = 0 for a new head, the current head when fine-tuning), exported as ONE SavedModel (backbone + head
 * as constants, contract {@code serving_default}, plus a {@code features} signature) with the vocabulary and
 * a digested manifest. Stateless.
 */
public final class BertHeadTrainer {
    public static final String MODEL_NAME = "bert-base-uncased-rm";

    private BertHeadTrainer() {
    }

    /** Head optimisation settings. */
    public record Config(int steps, double learningRate, double l2) {
        public Config {
            if (steps < 1 || !(learningRate > 0) || !(l2 >= 0)) {
                throw new IllegalArgumentException("head config needs steps >= 1, lr > 0, l2 >= 0; got " + steps + ", "
                        + learningRate + ", " + l2);
            }
        }

        public static Config defaults() {
            return new Config(300, 0.01, 0.01);
        }
    }

    /** What a training or fine-tuning run produced. */
    public record Result(ModelManifest manifest, LinearHead head, EvalMetrics train, EvalMetrics heldOut,
                         double seconds, int featuresComputed) {
    }

    /** Scores texts with backbone features and a head (in Java, for evaluation during training). */
    public static Scorer scorer(BertFeatures features, LinearHead head) {
        return (prompts, responses) -> {
            float[][] f = features.of(prompts, responses);
            float[] out = new float[f.length];
            for (int i = 0; i < f.length; i++) {
                out[i] = (float) head.score(f[i]);
            }
            return out;
        };
    }

    /**
     * Trains a new head on {@code train}, evaluates on {@code eval} (may be empty) and exports to {@code out}.
     *
     * @throws IOException when the export cannot be written
     */
    public static Result train(BertFeatures features, List<PreferenceExample> train, List<PreferenceExample> eval,
                               Config cfg, Path out, long version, Map<String, String> lineage) throws IOException {
        long t0 = System.nanoTime();
        int before = features.computed();
        float[][][] f = pairFeatures(features, train);
        LinearHead head = fit(f[0], f[1], margins(train), cfg, null);
        return finish(features, head, train, eval, out, version, null, lineage, t0, before);
    }

    /**
     * Re-trains the head of an exported BERT reward model on new pairs (frozen backbone, features cached), starting
     * from its current head and regularised towards it, and exports version + 1 to {@code out}. This is the entry
     * point for the retraining job.
     *
     * @param modelDir an export of {@link #train} (needs {@value LinearHead#FILE} and the {@code features} signature)
     * @param pairs    new preference pairs
     * @param eval     held-out pairs for the before/after metrics (may be empty)
     * @return the new manifest (parent_version = the source version), head and metrics
     * @throws IOException when the source is not a BERT reward model or the export fails
     */
    public static Result fineTune(Path modelDir, List<PreferenceExample> pairs, List<PreferenceExample> eval,
                                  Config cfg, Path out) throws IOException {
        ModelManifest src = ModelManifest.read(modelDir);
        if (!"wordpiece".equals(src.tokenizer()) || !Files.isRegularFile(modelDir.resolve(LinearHead.FILE))) {
            throw new IOException(modelDir + " is not a BERT reward model (tokenizer " + src.tokenizer() + ", "
                    + LinearHead.FILE + " " + (Files.exists(modelDir.resolve(LinearHead.FILE)) ? "present" : "missing") + ")");
        }
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException("fine-tuning needs at least one pair");
        }
        LinearHead start = LinearHead.read(modelDir);
        long t0 = System.nanoTime();
        try (BertBackbone backbone = BertBackbone.open(modelDir)) {
            BertFeatures features = new BertFeatures(backbone, BertFeatures.defaultDir());
            float[][][] f = pairFeatures(features, pairs);
            LinearHead head = fit(f[0], f[1], margins(pairs), cfg, start);
            Map<String, String> lineage = new LinkedHashMap<>(src.lineage());
            lineage.put("finetune_pairs", Integer.toString(pairs.size()));
            return finish(features, head, pairs, eval, out, src.version() + 1, src.version(), lineage, t0, 0);
        }
    }

    private static Result finish(BertFeatures features, LinearHead head, List<PreferenceExample> train,
                                 List<PreferenceExample> eval, Path out, long version, Long parent,
                                 Map<String, String> lineage, long t0, int computedBefore) throws IOException {
        Scorer s = scorer(features, head);
        EvalMetrics tr = EvalMetrics.evaluate(s, train);
        EvalMetrics ev = eval.isEmpty() ? null : EvalMetrics.evaluate(s, eval);
        ModelManifest m = export(features.backbone().servingDir(), head, out, version, parent,
                ev != null ? ev : tr, lineage);
        return new Result(m, head, tr, ev, (System.nanoTime() - t0) / 1e9, features.computed() - computedBefore);
    }

    /**
     * Writes backbone + head as one SavedModel into {@code out} (created; must not hold a model): saved_model.pb,
     * variables (hard links when possible), assets, {@value LinearHead#FILE}, manifest with digests.
     */
    public static ModelManifest export(Path servingDir, LinearHead head, Path out, long version, Long parent,
                                       EvalMetrics metrics, Map<String, String> lineage) throws IOException {
        if (Files.exists(out.resolve("saved_model.pb"))) {
            throw new IOException(out + " already holds a model");
        }
        Files.createDirectories(out.resolve("assets"));
        Files.write(out.resolve("saved_model.pb"), BertBackbone.servingModel(servingDir, head).toByteArray());
        BertBackbone.linkOrCopyTree(servingDir.resolve("variables"), out.resolve("variables"));
        for (String a : List.of("assets/vocab.txt", "assets/model.json")) {
            Files.copy(servingDir.resolve(a), out.resolve(a));
        }
        head.write(out);
        Map<String, String> lin = new LinkedHashMap<>(lineage);
        lin.put("backbone", BertBackbone.ID + " (" + BertBackbone.GROUP + ":" + BertBackbone.ARTIFACT + ":"
                + BertBackbone.VERSION + "), frozen");
        lin.put("head", "linear on [pooled ; masked mean of last layer] (" + BertBackbone.FEATURES + "), Bradley-Terry / Plackett-Luce");
        Map<String, Double> mm = metrics == null ? Map.of() : metrics.asMap();
        ModelManifest.Normalization norm = metrics != null && metrics.scoreStd() > 0
                ? new ModelManifest.Normalization(metrics.scoreMean(), metrics.scoreStd()) : null;
        ModelManifest m = new ModelManifest(MODEL_NAME, version, BertBackbone.maxSeqLen(servingDir), 0,
                BertBackbone.VOCAB_SIZE, "wordpiece", "assets/vocab.txt", List.of(), norm, mm, parent, lin,
                System.currentTimeMillis(), null);
        m = m.withDigestsOf(out);
        m.write(out);
        return m;
    }

    static double[] margins(List<PreferenceExample> pairs) {
        return pairs.stream().mapToDouble(PreferenceExample::margin).toArray();
    }

    /** [0] = chosen features, [1] = rejected features, one row per pair. */
    static float[][][] pairFeatures(BertFeatures features, List<PreferenceExample> pairs) {
        List<String> prompts = new ArrayList<>();
        List<String> responses = new ArrayList<>();
        for (PreferenceExample e : pairs) {
            prompts.add(e.prompt());
            responses.add(e.chosen());
        }
        for (PreferenceExample e : pairs) {
            prompts.add(e.prompt());
            responses.add(e.rejected());
        }
        float[][] all = features.of(prompts, responses);
        int n = pairs.size();
        float[][] c = new float[n][];
        float[][] r = new float[n][];
        for (int i = 0; i < n; i++) {
            c[i] = all[i];
            r[i] = all[n + i];
        }
        return new float[][][]{c, r};
    }

    /**
     * Full-batch Adam on the mean Bradley-Terry loss plus {@code l2 * |w - w0|^2}. A new head standardizes with the
     * training features' mean/std; a fine-tuned head keeps its parent's (so w0 stays meaningful).
     */
    static LinearHead fit(float[][] chosen, float[][] rejected, double[] margin, Config cfg, LinearHead start) {
        return fit(chosen, rejected, margin, cfg, start, null);
    }

    /** {@link #fit} recording the mean Bradley-Terry loss (without the penalty) of every step into {@code losses}. */
    static LinearHead fit(float[][] chosen, float[][] rejected, double[] margin, Config cfg, LinearHead start,
                          List<Double> losses) {
        return fit(chosen, rejected, margin, new float[0][][], cfg, start, losses);
    }

    /** Features of rankings: [list][rank (best first)][feature]. */
    static float[][][] rankedFeatures(BertFeatures features, List<RankedExample> rankings) {
        List<String> prompts = new ArrayList<>();
        List<String> responses = new ArrayList<>();
        for (RankedExample r : rankings) {
            for (String resp : r.responsesBestFirst()) {
                prompts.add(r.prompt());
                responses.add(resp);
            }
        }
        float[][] all = prompts.isEmpty() ? new float[0][] : features.of(prompts, responses);
        float[][][] out = new float[rankings.size()][][];
        int at = 0;
        for (int l = 0; l < rankings.size(); l++) {
            int k = rankings.get(l).responsesBestFirst().size();
            out[l] = java.util.Arrays.copyOfRange(all, at, at + k);
            at += k;
        }
        return out;
    }

    /**
     * Full-batch Adam on the mean over examples of the Bradley-Terry loss of each pair and the Plackett-Luce loss
     * {@code sum_i (logsumexp_{j>=i} s_j - s_i)} of each ranking (rows best first), plus {@code l2 * |w - w0|^2};
     * records the mean loss (without the penalty) of every step into {@code losses} when not null. A new head
     * standardizes with the training features' mean/std; a fine-tuned head keeps its parent's (so w0 stays
     * meaningful).
     */
    static LinearHead fit(float[][] chosen, float[][] rejected, double[] margin, float[][][] ranked, Config cfg,
                          LinearHead start, List<Double> losses) {
        int n = chosen.length;
        int lists = ranked.length;
        if (n + lists == 0) {
            throw new IllegalArgumentException("no training pairs or rankings");
        }
        int d = n > 0 ? chosen[0].length : ranked[0][0].length;
        float[] mean;
        float[] std;
        double[] w0;
        if (start != null) {
            if (start.dim() != d) {
                throw new IllegalArgumentException("head has " + start.dim() + " inputs, features have " + d);
            }
            mean = start.mean();
            std = start.std();
            w0 = start.w().clone();
        } else {
            List<float[]> rows = new ArrayList<>(java.util.Arrays.asList(chosen));
            rows.addAll(java.util.Arrays.asList(rejected));
            for (float[][] l : ranked) {
                rows.addAll(java.util.Arrays.asList(l));
            }
            mean = new float[d];
            std = new float[d];
            for (int j = 0; j < d; j++) {
                double s = 0;
                double ss = 0;
                for (float[] r : rows) {
                    s += r[j];
                    ss += (double) r[j] * r[j];
                }
                double m = s / rows.size();
                mean[j] = (float) m;
                std[j] = (float) Math.max(Math.sqrt(Math.max(ss / rows.size() - m * m, 0)), 1e-3);
            }
            w0 = new double[d];
        }
        // both losses see only differences of scores, so the mean and the bias cancel: features / std
        double[][] diff = new double[n][d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                diff[i][j] = (chosen[i][j] - rejected[i][j]) / std[j];
            }
        }
        double[][][] x = new double[lists][][];
        for (int l = 0; l < lists; l++) {
            x[l] = new double[ranked[l].length][d];
            for (int r = 0; r < ranked[l].length; r++) {
                for (int j = 0; j < d; j++) {
                    x[l][r][j] = ranked[l][r][j] / std[j];
                }
            }
        }
        int count = n + lists;
        double[] w = w0.clone();
        double[] m1 = new double[d];
        double[] m2 = new double[d];
        double[] g = new double[d];
        double b1 = 0.9;
        double b2 = 0.999;
        for (int step = 1; step <= cfg.steps(); step++) {
            java.util.Arrays.fill(g, 0);
            double loss = 0;
            for (int i = 0; i < n; i++) {
                double z = -margin[i];
                for (int j = 0; j < d; j++) {
                    z += w[j] * diff[i][j];
                }
                loss += (Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z)))) / count;   // softplus(-z), stable
                double coef = -1.0 / (1.0 + Math.exp(z)) / count;   // d/dz softplus(-z) = -sigmoid(-z)
                for (int j = 0; j < d; j++) {
                    g[j] += coef * diff[i][j];
                }
            }
            for (int l = 0; l < lists; l++) {
                double[] grad = new double[x[l].length];
                loss += plackettLuce(scores(w, x[l]), grad) / count;
                for (int r = 0; r < x[l].length; r++) {
                    for (int j = 0; j < d; j++) {
                        g[j] += grad[r] / count * x[l][r][j];
                    }
                }
            }
            if (losses != null) {
                losses.add(loss);
            }
            for (int j = 0; j < d; j++) {
                g[j] += 2 * cfg.l2() * (w[j] - w0[j]);
                m1[j] = b1 * m1[j] + (1 - b1) * g[j];
                m2[j] = b2 * m2[j] + (1 - b2) * g[j] * g[j];
                double mh = m1[j] / (1 - Math.pow(b1, step));
                double vh = m2[j] / (1 - Math.pow(b2, step));
                w[j] -= cfg.learningRate() * mh / (Math.sqrt(vh) + 1e-8);
            }
        }
        return new LinearHead(mean, std, w, start != null ? start.b() : 0.0);
    }

    private static double[] scores(double[] w, double[][] rows) {
        double[] s = new double[rows.length];
        for (int r = 0; r < rows.length; r++) {
            for (int j = 0; j < w.length; j++) {
                s[r] += w[j] * rows[r][j];
            }
        }
        return s;
    }

    /**
     * Plackett-Luce negative log-likelihood of scores in rank order (best first),
     * {@code sum_i (logsumexp_{j>=i} s_j - s_i)}, and its gradient into {@code grad}:
     * {@code dL/ds_j = sum_{i<=j} softmax_{m>=i}(s)_j - 1}. Equals the Bradley-Terry loss for k = 2.
     */
    static double plackettLuce(double[] s, double[] grad) {
        int k = s.length;
        double loss = 0;
        java.util.Arrays.fill(grad, -1.0);
        for (int i = 0; i < k; i++) {
            double mx = Double.NEGATIVE_INFINITY;
            for (int j = i; j < k; j++) {
                mx = Math.max(mx, s[j]);
            }
            double z = 0;
            for (int j = i; j < k; j++) {
                z += Math.exp(s[j] - mx);
            }
            loss += mx + Math.log(z) - s[i];
            for (int j = i; j < k; j++) {
                grad[j] += Math.exp(s[j] - mx) / z;
            }
        }
        return loss;
    }
}
