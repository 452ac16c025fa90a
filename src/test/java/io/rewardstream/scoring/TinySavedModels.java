package io.rewardstream.scoring;

import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Builds tiny reward-model SavedModels in Java (graph mode) for tests: embedding lookup [V=260, D=8],
 * masked mean over T, dense D->H (+bias); with one head the output {@code reward} is that column reshaped
 * to [B]; with H heads {@code rewards} is [B,H] and {@code reward} their weighted sum. Variables are
 * VariableV2 initialized from a seeded Random, so the same seed gives the same model.
 */
final class TinySavedModels {
    static final int VOCAB = ByteTokenizer.VOCAB_SIZE;
    static final int DIM = 8;
    static final int MAX_SEQ_LEN = 128;

    /** What to build; the defaults follow the contract, the other fields break it on purpose. */
    record Spec(String name, long version, long seed, List<ModelManifest.Head> heads, String rewardOutputName,
                boolean floatInputIds, String tokenizer, boolean rewardAsColumn, boolean tokenRewards) {
        static Spec valid(String name, long version, long seed) {
            return new Spec(name, version, seed, List.of(), "reward", false, "ids", false, false);
        }

        /** {@code reward} as [B,1] instead of [B] (both allowed by the contract). */
        Spec withRewardAsColumn() {
            return new Spec(name, version, seed, heads, rewardOutputName, floatInputIds, tokenizer, true, tokenRewards);
        }

        Spec withHeads(List<ModelManifest.Head> h) {
            return new Spec(name, version, seed, h, rewardOutputName, floatInputIds, tokenizer, rewardAsColumn, tokenRewards);
        }

        Spec withRewardOutputName(String n) {
            return new Spec(name, version, seed, heads, n, floatInputIds, tokenizer, rewardAsColumn, tokenRewards);
        }

        /** Adds output {@code token_rewards} [B,T] = {@link #tokenReward}(id) on real tokens, 0 on padding. */
        Spec withTokenRewards() {
            return new Spec(name, version, seed, heads, rewardOutputName, floatInputIds, tokenizer, rewardAsColumn, true);
        }

        Spec withTokenizer(String tok) {
            return new Spec(name, version, seed, heads, rewardOutputName, floatInputIds, tok, rewardAsColumn, tokenRewards);
        }

        Spec withFloatInputIds() {
            return new Spec(name, version, seed, heads, rewardOutputName, true, tokenizer, rewardAsColumn, tokenRewards);
        }
    }

    private TinySavedModels() {
    }

    /** The per-token reward of a model built {@link Spec#withTokenRewards()}: a fixed function of the token id. */
    static float tokenReward(int id) {
        return ((id % 7) - 3) * 0.25f;
    }

    /** A valid single-head model with its manifest and digests. */
    static Path build(Path dir, String name, long version, long seed) {
        return build(dir, Spec.valid(name, version, seed));
    }

