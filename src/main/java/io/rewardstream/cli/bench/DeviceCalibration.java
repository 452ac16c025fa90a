package io.rewardstream.cli.bench;

import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.BatchingConfig;
import io.rewardstream.scoring.ConstantRewardModel;
import io.rewardstream.scoring.EncodedSequence;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.ScoringInput;
import io.rewardstream.scoring.ScoringPipeline;
import io.rewardstream.scoring.ShapingConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Calibrates the {@link DeviceStandIn} on the call shapes the scorer's planner makes. Stateless. */
final class DeviceCalibration {
    private DeviceCalibration() {
    }

    /** Call shapes the scorer's planner makes for {@code rollouts} in flushes of {@code batching.maxSize()}. */
    static List<DeviceStandIn.Shape> plannedShapes(RewardModel model, List<Rollout> rollouts, BatchingConfig batching) {
        ScoringPipeline pipeline = ScoringPipeline.forModel(model, ScoringPipeline.Settings.of(ShapingConfig.defaults(),
                batching));
        List<DeviceStandIn.Shape> out = new ArrayList<>();
        for (int from = 0; from < rollouts.size(); from += batching.maxSize()) {
            List<EncodedSequence> chunk = new ArrayList<>();
            for (Rollout r : rollouts.subList(from, Math.min(rollouts.size(), from + batching.maxSize()))) {
                chunk.add(pipeline.encode(ScoringInput.partsOf(r)));
            }
            for (PaddedBatch b : pipeline.planner().plan(chunk).batches()) {
                out.add(new DeviceStandIn.Shape(b.rows(), b.paddedLength()));
            }
        }
        return out;
    }

    /**
     * A device stand-in whose time alone on the planner's flushes of 64 gives {@code targetPerSecond} rollouts/s:
     * a quarter of that time is per-call overhead, three quarters proportional to padded tokens.
     */
    static DeviceStandIn calibrateDevice(Path modelDir, List<Rollout> rollouts, double targetPerSecond)
            throws Exception {
        io.rewardstream.scoring.ModelManifest manifest = io.rewardstream.scoring.ModelManifest.read(modelDir);
        List<DeviceStandIn.Shape> shapes;
        try (RewardModel probe = new ConstantRewardModel(manifest, 0.5f)) {
            shapes = plannedShapes(probe, rollouts, BatchingConfig.DEFAULTS);
        }
        double totalNanos = rollouts.size() / targetPerSecond * 1e9;
        long padded = shapes.stream().mapToLong(DeviceStandIn.Shape::paddedTokens).sum();
        long callNanos = Math.round(0.25 * totalNanos / shapes.size());
        double perToken = 0.75 * totalNanos / padded;
        return new DeviceStandIn(manifest, callNanos, perToken);
    }
}
