package io.rewardstream.scoring;

/**
 * A sliding window over recent rewards (the last {@code windowMs}, at most {@code capacity} of them) with the statistics
 * the over-optimization monitors plot: reward mean and spread (negative rewards included, unlike a Micrometer
 * DistributionSummary, which drops them), mean sequence KL, length-reward correlation and mean uncertainty.
 *
 * <p>Thread-safe (synchronized): stream threads add, the metrics scrape reads. O(capacity) per {@link #stats} call.
 */
public final class RewardWindow {

    /**
     * Statistics of the rewards in the window (NaN where undefined).
     *
     * @param count                   rewards in the window
     * @param rewardMean              mean reward
     * @param rewardStd               population std of the rewards (the spread; 0 for one reward)
     * @param klMean                  mean sequence KL
     * @param lengthRewardCorrelation Pearson correlation of response length (tokens) and reward; NaN below two rewards
     *                                or when either is constant
     * @param uncertaintyMean         mean uncertainty of the rewards that have one; NaN when none has
     */
    public record Stats(int count, double rewardMean, double rewardStd, double klMean, double lengthRewardCorrelation,
                        double uncertaintyMean) {
        static final Stats EMPTY = new Stats(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }

    private final long windowMs;
    private final long[] at;
    private final double[] reward;
    private final double[] kl;
    private final double[] length;
    private final double[] uncertainty;
    private int head; // index of the oldest
    private int size;

    /** @throws IllegalArgumentException unless windowMs >= 1 and capacity >= 2 */
    public RewardWindow(long windowMs, int capacity) {
        if (windowMs < 1 || capacity < 2) {
            throw new IllegalArgumentException("reward window: need windowMs >= 1 and capacity >= 2, got " + windowMs
                    + " and " + capacity);
        }
        this.windowMs = windowMs;
        this.at = new long[capacity];
        this.reward = new double[capacity];
        this.kl = new double[capacity];
        this.length = new double[capacity];
        this.uncertainty = new double[capacity];
    }

    /** Adds one reward (the oldest is dropped when full). @param uncertainty null when the model has none */
    public synchronized void add(long nowMs, double reward, double kl, int responseLength, Double uncertainty) {
        int i;
        if (size == at.length) {
            i = head;
            head = (head + 1) % at.length;
        } else {
            i = (head + size) % at.length;
            size++;
        }
        at[i] = nowMs;
        this.reward[i] = reward;
        this.kl[i] = kl;
        this.length[i] = responseLength;
        this.uncertainty[i] = uncertainty == null ? Double.NaN : uncertainty;
    }

    /** Drops what is older than {@code nowMs - windowMs}, then the statistics of the rest. */
    public synchronized Stats stats(long nowMs) {
        evict(nowMs);
        if (size == 0) {
            return Stats.EMPTY;
        }
        double sr = 0;
        double sk = 0;
        double sl = 0;
        double su = 0;
        int nu = 0;
        for (int k = 0; k < size; k++) {
            int i = (head + k) % at.length;
            sr += reward[i];
            sk += kl[i];
            sl += length[i];
            if (!Double.isNaN(uncertainty[i])) {
                su += uncertainty[i];
                nu++;
            }
        }
        double mr = sr / size;
        double ml = sl / size;
        double vr = 0;
        double vl = 0;
        double cov = 0;
        for (int k = 0; k < size; k++) {
            int i = (head + k) % at.length;
            double dr = reward[i] - mr;
            double dl = length[i] - ml;
            vr += dr * dr;
            vl += dl * dl;
            cov += dr * dl;
        }
        double corr = size < 2 || vr == 0 || vl == 0 ? Double.NaN : cov / Math.sqrt(vr * vl);
        return new Stats(size, mr, Math.sqrt(vr / size), sk / size, corr, nu == 0 ? Double.NaN : su / nu);
    }

    /** Whether the window holds nothing newer than {@code nowMs - windowMs}. */
    public synchronized boolean isIdle(long nowMs) {
        evict(nowMs);
        return size == 0;
    }

    private void evict(long nowMs) {
        while (size > 0 && at[head] < nowMs - windowMs) {
            head = (head + 1) % at.length;
            size--;
        }
    }
}
