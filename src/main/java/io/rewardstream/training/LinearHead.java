package io.rewardstream.training;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A linear reward head on standardized backbone features: {@code r(x) = b + sum_j w_j (x_j - mean_j) / std_j}.
 * Stored as {@value #FILE} in an exported model (the graph holds the folded constants). Immutable by convention
 * (arrays are not copied).
 */
public record LinearHead(@JsonProperty("mean") float[] mean, @JsonProperty("std") float[] std,
                         @JsonProperty("w") double[] w, @JsonProperty("b") double b) {
    public static final String FILE = "head.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    public LinearHead {
        Objects.requireNonNull(mean, "mean");
        Objects.requireNonNull(std, "std");
        Objects.requireNonNull(w, "w");
        if (mean.length != std.length || std.length != w.length) {
            throw new IllegalArgumentException("head dimensions differ: mean " + mean.length + ", std " + std.length
                    + ", w " + w.length);
        }
        for (float s : std) {
            if (!(s > 0) || !Float.isFinite(s)) {
                throw new IllegalArgumentException("head std must be finite and > 0, got " + s);
            }
        }
    }

    public int dim() {
        return w.length;
    }

    public double score(float[] x) {
        double r = b;
        for (int j = 0; j < w.length; j++) {
            r += w[j] * (x[j] - mean[j]) / std[j];
        }
        return r;
    }

    /** w_j / std_j as floats: the graph computes {@code x . foldedWeights + foldedBias}. */
    float[] foldedWeights() {
        float[] f = new float[w.length];
        for (int j = 0; j < w.length; j++) {
            f[j] = (float) (w[j] / std[j]);
        }
        return f;
    }

    float foldedBias() {
        double c = b;
        for (int j = 0; j < w.length; j++) {
            c -= w[j] * mean[j] / std[j];
        }
        return (float) c;
    }

    public void write(Path dir) throws IOException {
        JSON.writeValue(dir.resolve(FILE).toFile(), this);
    }

    /** @throws IOException when {@value #FILE} is missing or malformed */
    public static LinearHead read(Path dir) throws IOException {
        try {
            return JSON.readValue(dir.resolve(FILE).toFile(), LinearHead.class);
        } catch (IOException | RuntimeException e) {
            throw new IOException("cannot read reward head " + dir.resolve(FILE) + ": " + e.getMessage(), e);
        }
    }
}
