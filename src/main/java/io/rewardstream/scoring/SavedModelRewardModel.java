package io.rewardstream.scoring;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.DeviceStepStats;
import org.tensorflow.proto.RunMetadata;
import org.tensorflow.proto.RunOptions;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A reward model backed by a TensorFlow SavedModel, calling its {@code serving_default} signature through
 * the tensor names the SignatureDef declares. Obtain one from {@link ModelLoader#load}, which validates the
 * directory and the signature first.
 *
 * <p>Thread-safe: one {@link Session} is shared by all threads (TF sessions are thread-safe). Every Tensor
 * and Result is closed in try-with-resources. Owned by the caller (normally a {@link ModelHolder}); close
 * it only when no call is in flight.
 */
public final class SavedModelRewardModel implements RewardModel {
    private static final Logger LOG = LoggerFactory.getLogger(SavedModelRewardModel.class);

    /** Tensor names resolved from the SignatureDef, e.g. {@code input_ids:0}. */
    record Binding(String inputIds, String attentionMask, String reward, String rewards, String rewardStd,
                   String tokenRewards) {
        Binding(String inputIds, String attentionMask, String reward, String rewards) {
            this(inputIds, attentionMask, reward, rewards, null, null);
        }
    }

    private final SavedModelBundle bundle;
    private final Session session;
    private final ModelManifest manifest;
    private final Binding binding;
    private final SequenceEncoder encoder;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile List<String> devicesUsed = List.of();

    /** @param encoder the model's encoder, owned by this model from now on */
    SavedModelRewardModel(SavedModelBundle bundle, ModelManifest manifest, Binding binding, SequenceEncoder encoder) {
        this.encoder = Objects.requireNonNull(encoder, "encoder");
        this.bundle = Objects.requireNonNull(bundle, "bundle");
        this.session = bundle.session();
        this.manifest = Objects.requireNonNull(manifest, "manifest");
        this.binding = Objects.requireNonNull(binding, "binding");
    }

    @Override
    public ModelManifest manifest() {
        return manifest;
    }

    /** The encoder loaded from this model's directory; closed with the model. */
    @Override
    public SequenceEncoder encoder() {
        return encoder;
    }

    /** Devices the first (traced) call ran on, e.g. {@code /job:localhost/replica:0/task:0/device:CPU:0}. */
    public List<String> devicesUsed() {
        return devicesUsed;
    }

    @Override
    public ModelOutput score(PaddedBatch batch) {
        return call(batch, false);
    }

    /** One traced call on a [1, min(8, max_seq_len)] batch: records and returns the devices it ran on. */
    List<String> probeDevices() {
        int t = Math.min(8, manifest.maxSeqLen());
        int[] ids = new int[t];
        java.util.Arrays.fill(ids, manifest.padId());
        call(PaddedBatch.of(new int[][]{ids}, new int[]{0}, t, manifest.padId()), true);
        return devicesUsed;
    }

    private ModelOutput call(PaddedBatch batch, boolean trace) {
        if (closed.get()) {
            throw new IllegalStateException("model " + modelVersion() + " is closed");
        }
        int rows = batch.rows();
        int t = batch.paddedLength();
        try (TInt32 ids = TInt32.tensorOf(Shape.of(rows, t), DataBuffers.of(flatten(batch.ids(), t), true, false));
             TInt32 mask = TInt32.tensorOf(Shape.of(rows, t), DataBuffers.of(flatten(batch.mask(), t), true, false))) {
            Session.Runner runner = session.runner()
                    .feed(binding.inputIds(), ids)
                    .feed(binding.attentionMask(), mask)
                    .fetch(binding.reward());
            if (binding.rewards() != null) {
                runner.fetch(binding.rewards());
            }
            if (binding.rewardStd() != null) {
                runner.fetch(binding.rewardStd());
            }
            if (binding.tokenRewards() != null) {
                runner.fetch(binding.tokenRewards());
            }
            if (trace) {
                runner.setOptions(RunOptions.newBuilder().setTraceLevel(RunOptions.TraceLevel.SOFTWARE_TRACE).build());
            }
            try (Result result = trace ? runner.runAndFetchMetadata() : runner.run()) {
                if (trace) {
                    devicesUsed = devices(result.getMetadata().orElse(null));
                }
                float[] reward = readReward(result.get(0), rows);
                int next = 1;
                float[][] heads = binding.rewards() == null ? null : readHeads(result.get(next++), rows);
                float[] std = binding.rewardStd() == null ? null : readStd(result.get(next++), rows);
                float[][] tokens = binding.tokenRewards() == null ? null : readTokenRewards(result.get(next), rows, t);
                return new ModelOutput(reward, heads, std, tokens);
            }
        } catch (ModelScoringException e) {
            throw e;
        } catch (RuntimeException e) {
            if (closed.get()) {
                throw new IllegalStateException("model " + modelVersion() + " was closed during a call", e);
            }
            throw new ModelScoringException("model " + modelVersion() + " failed on a [" + rows + "," + t
                    + "] batch: " + e.getMessage(), e);
        }
    }

    private float[] readReward(Tensor tensor, int rows) {
        Shape s = tensor.shape();
        boolean ok = (s.numDimensions() == 1 && s.size(0) == rows)
                || (s.numDimensions() == 2 && s.size(0) == rows && s.size(1) == 1);
        if (!ok || !(tensor instanceof TFloat32 f)) {
            throw new ModelScoringException("model " + modelVersion() + " output 'reward' is " + tensor.dataType()
                    + " " + s + " for " + rows + " rows; the contract needs FLOAT [" + rows + "] or [" + rows + ",1]");
        }
        float[] out = new float[rows];
        f.copyTo(DataBuffers.of(out, false, false));
        return out;
    }

    /** reward_std: [B] or [B,1]; a negative or non-finite value is refused per row later (RowStages). */
    private float[] readStd(Tensor tensor, int rows) {
        Shape s = tensor.shape();
        boolean ok = (s.numDimensions() == 1 && s.size(0) == rows)
                || (s.numDimensions() == 2 && s.size(0) == rows && s.size(1) == 1);
        if (!ok || !(tensor instanceof TFloat32 f)) {
            throw new ModelScoringException("model " + modelVersion() + " output 'reward_std' is " + tensor.dataType()
                    + " " + s + " for " + rows + " rows; the contract needs FLOAT [" + rows + "] or [" + rows + ",1]");
        }
        float[] out = new float[rows];
        f.copyTo(DataBuffers.of(out, false, false));
        return out;
    }

    /** Whether this model serves {@code reward_std} (an exported ensemble). */
    public boolean servesUncertainty() {
        return binding.rewardStd() != null;
    }

    private float[][] readHeads(Tensor tensor, int rows) {
        Shape s = tensor.shape();
        int h = manifest.heads().size();
        if (s.numDimensions() != 2 || s.size(0) != rows || s.size(1) != h || !(tensor instanceof TFloat32 f)) {
            throw new ModelScoringException("model " + modelVersion() + " output 'rewards' is " + tensor.dataType()
                    + " " + s + " for " + rows + " rows; the manifest declares " + h + " heads");
        }
        float[] flat = new float[rows * h];
        f.copyTo(DataBuffers.of(flat, false, false));
        float[][] out = new float[rows][h];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(flat, r * h, out[r], 0, h);
        }
        return out;
    }

    private float[][] readTokenRewards(Tensor tensor, int rows, int t) {
        Shape s = tensor.shape();
        if (s.numDimensions() != 2 || s.size(0) != rows || s.size(1) != t || !(tensor instanceof TFloat32 f)) {
            throw new ModelScoringException("model " + modelVersion() + " output 'token_rewards' is "
                    + tensor.dataType() + " " + s + " for a [" + rows + "," + t + "] batch; the contract needs FLOAT ["
                    + rows + "," + t + "]");
        }
        float[] flat = new float[rows * t];
        f.copyTo(DataBuffers.of(flat, false, false));
        float[][] out = new float[rows][t];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(flat, r * t, out[r], 0, t);
        }
        return out;
    }

    private static int[] flatten(int[][] rows, int t) {
        int[] flat = new int[rows.length * t];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, flat, r * t, t);
        }
        return flat;
    }

    private static List<String> devices(RunMetadata meta) {
        List<String> out = new ArrayList<>();
        if (meta != null) {
            for (DeviceStepStats d : meta.getStepStats().getDevStatsList()) {
                out.add(d.getDevice());
            }
        }
        return List.copyOf(out);
    }

    /** Closes the session and graph. Idempotent. Only call once no {@link #score} is in flight. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            bundle.close();
            encoder.close();
            LOG.info("closed model {}", modelVersion());
        }
    }

    public boolean isClosed() {
        return closed.get();
    }

    @Override
    public String toString() {
        return "SavedModelRewardModel[" + modelVersion() + "]";
    }
}
