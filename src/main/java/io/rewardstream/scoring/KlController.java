package io.rewardstream.scoring;

/**
 * The KL coefficient beta: fixed, or adaptive after Ziegler et al. (2019): after each window of
 * {@code n} rewards with mean sequence KL {@code K},
 * {@code beta = beta * (1 + clip(K / target - 1, -0.2, 0.2) * n / horizon)}.
 *
 * <p>Stateless itself (all state is in the immutable {@link KlControllerState} the caller persists);
 * thread-safe. Usage: use {@code state.beta()} for a reward, then {@code state = observe(state, kl)}.
 */
public final class KlController {

    /** Bound on the proportional error, as in Ziegler et al. */
    public static final double ERROR_CLIP = 0.2;

    private final ShapingConfig.ControllerType type;
    private final double initialBeta;
    private final double target;
    private final long horizon;
    private final int window;

    public KlController(ShapingConfig config) {
        this(config.klController(), config.klCoef(), config.klTarget(), config.klHorizon(), config.klWindow());
    }

    /** @throws IllegalArgumentException on a non-positive target, horizon or window, or a negative beta */
    public KlController(ShapingConfig.ControllerType type, double initialBeta, double target, long horizon, int window) {
        if (type == null) {
            throw new IllegalArgumentException("KL controller type is required");
        }
        if (!Double.isFinite(initialBeta) || initialBeta < 0) {
            throw new IllegalArgumentException("KL controller: beta must be finite and >= 0, got " + initialBeta);
        }
        if (!Double.isFinite(target) || target <= 0 || horizon <= 0 || window <= 0 || window > horizon) {
            throw new IllegalArgumentException("KL controller: need target > 0, horizon > 0, 0 < window <= horizon; got target="
                    + target + " horizon=" + horizon + " window=" + window);
        }
        this.type = type;
        this.initialBeta = initialBeta;
        this.target = target;
        this.horizon = horizon;
        this.window = window;
    }

    /** The state before any reward. */
    public KlControllerState initial() {
        return KlControllerState.initial(initialBeta);
    }

    /**
     * The state after one more reward with sequence KL {@code sequenceKl}. A fixed controller returns
     * {@code state} unchanged; an adaptive one adds it to the window and updates beta when the window is full.
     *
     * @throws IllegalArgumentException when {@code sequenceKl} is not finite
     */
    public KlControllerState observe(KlControllerState state, double sequenceKl) {
        if (!Double.isFinite(sequenceKl)) {
            throw new IllegalArgumentException("KL controller: sequence KL must be finite, got " + sequenceKl);
        }
        if (type == ShapingConfig.ControllerType.FIXED) {
            return state;
        }
        long count = state.count() + 1;
        double sum = state.klSum() + sequenceKl;
        if (count < window) {
            return new KlControllerState(state.beta(), count, sum);
        }
        double meanKl = sum / count;
        double error = Math.max(-ERROR_CLIP, Math.min(ERROR_CLIP, meanKl / target - 1.0));
        double beta = state.beta() * (1.0 + error * count / horizon);
        return new KlControllerState(beta, 0, 0.0);
    }

    /**
     * The shared controller's first half: adds {@code rewards} rewards whose sequence KL sums to {@code klSum} to the
     * open window, without touching beta (a fixed controller returns {@code state}). Beta changes only in
     * {@link #closeWindow}, so the caller decides WHEN beta may change (the scorer: at most once per controller period,
     * which is what keeps every task within one update of the others).
     *
     * @throws IllegalArgumentException when {@code rewards < 0} or {@code klSum} is not finite
     */
    public KlControllerState accumulate(KlControllerState state, long rewards, double klSum) {
        if (rewards < 0 || !Double.isFinite(klSum)) {
            throw new IllegalArgumentException("KL controller: need rewards >= 0 and a finite KL sum, got " + rewards
                    + " and " + klSum);
        }
        if (type == ShapingConfig.ControllerType.FIXED || rewards == 0) {
            return state;
        }
        return new KlControllerState(state.beta(), state.count() + rewards, state.klSum() + klSum);
    }

    /**
     * The shared controller's second half: when the open window holds at least {@code window} rewards, the Ziegler
     * update with n = all of them ({@code beta * (1 + clip(K / target - 1, -0.2, 0.2) * n / horizon)}, n capped at
     * horizon so the factor stays positive) and an empty window; otherwise {@code state} unchanged.
     */
    public KlControllerState closeWindow(KlControllerState state) {
        if (type == ShapingConfig.ControllerType.FIXED || state.count() < window) {
            return state;
        }
        double error = Math.max(-ERROR_CLIP, Math.min(ERROR_CLIP, state.klSum() / state.count() / target - 1.0));
        double beta = state.beta() * (1.0 + error * Math.min(state.count(), horizon) / horizon);
        return new KlControllerState(beta, 0, 0.0);
    }

    public ShapingConfig.ControllerType type() {
        return type;
    }

    /**
     * Like {@link #observe(KlControllerState, double)} with the reward's KL sum, but rewards flagged
     * {@link RewardFlags#NO_REFERENCE} are skipped: their KL of 0 is not a measurement and would drag beta down.
     */
    public KlControllerState observe(KlControllerState state, ShapedReward reward) {
        return reward.flags().contains(RewardFlags.NO_REFERENCE) ? state : observe(state, reward.klSum());
    }
}
