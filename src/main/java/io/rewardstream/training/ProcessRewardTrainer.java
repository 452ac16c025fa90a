package io.rewardstream.training;

import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Trains the per-token process head of a {@link BuiltinModel#createWithProcessHead built-in model with a process
 * head} on {@link ArithmeticSteps} answers with per-token binary cross-entropy (one Adam step per batch, the
 * model's own learning-rate schedule). The backbone is causal, so the reward at position t depends only on tokens
 * 0..t: a wrong step cannot change the rewards before it. Not thread-safe (training mutates the model).
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

    /** One Adam step on the per-token loss of {@code batch}; returns the loss before the step. */
    public double step(List<ArithmeticSteps.Answer> batch) {
        List<int[]> ids = new ArrayList<>();
        for (ArithmeticSteps.Answer a : batch) {
            ids.add(a.ids());
        }
        Batches.Padded p = Batches.pad(ids, 1);
        float[] labels = new float[p.rows() * p.cols()];
        for (int r = 0; r < batch.size(); r++) {
            float[] l = batch.get(r).labels();
            System.arraycopy(l, 0, labels, r * p.cols(), l.length);
        }
        RewardGraph g = model.graph();
        Session session = model.session();
        try (TInt32 it = p.idsTensor(); TInt32 mt = p.maskTensor();
             TFloat32 lt = TFloat32.tensorOf(Shape.of(p.rows(), p.cols()), DataBuffers.of(labels, true, false));
             Result res = session.runner().feed(g.prmIds, it).feed(g.prmMask, mt).feed(g.prmLabels, lt)
                     .fetch(g.prmTrainLoss).run()) {
            return ((TFloat32) res.get(0)).getFloat();
        }
    }
}
