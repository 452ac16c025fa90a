package io.rewardstream.scoring;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Several reward models (or the heads of one multi-head model) scored on the same batch; the reward is
 * the per-row mean and the uncertainty the per-row population standard deviation across members
 * ({@link ScoreCombiner#ensembleStd}, the one definition used everywhere).
 * Thread-safe if the members are. Owns its members: {@link #close()} closes them all.
 */
public final class Ensemble implements RewardModel {
    private final List<RewardModel> members;
    private final boolean overHeads;
    private final ModelManifest manifest;
    private final String version;

    private Ensemble(List<RewardModel> members, boolean overHeads) {
        this.members = List.copyOf(members);
        this.overHeads = overHeads;
        ModelManifest m = members.get(0).manifest();
        // separate models return no heads (score() gives heads=null): a manifest naming member 0's heads would let a
        // route name one and then refuse every rollout on it
        this.manifest = overHeads ? m : m.withHeads(List.of());
        this.version = overHeads ? manifest.modelVersion() + "+heads"
                : members.stream().map(RewardModel::modelVersion).collect(Collectors.joining(",", "ensemble(", ")"));
    }

    /**
     * Ensemble of separate models. They must agree on tokenizer, max_seq_len, pad_id and vocab_size, and on the
     * tokenizer file itself (its SHA-256 in the manifests) when they read text: they score the same padded batch,
     * encoded with the first member's encoder. The ensemble's manifest is the first member's without heads (the
     * ensemble's output has none).
     *
     * @throws IllegalArgumentException when fewer than two members or their input contracts differ
     */
    public static Ensemble of(List<? extends RewardModel> members) {
        if (members == null || members.size() < 2) {
            throw new IllegalArgumentException("an ensemble needs at least two members");
        }
        ModelManifest first = members.get(0).manifest();
        for (RewardModel m : members) {
            ModelManifest o = Objects.requireNonNull(m, "member").manifest();
            if (!o.tokenizer().equals(first.tokenizer()) || o.maxSeqLen() != first.maxSeqLen()
                    || o.padId() != first.padId() || o.vocabSize() != first.vocabSize()) {
                throw new IllegalArgumentException("ensemble member " + o.modelVersion() + " (tokenizer="
                        + o.tokenizer() + ", max_seq_len=" + o.maxSeqLen() + ", pad_id=" + o.padId() + ", vocab_size="
                        + o.vocabSize() + ") does not match " + first.modelVersion() + " (tokenizer="
                        + first.tokenizer() + ", max_seq_len=" + first.maxSeqLen() + ", pad_id=" + first.padId()
                        + ", vocab_size=" + first.vocabSize() + ")");
            }
            String own = tokenizerDigest(o);
            String firsts = tokenizerDigest(first);
            if (!Objects.equals(own, firsts)) {
                throw new IllegalArgumentException("ensemble member " + o.modelVersion() + "'s tokenizer file "
                        + o.tokenizerFile() + " (sha256 " + own + ") differs from " + first.modelVersion() + "'s "
                        + first.tokenizerFile() + " (sha256 " + firsts + "): every member is fed the first member's"
                        + " token ids, so they must share one vocabulary");
            }
        }
        return new Ensemble(List.copyOf(members), false);
    }

    /** The SHA-256 of a text model's tokenizer file from its manifest, or null (ids, or no digest recorded). */
    private static String tokenizerDigest(ModelManifest m) {
        return m.tokenizerFile() == null || m.files() == null ? null : m.files().get(m.tokenizerFile());
    }

    /**
     * Ensemble over the heads of one multi-head model (its {@code rewards} output): each head is a member.
     *
     * @throws IllegalArgumentException when the manifest declares fewer than two heads
     */
    public static Ensemble ofHeads(RewardModel multiHead) {
        if (multiHead.manifest().heads().size() < 2) {
            throw new IllegalArgumentException("model " + multiHead.modelVersion() + " declares "
                    + multiHead.manifest().heads().size() + " heads; an ensemble over heads needs at least two");
        }
        return new Ensemble(List.of(multiHead), true);
    }

    @Override
    public ModelManifest manifest() {
        return manifest;
    }

    /** The first member's encoder (members agree on tokenizer, max_seq_len, pad_id and vocab_size). */
    @Override
    public SequenceEncoder encoder() {
        return members.get(0).encoder();
    }

    @Override
    public String modelVersion() {
        return version;
    }

    public List<RewardModel> members() {
        return members;
    }

    /**
     * @return mean reward per row, uncertainty = std across members; heads = the model's heads for an
     *         ensemble over heads, null for an ensemble of separate models; token rewards = the model's for an
     *         ensemble over heads, the per-position mean when every member has them, else null
     */
    @Override
    public ModelOutput score(PaddedBatch batch) {
        int rows = batch.rows();
        float[][] perMember;
        float[][] tokenRewards = null;
        if (overHeads) {
            ModelOutput out = members.get(0).score(batch);
            if (!out.hasHeads()) {
                throw new ModelScoringException("model " + members.get(0).modelVersion() + " returned no heads");
            }
            perMember = out.heads();
            tokenRewards = out.tokenRewards();
        } else {
            perMember = new float[rows][members.size()];
            boolean allTokens = true;
            for (int m = 0; m < members.size(); m++) {
                ModelOutput out = members.get(m).score(batch);
                float[] r = out.reward();
                // process rewards: the per-position mean when every member has them
                allTokens &= out.hasTokenRewards();
                if (allTokens) {
                    tokenRewards = addScaled(tokenRewards, out.tokenRewards(), 1f / members.size());
                }
                if (r.length != rows) {
                    throw new ModelScoringException("ensemble member " + members.get(m).modelVersion() + " returned "
                            + r.length + " rewards for " + rows + " rows");
                }
                for (int i = 0; i < rows; i++) {
                    perMember[i][m] = r[i];
                }
            }
            if (!allTokens) {
                tokenRewards = null;
            }
        }
        float[] mean = new float[rows];
        float[] std = new float[rows];
        for (int i = 0; i < rows; i++) {
            double[] v = new double[perMember[i].length];
            double sum = 0;
            for (int m = 0; m < v.length; m++) {
                v[m] = perMember[i][m];
                sum += v[m];
            }
            mean[i] = (float) (sum / v.length);
            std[i] = (float) ScoreCombiner.ensembleStd(v);
        }
        return new ModelOutput(mean, overHeads ? perMember : null, std, tokenRewards);
    }

    private static float[][] addScaled(float[][] acc, float[][] x, float f) {
        float[][] out = acc == null ? new float[x.length][] : acc;
        for (int r = 0; r < x.length; r++) {
            if (out[r] == null) {
                out[r] = new float[x[r].length];
            }
            for (int t = 0; t < x[r].length; t++) {
                out[r][t] += f * x[r][t];
            }
        }
        return out;
    }

    /** Closes every member. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (RewardModel m : members) {
            try {
                m.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
