package io.rewardstream.training;

/**
 * Optimisation settings. Immutable.
 *
 * <p>Adam with linear warm-up over {@code warmupSteps} to {@code learningRate}, then cosine decay to
 * {@code learningRate * minLrFraction} at {@code steps}; after that (e.g. {@code train_step} calls on a
 * reloaded model) the rate stays at the floor. Gradients are clipped to global norm {@code clipNorm}.
 * {@code centerRewardsCoefficient} adds {@code c * mean((r_c + r_r)^2)} as in TRL's reward trainer.
 * {@code seed} fixes initialisation and data order; runs are still not bit-exact, because TensorFlow's
 * threaded CPU kernels sum in a non-deterministic order.
 */
public record TrainConfig(int steps, int batchSize, double learningRate, int warmupSteps, double minLrFraction,
                          double clipNorm, double centerRewardsCoefficient, long seed, int evalEvery,
                          boolean progress) {
    public TrainConfig {
        if (steps < 1) {
            throw new IllegalArgumentException("train: steps must be >= 1, got " + steps);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("train: batch_size must be >= 1, got " + batchSize);
        }
        if (!(learningRate > 0)) {
            throw new IllegalArgumentException("train: learning_rate must be > 0, got " + learningRate);
        }
        if (warmupSteps < 0 || minLrFraction < 0 || minLrFraction > 1 || !(clipNorm > 0)
                || centerRewardsCoefficient < 0) {
            throw new IllegalArgumentException("train: warmup >= 0, 0 <= min_lr_fraction <= 1, clip_norm > 0, "
                    + "center_rewards_coefficient >= 0 required");
        }
        if (evalEvery < 0) {
            throw new IllegalArgumentException("train: eval_every must be >= 0, got " + evalEvery);
        }
    }

    /** Defaults for a size: steps and learning rate chosen to reach the arithmetic targets. */
    public static TrainConfig defaults(ModelSize size) {
        return switch (size) {
            case TINY -> new TrainConfig(300, 32, 3e-3, 30, 0.1, 1.0, 0.0, 42, 50, true);
            case SMALL -> new TrainConfig(2000, 32, 1e-3, 100, 0.1, 1.0, 0.0, 42, 200, true);
            case BASE -> new TrainConfig(4000, 32, 3e-4, 200, 0.1, 1.0, 0.0, 42, 400, true);
        };
    }

    public TrainConfig withSteps(int n) {
        return new TrainConfig(n, batchSize, learningRate, Math.min(warmupSteps, Math.max(1, n / 10)),
                minLrFraction, clipNorm, centerRewardsCoefficient, seed, Math.max(1, Math.min(evalEvery, n)), progress);
    }

    public TrainConfig withSeed(long s) {
        return new TrainConfig(steps, batchSize, learningRate, warmupSteps, minLrFraction, clipNorm,
                centerRewardsCoefficient, s, evalEvery, progress);
    }

    public TrainConfig withProgress(boolean p) {
        return new TrainConfig(steps, batchSize, learningRate, warmupSteps, minLrFraction, clipNorm,
                centerRewardsCoefficient, seed, evalEvery, p);
    }

    public TrainConfig withLearningRate(double lr) {
        return new TrainConfig(steps, batchSize, lr, warmupSteps, minLrFraction, clipNorm,
                centerRewardsCoefficient, seed, evalEvery, progress);
    }

    public TrainConfig withCenterRewardsCoefficient(double c) {
        return new TrainConfig(steps, batchSize, learningRate, warmupSteps, minLrFraction, clipNorm, c, seed,
                evalEvery, progress);
    }
}
