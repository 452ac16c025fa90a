package io.rewardstream.training;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Backbone features of (prompt, response) texts, computed once per distinct encoded sequence and cached in memory
 * and on disk ({@code <cache>/features/ab/<sha256>.f32}, keyed by SHA-256 of the backbone id and the token ids),
 * so re-training a head costs seconds. Thread-safe; does not own the backbone.
 */
public final class BertFeatures {
    private static final String KEY_VERSION = BertBackbone.ARTIFACT + "-" + BertBackbone.VERSION + "/pooled+mean/v1";
    private final BertBackbone backbone;
    private final Path dir;
    private final String keyPrefix;
    private final Map<String, float[]> memory = new ConcurrentHashMap<>();
    private int computed;
    private int fromDisk;

    public BertFeatures(BertBackbone backbone, Path cacheDir) {
        this.backbone = backbone;
        this.dir = cacheDir;
        this.keyPrefix = KEY_VERSION + weightsId(backbone.servingDir());
    }

    /**
     * "" for the pretrained weights; for a fine-tuned backbone (manifest lineage {@code train_layers}) the SHA-256 of its
     * variables, so its features never mix with the pretrained ones in the shared cache.
     */
    static String weightsId(Path servingDir) {
        try {
            io.rewardstream.scoring.ModelManifest m = io.rewardstream.scoring.ModelManifest.read(servingDir);
            String digest = m.files().get("variables/variables.data-00000-of-00001");
            return m.lineage().containsKey("train_layers") && digest != null ? "/weights:" + digest : "";
        } catch (IOException e) {
            return "";   // the prepared backbone has no manifest: pretrained weights
        }
    }

    /** The default disk cache beside the unpacked backbone. */
    public static Path defaultDir() {
        return BertBackbone.cacheRoot().resolve(BertBackbone.ARTIFACT + "-" + BertBackbone.VERSION).resolve("features");
    }

    public BertBackbone backbone() {
        return backbone;
    }

    /** Features of each (prompt, response) pair; missing ones computed in one batched pass with progress. */
    public synchronized float[][] of(List<String> prompts, List<String> responses) {
        int n = prompts.size();
        float[][] out = new float[n][];
        Map<String, List<Integer>> missing = new LinkedHashMap<>();
        Map<String, int[]> seqs = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            int[] ids = backbone.tokenizer().encodePair(prompts.get(i), responses.get(i), BertBackbone.MAX_SEQ_LEN).ids();
            String key = key(keyPrefix, ids);
            float[] f = memory.get(key);
            if (f == null) {
                f = readDisk(key);
                if (f != null) {
                    memory.put(key, f);
                    fromDisk++;
                }
            }
            if (f != null) {
                out[i] = f;
            } else {
                missing.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
                seqs.put(key, ids);
            }
        }
        if (!missing.isEmpty()) {
            System.err.printf("backbone features: %d cached, %d to compute%n", n - missing.values().stream()
                    .mapToInt(List::size).sum(), missing.size());
            List<String> keys = new ArrayList<>(missing.keySet());
            float[][] f = backbone.features(keys.stream().map(seqs::get).toList(), true);
            for (int k = 0; k < keys.size(); k++) {
                memory.put(keys.get(k), f[k]);
                writeDisk(keys.get(k), f[k]);
                computed++;
                for (int i : missing.get(keys.get(k))) {
                    out[i] = f[k];
                }
            }
        }
        return out;
    }

    /** Sequences run through the backbone by this instance. */
    public synchronized int computed() {
        return computed;
    }

    /** Features read from the disk cache by this instance. */
    public synchronized int fromDisk() {
        return fromDisk;
    }

    static String key(String prefix, int[] ids) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            ByteBuffer b = ByteBuffer.allocate(4 * ids.length);
            for (int id : ids) {
                b.putInt(id);
            }
            md.update(b.array());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private Path file(String key) {
        return dir.resolve(key.substring(0, 2)).resolve(key + ".f32");
    }

    private float[] readDisk(String key) {
        if (dir == null) {
            return null;
        }
        Path p = file(key);
        if (!Files.isRegularFile(p)) {
            return null;
        }
        try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(p)))) {
            int len = in.readInt();
            if (len != BertBackbone.FEATURES) {
                return null;
            }
            float[] f = new float[len];
            for (int j = 0; j < len; j++) {
                f[j] = in.readFloat();
            }
            return f;
        } catch (IOException e) {
            return null;   // a torn or foreign file: recompute
        }
    }

    private void writeDisk(String key, float[] f) {
        if (dir == null) {
            return;
        }
        Path p = file(key);
        try {
            Files.createDirectories(p.getParent());
            Path tmp = Files.createTempFile(p.getParent(), key, ".tmp");
            try (DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(tmp)))) {
                out.writeInt(f.length);
                for (float v : f) {
                    out.writeFloat(v);
                }
            }
            Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write feature cache " + p, e);
        }
    }
}
