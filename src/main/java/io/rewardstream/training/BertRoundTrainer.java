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
 * {@link RoundTrainer} for BERT reward models ({@link BertHeadTrainer} exports, manifest tokenizer
 * {@code wordpiece}): the backbone stays frozen; the head is re-fit on fresh + replayed pairs (full batch, so
 * {@code mix} and {@code batchSize} do not apply) from cached features, starting from and regularised towards the
 * current head (pairs with Bradley-Terry, rankings with Plackett-Luce, in one loss), then backbone + new head are re-exported with the training report and a digested manifest.
 * {@code steps} is the number of Adam steps on the head; {@code learningRate} is ignored (it is tuned for the
 * built-in model's train_step): the head uses {@link BertHeadTrainer.Config#defaults()}. Stateless.
 */
public final class BertRoundTrainer implements RoundTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(BertRoundTrainer.class);

    /** True when {@code modelDir} holds a BERT reward model this trainer handles. */
    public static boolean handles(Path modelDir) {
        try {
            return "wordpiece".equals(ModelManifest.read(modelDir).tokenizer())
                    && Files.isRegularFile(modelDir.resolve(LinearHead.FILE));
        } catch (IOException e) {
            return false;
        }
    }

    /** A trainer that sends BERT models here and every other model to {@code other}. */
    public static RoundTrainer orElse(RoundTrainer other) {
        BertRoundTrainer bert = new BertRoundTrainer();
        return (in, target, stop) -> handles(in.currentDir()) ? bert.train(in, target, stop) : other.train(in, target, stop);
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
}
