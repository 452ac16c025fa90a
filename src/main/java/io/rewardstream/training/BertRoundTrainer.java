package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * {@link RoundTrainer} for BERT reward models ({@link BertHeadTrainer} and {@link BertFineTuner} exports, manifest
 * tokenizer {@code wordpiece}). Two modes, chosen by {@code retrain.bert.train.layers}:
 * <ul>
 *   <li><b>head only</b> ({@code 0}): the backbone stays frozen; the head is re-fit on fresh + replayed pairs (full
 *   batch, so {@code mix} and {@code batchSize} do not apply) from cached features, starting from and regularised
 *   towards the current head (pairs with Bradley-Terry, rankings with Plackett-Luce, in one loss). {@code steps} is the number of Adam steps on the head; the learning rate is
 *   {@link BertHeadTrainer.Config#defaults()}'s.</li>
 *   <li><b>top k layers</b> ({@code 1..12} or {@code all}): {@link BertFineTuner} on fresh + replayed pairs from the
 *   current model (its head is the start): {@code steps} AdamW steps of {@code batchSize} pairs, seed {@code seed},
 *   learning rate {@code retrain.bert.learning.rate}.</li>
 * </ul>
 * {@code auto} (the default) fine-tunes the layers the current model was fine-tuned with (manifest lineage
 * {@code train_layers}), or only the head of a model that never had its backbone trained. Either way the result is
 * re-exported with the training report and a digested manifest. Stateless.
 */
public final class BertRoundTrainer implements RoundTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(BertRoundTrainer.class);
    /** {@code retrain.bert.train.layers} value: follow the model's lineage. */
    public static final String AUTO = "auto";
    private final String trainLayers;
    private final double learningRate;

    /** Head-only rounds (the behaviour before backbone fine-tuning existed). */
    public BertRoundTrainer() {
        this("0", 5e-5);
    }

    /**
     * @param trainLayers  {@value #AUTO}, {@code 0} (head only), {@code 1..12} or {@code all}
     * @param learningRate peak AdamW learning rate of backbone rounds
     */
    public BertRoundTrainer(String trainLayers, double learningRate) {
        parseLayers(trainLayers);
        if (!(learningRate > 0)) {
            throw new IllegalArgumentException("BERT learning rate must be > 0, got " + learningRate);
        }
        this.trainLayers = trainLayers.trim();
        this.learningRate = learningRate;
    }

    /**
     * Validates a {@code retrain.bert.train.layers} value: null for {@value #AUTO}, 0 for head only, else the layers.
     *
     * @throws IllegalArgumentException for anything else
     */
    public static Integer parseLayers(String v) {
        String s = v == null ? "" : v.trim();
        if (s.equalsIgnoreCase(AUTO)) {
            return null;
        }
        if (s.equals("0")) {
            return 0;
        }
        int k = BertFineTuner.Config.parseLayers(s);
        if (k != BertTrainGraph.ALL && (k < 1 || k > BertTrainGraph.LAYERS)) {
            throw new IllegalArgumentException("BERT train layers must be auto, 0 (head only), 1.." + BertTrainGraph.LAYERS
                    + " or all, got '" + v + "'");
        }
        return k;
    }

    /** True when {@code modelDir} holds a BERT reward model this trainer handles. */
    public static boolean handles(Path modelDir) {
        try {
            return "wordpiece".equals(ModelManifest.read(modelDir).tokenizer())
                    && Files.isRegularFile(modelDir.resolve(LinearHead.FILE));
        } catch (IOException e) {
            return false;
        }
    }

    /** A trainer that sends BERT models here (head-only rounds) and every other model to {@code other}. */
    public static RoundTrainer orElse(RoundTrainer other) {
        return new BertRoundTrainer().orElseTo(other);
    }

    /** This trainer for BERT models, {@code other} for every other model. */
    public RoundTrainer orElseTo(RoundTrainer other) {
        return (in, target, stop) -> handles(in.currentDir()) ? train(in, target, stop) : other.train(in, target, stop);
    }

    /** The layers a round trains for the model in {@code dir}: 0 = head only, else 1..12 or ALL. */
    int layersFor(ModelManifest m) {
        Integer k = parseLayers(trainLayers);
        if (k != null) {
            return k;
        }
        String lineage = m.lineage().get("train_layers");
        return lineage == null ? 0 : BertFineTuner.Config.parseLayers(lineage);
    }

    @Override
    public Output train(Input in, Path target, BooleanSupplier stop) throws IOException {
        RoundTrainer.checkRound(in, target);
        if (!handles(in.currentDir())) {
            throw new IOException(in.currentDir() + " is not a BERT reward model (needs tokenizer wordpiece and "
                    + LinearHead.FILE + ")");
        }
        long t0 = System.nanoTime();
        ModelManifest old = ModelManifest.read(in.currentDir());
        int layers = layersFor(old);
        if (layers != 0) {
            return trainLayers(in, target, stop, old, layers);
        }
        LinearHead start = LinearHead.read(in.currentDir());
        try (BertBackbone backbone = BertBackbone.open(in.currentDir())) {
            BertFeatures features = new BertFeatures(backbone, BertFeatures.defaultDir());
            EvalMetrics current = EvalMetrics.evaluate(BertHeadTrainer.scorer(features, start), in.heldOut());
            List<PreferenceExample> pairs = new ArrayList<>(in.fresh());
            pairs.addAll(in.old());
            float[][][] f = BertHeadTrainer.pairFeatures(features, pairs);
            List<RankedExample> rankings = new ArrayList<>(in.freshRanked());
            rankings.addAll(in.oldRanked());
            float[][][] rf = BertHeadTrainer.rankedFeatures(features, rankings);
            if (stop.getAsBoolean()) {
                throw new Interrupted("round stopped after feature extraction");
            }
            BertHeadTrainer.Config d = BertHeadTrainer.Config.defaults();
            List<Double> losses = new ArrayList<>();
            LinearHead head = BertHeadTrainer.fit(f[0], f[1], BertHeadTrainer.margins(pairs), rf,
                    new BertHeadTrainer.Config(in.steps(), d.learningRate(), d.l2()), start, losses);
            EvalMetrics candidate = EvalMetrics.evaluate(BertHeadTrainer.scorer(features, head), in.heldOut());
            if (stop.getAsBoolean()) {
                throw new Interrupted("round stopped before export");
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            List<TrainingResult.EvalPoint> curve = List.of(
                    new TrainingResult.EvalPoint(0, Double.NaN, current.loss(), current.accuracy()),
                    new TrainingResult.EvalPoint(in.steps(), losses.get(losses.size() - 1), candidate.loss(),
                            candidate.accuracy()));
            TrainingResult tr = new TrainingResult(losses, curve, candidate, secs, pairs.size() + rankings.size());
            // full batch: every step sees every pair (Bradley-Terry) and every ranking (Plackett-Luce)
            Map<String, Double> stats = new LinkedHashMap<>();
            stats.put(BT_STEPS, pairs.isEmpty() ? 0.0 : in.steps());
            stats.put(PL_STEPS, rankings.isEmpty() ? 0.0 : in.steps());
            stats.put(BT_EXAMPLES, (double) pairs.size() * in.steps());
            stats.put(PL_EXAMPLES, (double) rankings.size() * in.steps());
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("fine_tuned_from", old.modelVersion());
            summary.put("backbone", BertBackbone.ID + " (frozen)");
            summary.put("head_steps", in.steps());
            summary.put("new_pairs", in.fresh().size());
            summary.put("replayed_pairs", in.old().size());
            summary.put("new_rankings", in.freshRanked().size());
            summary.put("replayed_rankings", in.oldRanked().size());
            summary.put("held_out_pairs", in.heldOut().size());
            current.asMap().forEach((k, v) -> summary.put("current." + k, v));
            candidate.asMap().forEach((k, v) -> summary.put("candidate." + k, v));
            summary.putAll(in.summary());
            Files.createDirectories(target);
            TrainingReport.write(target, tr, summary);   // before the export: the manifest digests the report too
            Map<String, String> lineage = new LinkedHashMap<>(old.lineage());
            lineage.put("fine_tuned_from", old.modelVersion());
            lineage.put("fine_tune_steps", Integer.toString(in.steps()));
            ModelManifest m = BertHeadTrainer.export(in.currentDir(), head, target, old.version() + 1, old.version(),
                    candidate, lineage);
            LOG.info("BERT head round in {} s: current {} | candidate {}", String.format("%.1f", secs), current,
                    candidate);
            return new Output(current, candidate, tr, m, stats);
        }
    }

    /** A round that fine-tunes the top {@code layers} encoder layers, the pooler and the head. */
    private Output trainLayers(Input in, Path target, BooleanSupplier stop, ModelManifest old, int layers)
            throws IOException {
        List<PreferenceExample> pairs = new ArrayList<>(in.fresh());
        pairs.addAll(in.old());
        if (in.hasRankings()) {
            // the layer fine-tuner trains pairs only: the rankings go in as their implied Bradley-Terry pairs (they
            // used to be left out while their offsets were committed; a round of rankings alone failed every retry)
            int n = in.freshRanked().size() + in.oldRanked().size();
            for (RankedExample r : in.freshRanked()) {
                pairs.addAll(r.impliedPairs());
            }
            for (RankedExample r : in.oldRanked()) {
                pairs.addAll(r.impliedPairs());
            }
            LOG.warn("BERT layer fine-tuning trains {} rankings as their implied Bradley-Terry pairs", n);
        }
        if (pairs.isEmpty()) {
            throw new IllegalStateException("nothing to train: no pairs and no rankings");
        }
        int batch = Math.min(in.batchSize(), pairs.size());
        int epochs = Math.max(1, (int) Math.ceil((double) in.steps() * batch / pairs.size()));
        BertFineTuner.Config cfg = BertFineTuner.Config.defaults().withTrainLayers(layers)
                .withSchedule(epochs, batch, learningRate, in.seed(), in.steps());
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("fine_tuned_from", old.modelVersion());
        summary.put("new_pairs", in.fresh().size());
        summary.put("replayed_pairs", in.old().size());
        summary.putAll(in.summary());
        Map<String, String> lineage = new LinkedHashMap<>(old.lineage());
        lineage.put("fine_tuned_from", old.modelVersion());
        BertFineTuner.Result r = BertFineTuner.fineTune(in.currentDir(), pairs, in.heldOut(), cfg, target,
                old.version() + 1, old.version(), lineage, summary, stop);
        LOG.info("BERT round ({} layers) in {} s, {} pairs/s: current {} | candidate {}", cfg.layersLabel(),
                String.format("%.1f", r.training().seconds()), String.format("%.2f", r.pairsPerSecond()), r.probe(),
                r.heldOut());
        return new Output(r.probe(), r.heldOut(), r.training(), r.manifest());
    }
}
