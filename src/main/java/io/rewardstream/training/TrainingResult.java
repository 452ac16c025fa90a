package io.rewardstream.training;

import java.util.List;

/**
 * What a training run produced. Immutable.
 *
 * @param stepLoss   training loss of every step (before that step's update)
 * @param curve      held-out evaluations during training
 * @param finalEval  held-out evaluation after the last step (null without a held-out set)
 * @param seconds    wall-clock training time
 */
public record TrainingResult(List<Double> stepLoss, List<EvalPoint> curve, EvalMetrics finalEval, double seconds,
                             int trainPairs) {
    public TrainingResult {
        stepLoss = List.copyOf(stepLoss);
        curve = List.copyOf(curve);
    }

    /** One point of the held-out curve. */
    public record EvalPoint(int step, double trainLoss, double evalLoss, double evalAccuracy) {
    }
}
