package io.rewardstream.scoring;

import io.rewardstream.config.ConfigValues;

import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.GPUOptions;

import java.nio.file.Path;
import java.util.Map;

/**
 * TensorFlow session settings for a reward model. Immutable; thread-safe.
 *
 * @param modelDir          {@code model.dir}: model directory to load at start; may be null when the caller
 *                          passes a directory explicitly
 * @param intraOpThreads    {@code model.intra.op.threads}: threads inside one op; 0 = TensorFlow's default
 * @param interOpThreads    {@code model.inter.op.threads}: ops run in parallel; 0 = TensorFlow's default
 * @param gpuAllowGrowth    {@code model.gpu.allow.growth}: allocate GPU memory on demand (default true)
 * @param gpuMemoryFraction {@code model.gpu.memory.fraction}: cap on the share of each GPU's memory, in
 *                          (0, 1]; 0 = no cap (default)
 * @param gpuVisibleDevices {@code model.gpu.visible.devices}: comma-separated GPU ids TF may use, e.g.
 *                          {@code 0,1}; empty = all (default)
 * @param warmup            {@code model.warmup}: run one call per bucket shape before serving (default true)
 * @param verifyDigests     {@code model.verify.digests}: check every file's SHA-256 against the manifest
 *                          (default true)
 * @param ensembleDirs      {@code model.ensemble.dirs}: comma-separated model directories served together as one
 *                          {@link Ensemble#of} (mean reward, population std as uncertainty); empty = none (default).
 *                          Exclusive with {@code model.dir}; needs at least two directories
 */
public record RuntimeConfig(Path modelDir, int intraOpThreads, int interOpThreads, boolean gpuAllowGrowth,
                            double gpuMemoryFraction, String gpuVisibleDevices, boolean warmup,
                            boolean verifyDigests, java.util.List<Path> ensembleDirs) {

    public static final String MODEL_DIR = "model.dir";
    public static final String INTRA_OP_THREADS = "model.intra.op.threads";
    public static final String INTER_OP_THREADS = "model.inter.op.threads";
    public static final String GPU_ALLOW_GROWTH = "model.gpu.allow.growth";
    public static final String GPU_MEMORY_FRACTION = "model.gpu.memory.fraction";
    public static final String GPU_VISIBLE_DEVICES = "model.gpu.visible.devices";
    public static final String WARMUP = "model.warmup";
    public static final String VERIFY_DIGESTS = "model.verify.digests";
    public static final String ENSEMBLE_DIRS = "model.ensemble.dirs";

    /** No model dir, TF default threads, GPU allow-growth, warm-up and digest checks on. */
    public static final RuntimeConfig DEFAULTS = new RuntimeConfig(null, 0, 0, true, 0.0, "", true, true,
            java.util.List.of());

    public RuntimeConfig {
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException(INTRA_OP_THREADS + " must be >= 0, got " + intraOpThreads);
        }
        if (interOpThreads < 0) {
            throw new IllegalArgumentException(INTER_OP_THREADS + " must be >= 0, got " + interOpThreads);
        }
        if (!(gpuMemoryFraction >= 0 && gpuMemoryFraction <= 1)) {
            throw new IllegalArgumentException(GPU_MEMORY_FRACTION + " must be in [0, 1] (0 = no cap), got "
                    + gpuMemoryFraction);
        }
        gpuVisibleDevices = gpuVisibleDevices == null ? "" : gpuVisibleDevices.trim();
        if (!gpuVisibleDevices.isEmpty() && !gpuVisibleDevices.matches("\\d+(\\s*,\\s*\\d+)*")) {
            throw new IllegalArgumentException(GPU_VISIBLE_DEVICES + " must be comma-separated GPU ids like 0,1, got '"
                    + gpuVisibleDevices + "'");
        }
        gpuVisibleDevices = gpuVisibleDevices.replaceAll("\\s", "");
        ensembleDirs = ensembleDirs == null ? java.util.List.of() : java.util.List.copyOf(ensembleDirs);
        if (ensembleDirs.size() == 1) {
            throw new IllegalArgumentException(ENSEMBLE_DIRS + " needs at least two model directories, got "
                    + ensembleDirs);
        }
        if (!ensembleDirs.isEmpty() && modelDir != null) {
            throw new IllegalArgumentException(ENSEMBLE_DIRS + " and " + MODEL_DIR + " are exclusive: serve one model "
                    + "(" + MODEL_DIR + ", which may itself be an exported ensemble) or several as an ensemble");
        }
    }


    /**
     * Reads the {@code model.*} keys; missing keys take their defaults.
     *
     * @throws IllegalArgumentException naming the key when a value is malformed or out of range
     */
    public static RuntimeConfig from(Map<String, ?> props) {
        String dir = ConfigValues.string(props, MODEL_DIR, null);
        return new RuntimeConfig(
                dir == null ? null : Path.of(dir),
                ConfigValues.intValue(props, INTRA_OP_THREADS, DEFAULTS.intraOpThreads),
                ConfigValues.intValue(props, INTER_OP_THREADS, DEFAULTS.interOpThreads),
                ConfigValues.bool(props, GPU_ALLOW_GROWTH, DEFAULTS.gpuAllowGrowth),
                ConfigValues.doubleValue(props, GPU_MEMORY_FRACTION, DEFAULTS.gpuMemoryFraction),
                ConfigValues.string(props, GPU_VISIBLE_DEVICES, DEFAULTS.gpuVisibleDevices),
                ConfigValues.bool(props, WARMUP, DEFAULTS.warmup),
                ConfigValues.bool(props, VERIFY_DIGESTS, DEFAULTS.verifyDigests),
                paths(ConfigValues.string(props, ENSEMBLE_DIRS, "")));
    }

    private static java.util.List<Path> paths(String csv) {
        java.util.List<Path> out = new java.util.ArrayList<>();
        for (String p : csv == null ? new String[0] : csv.split(",")) {
            if (!p.isBlank()) {
                out.add(Path.of(p.strip()));
            }
        }
        return out;
    }

    /** The session configuration; must be given when the session is created (TF ignores later changes). */
    public ConfigProto toConfigProto() {
        GPUOptions.Builder gpu = GPUOptions.newBuilder().setAllowGrowth(gpuAllowGrowth);
        if (gpuMemoryFraction > 0) {
            gpu.setPerProcessGpuMemoryFraction(gpuMemoryFraction);
        }
        if (!gpuVisibleDevices.isEmpty()) {
            gpu.setVisibleDeviceList(gpuVisibleDevices);
        }
        return ConfigProto.newBuilder()
                .setIntraOpParallelismThreads(intraOpThreads)
                .setInterOpParallelismThreads(interOpThreads)
                // ops without a GPU kernel fall back to the CPU instead of failing the load
                .setAllowSoftPlacement(true)
                .setGpuOptions(gpu)
                .build();
    }
}
