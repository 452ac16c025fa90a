package io.rewardstream.scoring;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Loads a reward-model directory after checking it against the model contract
 * ({@code scoring/MODEL_CONTRACT.md}), in this order, refusing at the first failed step:
 * <ol>
 *   <li>manifest {@value ModelManifest#FILE_NAME} present and valid;</li>
 *   <li>SHA-256 of every file equals {@code manifest.files} (missing, extra and mismatched files are all
 *       named) — unless {@code model.verify.digests=false};</li>
 *   <li>SavedModel loads with tag {@code serve} and the session {@link RuntimeConfig#toConfigProto()};</li>
 *   <li>signature {@code serving_default}: inputs {@code input_ids}, {@code attention_mask} INT32 rank 2
 *       (and no others), output {@code reward} FLOAT [B] or [B,1], optional {@code rewards} FLOAT [B,H] with
 *       H = number of manifest heads, optional {@code reward_std} FLOAT [B] or [B,1] (an ensemble's population
 *       standard deviation across members, served as {@code Reward.uncertainty});</li>
 *   <li>one traced call (logs the devices used), then, if {@code model.warmup}, one call per bucket
 *       shape.</li>
 * </ol>
 * Stateless; thread-safe. The caller owns the returned model.
 */
public final class ModelLoader {
    private static final Logger LOG = LoggerFactory.getLogger(ModelLoader.class);

    public static final String SERVE_TAG = "serve";
    public static final String SIGNATURE = "serving_default";
    public static final String INPUT_IDS = "input_ids";
    public static final String ATTENTION_MASK = "attention_mask";
    public static final String REWARD = "reward";
    public static final String REWARDS = "rewards";
    /** Optional: the ensemble's per-row population std across members (the model's uncertainty). */
    public static final String REWARD_STD = "reward_std";
    public static final String TOKEN_REWARDS = "token_rewards";
    /** Optional outputs the runtime knows (and fetches when present). */
    private static final Set<String> KNOWN_OPTIONAL_OUTPUTS = Set.of(REWARDS, REWARD_STD, TOKEN_REWARDS);
    /** Sequence lengths warmed up (each rounded up to the pad multiple, capped at max_seq_len). */
    private static final int[] WARMUP_LENGTHS = {8, 64};

    private ModelLoader() {
    }

    /** {@link #load(Path, RuntimeConfig, BatchingConfig)} with the default batching limits. */
    public static SavedModelRewardModel load(Path dir, RuntimeConfig cfg) {
        return load(dir, cfg, BatchingConfig.DEFAULTS);
    }

    /**
     * Validates, loads and warms up a model directory.
     *
     * @param batching the batch shapes the model will see (for warm-up)
     * @return a ready model, owned by the caller
     * @throws ModelLoadException saying exactly what is wrong; nothing stays open
     */
    public static SavedModelRewardModel load(Path dir, RuntimeConfig cfg, BatchingConfig batching) {
        long t0 = System.nanoTime();
        ModelManifest manifest = verifyFiles(dir, cfg.verifyDigests());
        // the tokenizer files travel inside the model directory: a model is always encoded with its own vocabulary
        SequenceEncoder encoder = SequenceEncoder.forModel(dir, manifest);
        SavedModelBundle bundle;
        try {
            bundle = SavedModelBundle.loader(dir.toString()).withTags(SERVE_TAG).withConfigProto(cfg.toConfigProto())
                    .load();
        } catch (RuntimeException e) {
            encoder.close();
            throw new ModelLoadException(ModelLoadException.Reason.LOAD, "cannot load SavedModel " + dir + " (tag "
                    + SERVE_TAG + "): " + e.getMessage(), e);
        }
        SavedModelRewardModel model;
        try {
            model = new SavedModelRewardModel(bundle, manifest, bind(bundle, manifest), encoder);
        } catch (RuntimeException e) {
            bundle.close();
            encoder.close();
            throw e;
        }
        try {
            List<String> used = model.probeDevices();
            LOG.info("model {} loaded from {}; ran on devices {}", manifest.modelVersion(), dir, used);
            if (cfg.warmup()) {
                warmUp(model, BatchPlanner.forModel(batching, manifest));
            }
        } catch (RuntimeException e) {
            model.close();
            throw new ModelLoadException(ModelLoadException.Reason.WARMUP, "model " + manifest.modelVersion()
                    + " in " + dir + " failed its warm-up calls: " + e.getMessage(), e);
        }
        LOG.info("model {} ready in {} ms", manifest.modelVersion(), (System.nanoTime() - t0) / 1_000_000);
        return model;
    }

    /**
     * Steps 1 and 2: reads the manifest and (if {@code verifyDigests}) checks every file's SHA-256.
     *
     * @return the manifest
     * @throws ModelLoadException (reason MANIFEST or DIGEST) naming every offending file
     */
    public static ModelManifest verifyFiles(Path dir, boolean verifyDigests) {
        if (dir == null || !Files.isDirectory(dir)) {
            throw new ModelLoadException(ModelLoadException.Reason.MANIFEST, "model directory " + dir
                    + " does not exist or is not a directory");
        }
        ModelManifest manifest;
        try {
            manifest = ModelManifest.read(dir);
        } catch (IOException e) {
            throw new ModelLoadException(ModelLoadException.Reason.MANIFEST, e.getMessage(), e);
        }
        if (("hf".equals(manifest.tokenizer()) || "wordpiece".equals(manifest.tokenizer()))
                && !dir.resolve(manifest.tokenizerFile()).normalize().startsWith(dir.normalize())) {
            // the tokenizer travels inside the model directory (digested, signed with it)
            throw new ModelLoadException(ModelLoadException.Reason.MANIFEST, "manifest tokenizer_file '"
                    + manifest.tokenizerFile() + "' is outside the model directory " + dir);
        }
        if (("hf".equals(manifest.tokenizer()) || "wordpiece".equals(manifest.tokenizer()))
                && !Files.isRegularFile(dir.resolve(manifest.tokenizerFile()))) {
            throw new ModelLoadException(ModelLoadException.Reason.MANIFEST, "manifest tokenizer_file '"
                    + manifest.tokenizerFile() + "' is not a file in " + dir);
        }
        if (!verifyDigests) {
            LOG.warn("model {}: digest verification is OFF ({}=false)", manifest.modelVersion(),
                    RuntimeConfig.VERIFY_DIGESTS);
            return manifest;
        }
        if (manifest.files().isEmpty()) {
            throw new ModelLoadException(ModelLoadException.Reason.DIGEST, "manifest " + dir.resolve(
                    ModelManifest.FILE_NAME) + " lists no files: cannot verify the model (files is empty)");
        }
        Map<String, String> actual = ModelManifest.digest(dir);
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> e : manifest.files().entrySet()) {
            String found = actual.get(e.getKey());
            if (found == null) {
                problems.add("file '" + e.getKey() + "' listed in the manifest is missing");
            } else if (!found.equalsIgnoreCase(e.getValue())) {
                problems.add("file '" + e.getKey() + "' SHA-256 mismatch: manifest " + e.getValue() + ", actual "
                        + found);
            }
        }
        for (String f : new TreeSet<>(actual.keySet())) {
            if (!manifest.files().containsKey(f)) {
                problems.add("file '" + f + "' is not listed in the manifest");
            }
        }
        if (!problems.isEmpty()) {
            throw new ModelLoadException(ModelLoadException.Reason.DIGEST, "model " + manifest.modelVersion()
                    + " in " + dir + " refused: " + String.join("; ", problems));
        }
        return manifest;
    }

    /** Step 4: checks serving_default against the contract and resolves its tensor names. */
    static SavedModelRewardModel.Binding bind(SavedModelBundle bundle, ModelManifest manifest) {
        Map<String, SignatureDef> sigs = bundle.metaGraphDef().getSignatureDefMap();
        SignatureDef sig = sigs.get(SIGNATURE);
        if (sig == null) {
            throw signature("signature '" + SIGNATURE + "' is missing; the SavedModel has " + new TreeSet<>(
                    sigs.keySet()));
        }
        Map<String, TensorInfo> in = sig.getInputsMap();
        Map<String, TensorInfo> out = sig.getOutputsMap();
        Set<String> extra = new LinkedHashSet<>(new TreeSet<>(in.keySet()));
        extra.removeAll(Set.of(INPUT_IDS, ATTENTION_MASK));
        if (!extra.isEmpty()) {
            throw signature(SIGNATURE + " has unexpected inputs " + extra + "; the contract feeds only "
                    + INPUT_IDS + " and " + ATTENTION_MASK);
        }
        String ids = checkInput(in, INPUT_IDS);
        String mask = checkInput(in, ATTENTION_MASK);

        TensorInfo reward = out.get(REWARD);
        if (reward == null) {
            throw signature(SIGNATURE + " has no output '" + REWARD + "' (outputs: " + new TreeSet<>(out.keySet())
                    + ")");
        }
        checkDtype(reward, "output", REWARD, DataType.DT_FLOAT);
        long[] rs = dims(reward, "output", REWARD);
        if (!(rs.length == 1 || (rs.length == 2 && rs[1] == 1))) {
            throw signature(SIGNATURE + " output '" + REWARD + "' must be [B] or [B,1], found " + Arrays.toString(rs));
        }

        TensorInfo rewards = out.get(REWARDS);
        int heads = manifest.heads().size();
        String headNames = manifest.heads().stream().map(ModelManifest.Head::name).collect(Collectors.joining(", ",
                "[", "]"));
        if (rewards == null && heads > 0) {
            throw signature("manifest declares " + heads + " heads " + headNames + " but " + SIGNATURE
                    + " has no '" + REWARDS + "' output");
        }
        if (rewards != null) {
            checkDtype(rewards, "output", REWARDS, DataType.DT_FLOAT);
            long[] hs = dims(rewards, "output", REWARDS);
            if (hs.length != 2) {
                throw signature(SIGNATURE + " output '" + REWARDS + "' must be rank 2 [B,H], found "
                        + Arrays.toString(hs));
            }
            if (heads == 0) {
                throw signature(SIGNATURE + " has a '" + REWARDS + "' output but the manifest declares no heads");
            }
            if (hs[1] >= 0 && hs[1] != heads) {
                throw signature(SIGNATURE + " output '" + REWARDS + "' has " + hs[1] + " columns but the manifest "
                        + "declares " + heads + " heads " + headNames);
            }
        }
        TensorInfo rewardStd = out.get(REWARD_STD);
        if (rewardStd != null) {
            checkDtype(rewardStd, "output", REWARD_STD, DataType.DT_FLOAT);
            long[] ss = dims(rewardStd, "output", REWARD_STD);
            if (!(ss.length == 1 || (ss.length == 2 && ss[1] == 1))) {
                throw signature(SIGNATURE + " output '" + REWARD_STD + "' must be [B] or [B,1], found "
                        + Arrays.toString(ss));
            }
        }
        TensorInfo tokenRewards = out.get(TOKEN_REWARDS);
        if (tokenRewards != null) {
            checkDtype(tokenRewards, "output", TOKEN_REWARDS, DataType.DT_FLOAT);
            long[] ts = dims(tokenRewards, "output", TOKEN_REWARDS);
            if (ts.length != 2) {
                throw signature(SIGNATURE + " output '" + TOKEN_REWARDS + "' must be rank 2 [B,T], found "
                        + Arrays.toString(ts));
            }
            // per-position rewards line up with response_token_ids only when the model reads those ids as they are
            if (!"ids".equals(manifest.tokenizer())) {
                throw signature(SIGNATURE + " has a '" + TOKEN_REWARDS + "' output but the manifest's tokenizer is '"
                        + manifest.tokenizer() + "'; per-token rewards need tokenizer 'ids' (model positions = "
                        + "the rollout's token ids)");
            }
        }
        for (String o : out.keySet()) {
            if (!o.equals(REWARD) && !KNOWN_OPTIONAL_OUTPUTS.contains(o)) {
                LOG.info("model {}: output '{}' is not part of the contract and is ignored", manifest.modelVersion(), o);
            }
        }
        return new SavedModelRewardModel.Binding(ids, mask, reward.getName(), rewards == null ? null
                : rewards.getName(), rewardStd == null ? null : rewardStd.getName(),
                tokenRewards == null ? null : tokenRewards.getName());
    }

    private static String checkInput(Map<String, TensorInfo> in, String name) {
        TensorInfo info = in.get(name);
        if (info == null) {
            throw signature(SIGNATURE + " has no input '" + name + "' (inputs: " + new TreeSet<>(in.keySet()) + ")");
        }
        checkDtype(info, "input", name, DataType.DT_INT32);
        long[] d = dims(info, "input", name);
        if (d.length != 2) {
            throw signature(SIGNATURE + " input '" + name + "' must be rank 2 [B,T], found " + Arrays.toString(d));
        }
        return info.getName();
    }

    private static void checkDtype(TensorInfo info, String kind, String name, DataType want) {
        if (info.getDtype() != want) {
            throw signature(SIGNATURE + " " + kind + " '" + name + "' must be " + want + ", found " + info.getDtype());
        }
    }

    private static long[] dims(TensorInfo info, String kind, String name) {
        TensorShapeProto shape = info.getTensorShape();
        if (shape.getUnknownRank()) {
            throw signature(SIGNATURE + " " + kind + " '" + name + "' has an unknown rank; the contract needs a "
                    + "static rank");
        }
        long[] d = new long[shape.getDimCount()];
        for (int i = 0; i < d.length; i++) {
            d[i] = shape.getDim(i).getSize();
        }
        return d;
    }

    private static ModelLoadException signature(String message) {
        return new ModelLoadException(ModelLoadException.Reason.SIGNATURE, message);
    }

    /** One call per bucket shape the planner can produce: lengths {8, 64, max_seq_len} x rows {1, most}. */
    static void warmUp(SavedModelRewardModel model, BatchPlanner planner) {
        ModelManifest m = model.manifest();
        Set<Integer> lengths = new TreeSet<>();
        for (int len : WARMUP_LENGTHS) {
            lengths.add(planner.paddedLength(Math.min(len, m.maxSeqLen())));
        }
        lengths.add(planner.paddedLength(m.maxSeqLen()));
        List<int[]> shapes = new ArrayList<>();
        for (int t : lengths) {
            int most = Math.max(1, Math.min(planner.config().maxSize(), planner.config().maxTokens() / t));
            shapes.add(new int[]{1, t});
            if (most > 1) {
                shapes.add(new int[]{most, t});
            }
        }
        int done = 0;
        for (int[] shape : shapes) {
            long t0 = System.nanoTime();
            int[][] rows = new int[shape[0]][shape[1]];
            int[] index = new int[shape[0]];
            for (int r = 0; r < rows.length; r++) {
                Arrays.fill(rows[r], m.padId());
                index[r] = r;
            }
            ModelOutput out = model.score(PaddedBatch.of(rows, index, shape[1], m.padId()));
            if (out.rows() != shape[0]) {
                throw new ModelScoringException("warm-up [" + shape[0] + "," + shape[1] + "] returned " + out.rows()
                        + " rewards");
            }
            LOG.info("model {} warm-up {}/{}: [{},{}] in {} ms", m.modelVersion(), ++done, shapes.size(), shape[0],
                    shape[1], (System.nanoTime() - t0) / 1_000_000);
        }
    }
}
