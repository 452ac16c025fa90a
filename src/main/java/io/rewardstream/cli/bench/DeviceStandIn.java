package io.rewardstream.cli.bench;

import io.rewardstream.scoring.ConstantRewardModel;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.ModelOutput;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.SequenceEncoder;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * BENCH STAND-IN for an accelerator-backed reward model: each call occupies ONE device for {@code a + b x padded
 * tokens} and holds no CPU meanwhile (the calling thread parks), like a GPU kernel the host waits on. Calls from
 * several threads queue for the device (a fair lock), so concurrency buys no extra device time: only overlapping the
 * device with the host's Kafka work can help. Scores are a constant (the null model's). Records every call's shape so
 * the same shapes can be replayed alone. Thread-safe.
 */
final class DeviceStandIn implements RewardModel {
    /** One call's shape. */
    record Shape(int rows, int paddedLength) {
        long paddedTokens() {
            return (long) rows * paddedLength;
        }
    }

    private final ConstantRewardModel scores;
    private final long callNanos;
    private final double nanosPerPaddedToken;
    private final ReentrantLock device = new ReentrantLock(true);
    private final List<Shape> calls = new ArrayList<>();

    DeviceStandIn(ModelManifest manifest, long callNanos, double nanosPerPaddedToken) {
        this.scores = new ConstantRewardModel(manifest, 0.5f);
        this.callNanos = callNanos;
        this.nanosPerPaddedToken = nanosPerPaddedToken;
    }

    long callNanos() {
        return callNanos;
    }

    double nanosPerPaddedToken() {
        return nanosPerPaddedToken;
    }

    long busyNanos(Shape s) {
        return callNanos + Math.round(nanosPerPaddedToken * s.paddedTokens());
    }

    @Override
    public ModelManifest manifest() {
        return scores.manifest();
    }

    @Override
    public SequenceEncoder encoder() {
        return scores.encoder();
    }

    @Override
    public ModelOutput score(PaddedBatch batch) {
        Shape s = new Shape(batch.rows(), batch.paddedLength());
        occupy(s);
        synchronized (calls) {
            calls.add(s);
        }
        return scores.score(batch);
    }

    /** Holds the device for one call of shape {@code s} (parked: no CPU). */
    void occupy(Shape s) {
        device.lock();
        try {
            long end = System.nanoTime() + busyNanos(s);
            for (long left = end - System.nanoTime(); left > 0; left = end - System.nanoTime()) {
                LockSupport.parkNanos(left);
            }
        } finally {
            device.unlock();
        }
    }

    /** The shapes of every call so far, in call order. */
    List<Shape> calls() {
        synchronized (calls) {
            return List.copyOf(calls);
        }
    }

    /** Rows per second of the device alone replaying {@code shapes} back to back (one caller, measured). */
    double aloneRowsPerSecond(List<Shape> shapes) {
        long rows = 0;
        long t0 = System.nanoTime();
        for (Shape s : shapes) {
            occupy(s);
            rows += s.rows();
        }
        return rows / ((System.nanoTime() - t0) / 1e9);
    }

    @Override
    public void close() {
        scores.close();
    }
}
