package io.rewardstream.training;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.scoring.ModelManifest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * One retraining round, top-down: read the buffer, drop low-agreement label groups, skip or recover what an earlier
 * (crashed) round already released, split new / replayed / held-out pairs, train the candidate from the current
 * release, gate it against the current model on the held-out pairs, then release or reject it and commit the round's
 * offsets (a refused round commits too: its pairs stay in the replay buffer as older pairs).
 *
 * <p>Not thread-safe (the job's loop thread).
 */
final class RoundRunner {
    private static final Logger LOG = LoggerFactory.getLogger(RoundRunner.class);

    /** How a round ended. */
    enum Outcome { RELEASED, REFUSED, SKIPPED, POSTPONED }

    /** The outcome, and the temporary directory to delete if it still exists (null if none was made). */
    record Result(Outcome outcome, Path tmp) {
    }

    private final RetrainConfig cfg;
    private final RoundTrainer trainer;
    private final ReplayBuffer buffer;
    private final PreferenceIngest ingest;
    private final RecoveryPublisher releases;
    private final Counter refused;
    private final AtomicReference<Double> heldOutAccuracy = new AtomicReference<>(Double.NaN);
    private final AtomicReference<Double> agreement = new AtomicReference<>(Double.NaN);
    private final Map<String, AtomicReference<Double>> headAccuracy = new java.util.concurrent.ConcurrentHashMap<>();
    private final MeterRegistry meters;

    RoundRunner(RetrainConfig cfg, RoundTrainer trainer, ReplayBuffer buffer, PreferenceIngest ingest,
                RecoveryPublisher releases, MeterRegistry meters) {
        this.cfg = cfg;
        this.trainer = trainer;
        this.buffer = buffer;
        this.ingest = ingest;
        this.releases = releases;
        this.meters = meters;
        refused = Counter.builder("rewardstream.retrain.rounds").tag("outcome", "refused")
                .description("Retraining rounds by outcome").register(meters);
        meters.gauge("rewardstream.retrain.heldout.accuracy", heldOutAccuracy, AtomicReference::get);
        meters.gauge("rewardstream.retrain.annotator.agreement", agreement, AtomicReference::get);
    }

    /**
     * Runs round {@code n}.
     *
     * @throws RoundTrainer.Interrupted when {@code stopping} turned true mid-round (nothing committed)
     * @throws IOException              when a model or the buffer cannot be read or written
     */
    Result run(int n, BooleanSupplier stopping) throws IOException {
        List<StoredPair> all = buffer.pairs();
        Map<String, Long> offsets = ingest.assignedPositions();
        LOG.info("round {}: starting ({} new pairs, {} in the buffer, offsets {})", n, ingest.newPairs(), all.size(),
                offsets);

        AnnotatorAgreement ag = AnnotatorAgreement.of(all);
        if (ag.groups() > 0) {
            agreement.set(ag.overall());
            LOG.info("round {}: annotator agreement {} over {} multi-label groups; per annotator {}", n,
                    String.format("%.3f", ag.overall()), ag.groups(), ag.perAnnotator());
        }
        List<StoredPair> usable = all;
        if (cfg.annotatorMinAgreement() != null) {
            usable = ag.dropBelow(all, cfg.annotatorMinAgreement());
            LOG.info("round {}: dropped {} pairs whose label group agrees below {}", n, all.size() - usable.size(),
                    cfg.annotatorMinAgreement());
        }
        ModelRelease current = releases.latest();
        if (current != null && RecoveryPublisher.covers(current, offsets)) {
            LOG.info("round {}: release {}:{} already covers offsets {}; skipping a duplicate release", n,
                    current.getModelName(), current.getVersion(), offsets);
            ingest.commit(n, offsets);
            return new Result(Outcome.SKIPPED, null);
        }
        Map<String, Long> recovered = releases.publishUnpublished(n, current);
        if (recovered != null) {
            ingest.commit(n, ingest.onlyAssigned(recovered));
            return new Result(Outcome.RELEASED, null);
        }
        Path currentDir = currentDir(current);
        ModelManifest currentManifest = ModelManifest.read(currentDir);
        String tokenizer = currentManifest.tokenizer();
        // an objective that names no head of the model is left out here, before the postpone check: left out by the
        // trainer instead, it could empty the held-out set after that check and fail the round on every retry
        List<ModelManifest.Head> heads = currentManifest.heads();
        int unknownObjective = 0;
        ReplayBuffer.Partitioned part = ReplayBuffer.partition(usable, ingest.trainedUpTo());
        List<PreferenceExample> fresh = new ArrayList<>();
        List<PreferenceExample> old = new ArrayList<>();
        List<PreferenceExample> heldOut = new ArrayList<>();
        List<RankedExample> freshRanked = new ArrayList<>();
        List<RankedExample> oldRanked = new ArrayList<>();
        int heldOutRanked = 0;
        int noText = 0;
        for (int side = 0; side < 2; side++) {
            for (StoredPair p : side == 0 ? part.fresh() : part.old()) {
                if (!HeadWeights.knows(heads, p.objective())) {
                    unknownObjective++;
                    continue;
                }
                boolean held = Splits.heldOut(p.splitKey(), cfg.heldOutFraction());
                if (p.isRanking()) {
                    // a ranking trains as one Plackett-Luce example; held out, its implied pairs measure accuracy
                    RankedExample r = p.toRanked(tokenizer);
                    if (r == null) {
                        noText++;
                    } else if (held) {
                        heldOut.addAll(r.impliedPairs());
                        heldOutRanked++;
                    } else {
                        (side == 0 ? freshRanked : oldRanked).add(r);
                    }
                    continue;
                }
                PreferenceExample e = p.toExample(tokenizer);
                if (e == null) {
                    noText++;
                    continue;
                }
                if (held) {
                    heldOut.add(e);
                } else {
                    (side == 0 ? fresh : old).add(e);
                }
            }
        }
        if (noText > 0) {
            LOG.warn("round {}: {} pairs/rankings lack what the model's tokenizer '{}' needs (text for bytes, token ids "
                    + "for ids); they are not used", n, noText, tokenizer);
        }
        if (unknownObjective > 0) {
            LOG.warn("round {}: {} pairs/rankings name an objective that is no head of {} (heads {}); they are not used",
                    n, unknownObjective, currentDir, heads.stream().map(ModelManifest.Head::name).toList());
        }
        if ((fresh.isEmpty() && freshRanked.isEmpty()) || heldOut.isEmpty()) {
            LOG.info("round {}: postponed: {} new training pairs, {} new rankings, {} held-out pairs (need new "
                    + "training examples and held-out ones)", n, fresh.size(), freshRanked.size(), heldOut.size());
            return new Result(Outcome.POSTPONED, null);
        }

        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("round", n);
        summary.put("current_model", current == null ? "base " + currentDir : current.getModelName() + ":"
                + current.getVersion());
        ag.asMap().forEach(summary::put);
        offsets.forEach((k, v) -> summary.put("offset." + k, v));
        Path tmp = releases.newTempDir();
        LOG.info("round {}: training from {} ({} new, {} replayed pairs; {} new, {} replayed rankings; {} held-out "
                        + "pairs of which {} rankings imply; {} steps)", n, currentDir, fresh.size(), old.size(),
                freshRanked.size(), oldRanked.size(), heldOut.size(), heldOutRanked, cfg.steps());
        RoundTrainer.Output out = trainer.train(new RoundTrainer.Input(currentDir, fresh, old, heldOut, cfg.steps(),
                cfg.batchSize(), cfg.replayMix(), cfg.learningRate(), cfg.seed() + n, summary, freshRanked, oldRanked),
                tmp, stopping);

        Gate.Decision d = Gate.decide(out.current(), out.candidate(), cfg.gateTolerance(), out.currentHeads(),
                out.candidateHeads());
        LOG.info("round {}: gate: {} -> {}", n, d.reason(), d.release() ? "release" : "refuse");
        Map<String, Double> metrics = new LinkedHashMap<>(out.candidate().asMap());
        metrics.put("score_gap", out.candidate().meanMargin());
        metrics.put("current_accuracy", out.current().accuracy());
        metrics.put("current_loss", out.current().loss());
        metrics.put("train_new_pairs", (double) fresh.size());
        metrics.put("train_replayed_pairs", (double) old.size());
        metrics.put("train_new_rankings", (double) freshRanked.size());
        metrics.put("train_replayed_rankings", (double) oldRanked.size());
        metrics.put("heldout_rankings", (double) heldOutRanked);
        out.stats().forEach(metrics::put);
        // per-objective heads: the release records each head's held-out accuracy (and the current model's)
        HeadWeights.putMetrics(metrics, out.candidateHeads());
        out.currentHeads().forEach((h, m) -> metrics.put("head." + h + ".current_accuracy", m.accuracy()));
        Double combined = out.manifest().metrics().get(SavedModelRoundTrainer.COMBINED_ACCURACY);
        if (combined != null) {
            metrics.put(SavedModelRoundTrainer.COMBINED_ACCURACY, combined);
        }
        ag.asMap().forEach(metrics::put);
        offsets.forEach((k, v) -> metrics.put(RecoveryPublisher.offsetKey(k), v.doubleValue()));
        heldOutAccuracy.set(out.candidate().accuracy());
        out.candidateHeads().forEach((h, m) -> headAccuracy.computeIfAbsent(h, k -> {
            AtomicReference<Double> ref = new AtomicReference<>(Double.NaN);
            meters.gauge("rewardstream.retrain.head.heldout.accuracy", io.micrometer.core.instrument.Tags.of("head", k), ref,
                    AtomicReference::get);
            return ref;
        }).set(m.accuracy()));

        Outcome outcome;
        if (d.release()) {
            long version = releases.nextVersion(current);
            Long parent = current == null ? null : current.getVersion();
            Map<String, String> lineage = new LinkedHashMap<>();
            lineage.put("parent_version", parent == null ? "" : parent.toString());
            lineage.put("parent_location", current == null ? currentDir.toString() : current.getLocation());
            // which release RECORD this round continues: recovery publishes the directory only while that record is
            // still the newest (a rollback is a new record, so a version it rolled back is never re-published)
            lineage.put(RecoveryPublisher.PARENT_RELEASE_CREATED_AT, RecoveryPublisher.createdAt(current));
            offsets.forEach((k, v) -> lineage.put("trained_up_to." + k, v.toString()));
            LOG.info("round {}: releasing {}:{} (parent {})", n, cfg.modelName(), version, parent);
            ModelRelease r = releases.release(n, tmp, version, parent, metrics, lineage, offsets, stopping);
            if (r != null) {
                LOG.info("round {}: published {}:{} at {} with held-out accuracy {} (current {}), score gap {}, "
                                + "length correlation {}", n, r.getModelName(), r.getVersion(), r.getLocation(),
                        fmt(out.candidate().accuracy()), fmt(out.current().accuracy()),
                        fmt(out.candidate().meanMargin()), fmt(out.candidate().lengthCorrelation()));
                outcome = Outcome.RELEASED;
            } else {
                outcome = Outcome.SKIPPED;
            }
        } else {
            Path rej = releases.reject(tmp);
            refused.increment();
            LOG.warn("round {}: rejected candidate kept at {}: {}; candidate {} | current {}. Offsets are committed "
                    + "anyway: the pairs stay in the replay buffer and retraining on them alone would be refused "
                    + "again", n, rej, d.reason(), out.candidate(), out.current());
            outcome = Outcome.REFUSED;
        }
        ingest.commit(n, offsets);
        return new Result(outcome, tmp);
    }

    private Path currentDir(ModelRelease current) {
        if (current != null) {
            return cfg.modelRoot().resolve(current.getLocation()).normalize();
        }
        if (cfg.baseModelDir() != null) {
            return cfg.baseModelDir();
        }
        throw new IllegalStateException("no release of " + cfg.modelName() + " on " + cfg.releasesTopic()
                + " and no " + RetrainConfig.BASE_MODEL + " configured");
    }

    private static String fmt(double v) {
        return String.format("%.4f", v);
    }
}