    static Path build(Path dir, Spec spec) {
        int h = Math.max(1, spec.heads().size());
        Random rnd = new Random(spec.seed());
        try (Graph g = new Graph(); Session s = new Session(g)) {
            Ops tf = Ops.create(g);
            Operand<TInt32> ids;
            Placeholder<?> idsIn;
            if (spec.floatInputIds()) {
                Placeholder<TFloat32> f = tf.withName("input_ids").placeholder(TFloat32.class,
                        Placeholder.shape(Shape.of(-1, -1)));
                idsIn = f;
                ids = tf.dtypes.cast(f, TInt32.class);
            } else {
                Placeholder<TInt32> i = tf.withName("input_ids").placeholder(TInt32.class,
                        Placeholder.shape(Shape.of(-1, -1)));
                idsIn = i;
                ids = i;
            }
            Placeholder<TInt32> mask = tf.withName("attention_mask").placeholder(TInt32.class,
                    Placeholder.shape(Shape.of(-1, -1)));

            Variable<TFloat32> emb = tf.withName("embedding").variable(Shape.of(VOCAB, DIM), TFloat32.class);
            Variable<TFloat32> w = tf.withName("dense_w").variable(Shape.of(DIM, h), TFloat32.class);
            Variable<TFloat32> b = tf.withName("dense_b").variable(Shape.of(h), TFloat32.class);
            List<org.tensorflow.op.Op> inits = new ArrayList<>();
            inits.add(tf.assign(emb, tf.constant(gaussian(rnd, VOCAB, DIM))));
            inits.add(tf.assign(w, tf.constant(gaussian(rnd, DIM, h))));
            inits.add(tf.assign(b, tf.constant(gaussian(rnd, 1, h)[0])));

            Operand<TFloat32> e = tf.gather(tf.identity(emb), ids, tf.constant(0));          // [B,T,D]
            Operand<TFloat32> m = tf.expandDims(tf.dtypes.cast(mask, TFloat32.class), tf.constant(-1)); // [B,T,1]
            Operand<TFloat32> sum = tf.sum(tf.math.mul(e, m), tf.constant(1));                // [B,D]
            Operand<TFloat32> count = tf.math.maximum(tf.sum(m, tf.constant(1)), tf.constant(1f)); // [B,1]
            Operand<TFloat32> pooled = tf.math.div(sum, count);
            Operand<TFloat32> dense = tf.math.add(tf.linalg.matMul(pooled, tf.identity(w)), tf.identity(b)); // [B,H]

            Signature.Builder sig = Signature.builder().key("serving_default")
                    .input("input_ids", idsIn).input("attention_mask", mask);
            if (spec.heads().isEmpty() && spec.rewardAsColumn()) {
                sig.output(spec.rewardOutputName(), tf.withName("reward").identity(dense));
            } else if (spec.heads().isEmpty()) {
                sig.output(spec.rewardOutputName(), tf.withName("reward").reshape(dense, tf.constant(new int[]{-1})));
            } else {
                float[][] weights = new float[h][1];
                for (int i = 0; i < h; i++) {
                    weights[i][0] = (float) spec.heads().get(i).weight();
                }
                Operand<TFloat32> weighted = tf.linalg.matMul(dense, tf.constant(weights));  // [B,1]
                sig.output(spec.rewardOutputName(), tf.withName("reward").reshape(weighted, tf.constant(new int[]{-1})));
                sig.output("rewards", tf.withName("rewards").identity(dense));
            }
            if (spec.tokenRewards()) {
                float[] table = new float[VOCAB];
                for (int i = 0; i < VOCAB; i++) {
                    table[i] = tokenReward(i);
                }
                Operand<TFloat32> perToken = tf.math.mul(tf.gather(tf.constant(table), ids, tf.constant(0)),
                        tf.dtypes.cast(mask, TFloat32.class));                               // [B,T]
                sig.output("token_rewards", tf.withName("token_rewards").identity(perToken));
            }
            for (org.tensorflow.op.Op init : inits) {
                s.run(init);
            }
            SavedModelBundle.exporter(dir.toString()).withSession(s).withSignatures(sig.build()).export();
            new ModelManifest(spec.name(), spec.version(), MAX_SEQ_LEN, ByteTokenizer.PAD, VOCAB, spec.tokenizer(),
                    null, spec.heads(), null, null, null, null, 1_700_000_000_000L, null)
                    .withDigestsOf(dir).write(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    /**
     * A packaging bug on purpose: the manifest of the model at {@code dir} claims {@code vocab} ids while its embedding
     * keeps {@link #VOCAB} rows, so ids in [VOCAB, vocab) pass validation and fail TF's Gather (on CPU) in the call.
     */
    static Path claimVocab(Path dir, int vocab) {
        try {
            Path manifest = dir.resolve(ModelManifest.FILE_NAME);
            String json = java.nio.file.Files.readString(manifest);
            String widened = json.replaceFirst("\"vocab_size\"\\s*:\\s*" + VOCAB, "\"vocab_size\" : " + vocab);
            if (widened.equals(json)) {
                throw new IllegalStateException("no vocab_size " + VOCAB + " in " + manifest);
            }
            java.nio.file.Files.writeString(manifest, widened);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static float[][] gaussian(Random rnd, int rows, int cols) {
        float[][] out = new float[rows][cols];
        for (float[] row : out) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) (rnd.nextGaussian() * 0.5);
            }
        }
        return out;
    }
}
