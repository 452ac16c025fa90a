package io.rewardstream.training;

import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Trains the per-token process head of a {@link BuiltinModel#createWithProcessHead built-in model with a process
 * head} on {@link ArithmeticSteps} problems with per-token binary cross-entropy (one Adam step per batch, the
 * model's own learning-rate schedule). Each row is {@link ArithmeticSteps.Answer#sequence() prompt ++ answer}, the
 * layout the scorer feeds a tokenizer-{@code ids} model, and only the answer's tokens enter the loss (the prompt's
 * positions are never read back by the scorer). The backbone is causal, so the reward at position t depends only
 * on tokens 0..t: a wrong step cannot change the rewards before it. Not thread-safe (training mutates the model).
 */
public final class ProcessRewardTrainer {
    private final BuiltinModel model;

    /** @throws IllegalArgumentException when the model was created without a process head */
    public ProcessRewardTrainer(BuiltinModel model) {
        if (!model.graph().process) {
            throw new IllegalArgumentException("model " + model.config().name()
                    + " has no process head: create it with BuiltinModel.createWithProcessHead");
        }
        this.model = model;
    }

    /**
     * Trains {@code steps} batches of fresh answers of {@code answerSteps} steps, a third of them all correct and
     * the rest with one wrong step at a uniform position; returns the loss of each batch.
     */
    public List<Double> train(int steps, int answerSteps, Random rnd) {
        return train(steps, answerSteps, 3, ArithmeticSteps.MAX_OPERAND, rnd);
    }

    /** As {@link #train(int, int, Random)} with the first {@code opCount} of '+', '-', '*' and operands 1..max. */
    public List<Double> train(int steps, int answerSteps, int opCount, int maxOperand, Random rnd) {
        List<Double> losses = new ArrayList<>(steps);
        ProgressBar bar = new ProgressBar(steps, model.trainConfig().progress());
        for (int s = 1; s <= steps; s++) {
            List<ArithmeticSteps.Answer> batch = new ArrayList<>();
            for (int i = 0; i < model.trainConfig().batchSize(); i++) {
                int wrong = rnd.nextInt(3) == 0 ? -1 : rnd.nextInt(answerSteps);
                batch.add(ArithmeticSteps.generate(rnd, answerSteps, wrong, opCount, maxOperand));
            }
            double loss = step(batch);
            losses.add(loss);
            bar.update(s, loss);
        }
        return losses;
    }

    /** One Adam step on the per-token loss of {@code batch} (answer tokens only); returns the loss before the step. */
    public double step(List<ArithmeticSteps.Answer> batch) {
        List<int[]> ids = new ArrayList<>();
        for (ArithmeticSteps.Answer a : batch) {
            ids.add(a.sequence());
        }
        Batches.Padded p = Batches.pad(ids, 1);
        float[] labels = new float[p.rows() * p.cols()];
        float[] weights = new float[p.rows() * p.cols()];
        for (int r = 0; r < batch.size(); r++) {
            ArithmeticSteps.Answer a = batch.get(r);
            int at = r * p.cols() + a.promptIds().length;
            System.arraycopy(a.labels(), 0, labels, at, a.labels().length);
            Arrays.fill(weights, at, at + a.ids().length, 1f);
        }
        RewardGraph g = model.graph();
        Session session = model.session();
        Shape shape = Shape.of(p.rows(), p.cols());
        try (TInt32 it = p.idsTensor(); TInt32 mt = p.maskTensor();
             TFloat32 lt = TFloat32.tensorOf(shape, DataBuffers.of(labels, true, false));
             TFloat32 wt = TFloat32.tensorOf(shape, DataBuffers.of(weights, true, false));
             Result res = session.runner().feed(g.prmIds, it).feed(g.prmMask, mt).feed(g.prmLabels, lt)
                     .feed(g.prmWeights, wt).fetch(g.prmTrainLoss).run()) {
            return ((TFloat32) res.get(0)).getFloat();
        }
    }

    /**
     * Mean token rewards of the model (served {@code token_rewards}) on {@code n} fresh problems, each answered
     * right and with step {@code wrongStep} wrong (by 1..3): over the answer tokens before the first token that
     * differs, and from there to the end of the shorter answer for the right and the wrong answer.
     */
    public StepRewards measure(int n, int answerSteps, int wrongStep, int opCount, int maxOperand, Random rnd) {
        if (wrongStep < 0 || wrongStep >= answerSteps) {
            throw new IllegalArgumentException("wrong step " + wrongStep + " outside [0," + answerSteps + ")");
        }
        double before = 0;
        double afterRight = 0;
        double afterWrong = 0;
        for (int i = 0; i < n; i++) {
            int start = 1 + rnd.nextInt(maxOperand);
            int[] ops = new int[answerSteps];
            int[] rhs = new int[answerSteps];
            for (int k = 0; k < answerSteps; k++) {
                ops[k] = rnd.nextInt(opCount);
                rhs[k] = 1 + rnd.nextInt(maxOperand);
            }
            int[] off = new int[answerSteps];
            off[wrongStep] = (rnd.nextBoolean() ? 1 : -1) * (1 + rnd.nextInt(3));
            ArithmeticSteps.Answer ok = ArithmeticSteps.build(start, ops, rhs, new int[answerSteps]);
            ArithmeticSteps.Answer bad = ArithmeticSteps.build(start, ops, rhs, off);
            float[][] tr = tokenRewards(List.of(ok, bad));
            int err = 0;
            while (ok.ids()[err] == bad.ids()[err]) {
                err++;
            }
            int common = Math.min(ok.ids().length, bad.ids().length);
            before += mean(tr[0], ok.promptIds().length, 0, err);
            afterRight += mean(tr[0], ok.promptIds().length, err, common);
            afterWrong += mean(tr[1], bad.promptIds().length, err, common);
        }
        return new StepRewards(before / n, afterRight / n, afterWrong / n);
    }

    /**
     * Mean answer-token rewards of {@link #measure}.
     *
     * @param beforeError      right answer, tokens before the wrong step's result
     * @param afterErrorRight  right answer, from that position on
     * @param afterErrorWrong  wrong answer, from that position on
     */
    public record StepRewards(double beforeError, double afterErrorRight, double afterErrorWrong) {
    }

    private static double mean(float[] row, int offset, int from, int to) {
        double s = 0;
        for (int t = from; t < to; t++) {
            s += row[offset + t];
        }
        return to > from ? s / (to - from) : 0;
    }

    /** Served token rewards [rows][T] of the answers' sequences (prompt ++ answer, right-padded). */
    float[][] tokenRewards(List<ArithmeticSteps.Answer> answers) {
        List<int[]> ids = new ArrayList<>();
        for (ArithmeticSteps.Answer a : answers) {
            ids.add(a.sequence());
        }
        Batches.Padded p = Batches.pad(ids, 1);
        RewardGraph g = model.graph();
        try (TInt32 it = p.idsTensor(); TInt32 mt = p.maskTensor();
             Result res = model.session().runner().feed(g.inputIds, it).feed(g.attentionMask, mt)
                     .fetch(g.servingTokenRewards).run()) {
            float[] flat = new float[p.rows() * p.cols()];
            ((TFloat32) res.get(0)).asRawTensor().data().asFloats().read(flat);
            float[][] out = new float[p.rows()][p.cols()];
            for (int r = 0; r < p.rows(); r++) {
                System.arraycopy(flat, r * p.cols(), out[r], 0, p.cols());
            }
            return out;
        }
    }
}
