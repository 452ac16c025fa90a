package io.rewardstream.cli;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardstream.scoring.GroupAdvantages;
import io.rewardstream.scoring.InvalidRolloutException;
import io.rewardstream.scoring.KlEstimator;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.RowStages;
import io.rewardstream.scoring.ScoringInput;
import io.rewardstream.scoring.ShapedReward;
import io.rewardstream.scoring.ShapingConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code rewardstream shape}: offline reward shaping of scored rollouts (JSON lines), with the same maths
 * as the scorer ({@link RowStages}, {@link GroupAdvantages}). Bad lines are reported on stderr with their
 * line number and skipped; the exit code is then 1.
 */
@Command(name = "shape",
        mixinStandardHelpOptions = true,
        description = {
                "Computes KL-penalized rewards (and group advantages) for scored rollouts given as JSON lines.",
                "Input fields: rollout_id, group_id, score, policy_logprobs, reference_logprobs (array or null), finish_reason (STOP|LENGTH|ABORT).",
                "Output, one line per valid rollout in input order: rollout_id, group_id, token_rewards, kl, reward, kl_coef, flags",
                "and advantage (unless --group-advantage none; groups are formed by group_id over the whole file).",
                "Exit code 1 if any line was bad (each reported on stderr with its line number), 2 if the input cannot be read."})
public final class ShapeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--input", required = true, description = "JSON-lines file of scored rollouts.")
    Path input;

    @Option(names = "--output", description = "Output file (default: stdout).")
    Path output;

    @Option(names = "--kl-estimator", defaultValue = "k1", description = "k1 | k2 | k3 | abs (default: ${DEFAULT-VALUE}).")
    String klEstimator;

    @Option(names = "--kl-coef", defaultValue = "0.05", description = "beta (default: ${DEFAULT-VALUE}).")
    double klCoef;

    @Option(names = "--kl-clamp", defaultValue = "10", description = "Per-token KL clamp (default: ${DEFAULT-VALUE}).")
    double klClamp;

    @Option(names = "--score-clip", description = "Clip s' to [-C, C] (default: off).")
    Double scoreClip;

    @Option(names = "--missing-eos-penalty", defaultValue = "0", description = "Subtracted from the score when finish_reason != STOP (default: ${DEFAULT-VALUE}).")
    double missingEosPenalty;

    @Option(names = "--normalize", defaultValue = "none", description = "none | static (static needs --norm-mean and --norm-std; default: ${DEFAULT-VALUE}).")
    String normalize;

    @Option(names = "--norm-mean", description = "Score mean for --normalize static.")
    Double normMean;

    @Option(names = "--norm-std", description = "Score std (> 0) for --normalize static.")
    Double normStd;

    @Option(names = "--group-advantage", defaultValue = "grpo", description = "none | grpo | rloo (default: ${DEFAULT-VALUE}).")
    String groupAdvantage;

    @Option(names = "--advantage-include-kl", description = "Compute advantages from the sequence reward s' - beta*kl instead of s'.")
    boolean advantageIncludeKl;

    @Option(names = "--group-eps", defaultValue = "1e-6", description = "GRPO epsilon (default: ${DEFAULT-VALUE}).")
    double groupEps;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS) // so NaN/Infinity reach the validator and get a typed error
            .build();

    private record Row(String rolloutId, String groupId, ShapedReward reward) {
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        ShapingConfig config;
        RowStages stages;
        try {
            config = config();
            ModelManifest.Normalization norm = null;
            if (config.normalization() == ShapingConfig.NormalizationMode.STATIC) {
                if (normMean == null || normStd == null) {
                    throw new IllegalArgumentException("--normalize static needs --norm-mean and --norm-std");
                }
                norm = new ModelManifest.Normalization(normMean, normStd);
            }
            stages = new RowStages(config, norm);
        } catch (IllegalArgumentException e) {
            err.println("shape: " + e.getMessage());
            err.flush();
            return 2;
        }
        GroupAdvantages.Method method = config.groupAdvantage();

        int bad = 0;
        List<Row> rows = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(input, StandardCharsets.UTF_8);
             Writer out = output == null
                     ? new BufferedWriter(spec.commandLine().getOut()) {
                         @Override
                         public void close() throws IOException {
                             flush(); // never close stdout
                         }
                     }
                     : Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                Row row;
                try {
                    row = shapeLine(stages, line);
                } catch (InvalidRolloutException e) {
                    bad++;
                    err.println("line " + lineNo + ": " + e.getMessage());
                    continue;
                } catch (IOException | IllegalArgumentException e) {
                    bad++;
                    err.println("line " + lineNo + ": MALFORMED: " + e.getMessage());
                    continue;
                }
                if (method == GroupAdvantages.Method.NONE) {
                    write(out, row, null);
                } else {
                    rows.add(row);
                }
            }
            if (method != GroupAdvantages.Method.NONE) {
                Map<String, List<Integer>> groups = new LinkedHashMap<>();
                for (int i = 0; i < rows.size(); i++) {
                    groups.computeIfAbsent(rows.get(i).groupId(), k -> new ArrayList<>()).add(i);
                }
                double[] advantages = new double[rows.size()];
                for (List<Integer> members : groups.values()) {
                    double[] r = new double[members.size()];
                    for (int j = 0; j < r.length; j++) {
                        ShapedReward sr = rows.get(members.get(j)).reward();
                        r[j] = config.advantageIncludesKl() ? sr.reward() : sr.shapedScore();
                    }
                    double[] a = GroupAdvantages.compute(r, method, config.groupEps());
                    for (int j = 0; j < r.length; j++) {
                        advantages[members.get(j)] = a[j];
                    }
                }
                for (int i = 0; i < rows.size(); i++) {
                    write(out, rows.get(i), advantages[i]);
                }
            }
        } catch (IOException e) {
            err.println("shape: cannot read " + input + " or write " + (output == null ? "stdout" : output) + ": " + e.getMessage());
            err.flush();
            return 2;
        }
        if (bad > 0) {
            err.println("shape: " + bad + " bad line(s) skipped");
        }
        err.flush();
        return bad > 0 ? 1 : 0;
    }

    private ShapingConfig config() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(ShapingConfig.KL_ESTIMATOR, KlEstimator.parse(klEstimator).id());
        m.put(ShapingConfig.KL_COEF, klCoef);
        m.put(ShapingConfig.KL_CLAMP, klClamp);
        m.put(ShapingConfig.SCORE_CLIP, scoreClip == null ? "off" : scoreClip);
        m.put(ShapingConfig.MISSING_EOS_PENALTY, missingEosPenalty);
        if (!normalize.equalsIgnoreCase("none") && !normalize.equalsIgnoreCase("static")) {
            throw new IllegalArgumentException("--normalize must be none or static, got '" + normalize + "'");
        }
        m.put(ShapingConfig.NORMALIZATION, normalize);
        m.put(ShapingConfig.GROUP_ADVANTAGE, groupAdvantage);
        m.put(ShapingConfig.GROUP_ADVANTAGE_INCLUDE_KL, advantageIncludeKl);
        m.put(ShapingConfig.GROUP_EPS, groupEps);
        return ShapingConfig.from(m);
    }

    private static Row shapeLine(RowStages stages, String line) throws IOException {
        JsonNode n = JSON.readTree(line);
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("not a JSON object");
        }
        String rolloutId = text(n, "rollout_id");
        String groupId = text(n, "group_id");
        JsonNode score = n.get("score");
        if (score == null || !score.isNumber()) {
            throw new InvalidRolloutException(InvalidRolloutException.Reason.MISSING_FIELD, "score must be a number");
        }
        double[] lp = numbers(n, "policy_logprobs", false);
        double[] lr = numbers(n, "reference_logprobs", true);
        String finish = text(n, "finish_reason");
        if (!List.of("STOP", "LENGTH", "ABORT").contains(finish)) {
            throw new IllegalArgumentException("finish_reason must be STOP, LENGTH or ABORT, got '" + finish + "'");
        }
        // the scorer's per-row stages with a given score; every line starts from the initial beta (scoring.kl.coef)
        ScoringInput in = new ScoringInput(rolloutId, null, lp, lr, finish.equals("STOP"));
        ShapedReward r = stages.row(0, in, null, RowStages.RowScore.of(score.doubleValue()),
                stages.initialState(null)).shaped();
        return new Row(rolloutId, groupId, r);
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw new InvalidRolloutException(InvalidRolloutException.Reason.MISSING_FIELD, field + " must be a non-empty string");
        }
        return v.asText();
    }

    private static double[] numbers(JsonNode n, String field, boolean nullable) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            if (nullable) {
                return null;
            }
            throw new InvalidRolloutException(InvalidRolloutException.Reason.MISSING_FIELD, field + " is missing");
        }
        if (!v.isArray()) {
            throw new IllegalArgumentException(field + " must be an array of numbers");
        }
        double[] out = new double[v.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = v.get(i);
            if (!e.isNumber()) {
                throw new IllegalArgumentException(field + "[" + i + "] is not a number");
            }
            out[i] = e.doubleValue();
        }
        return out;
    }

    private static void write(Writer out, Row row, Double advantage) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("rollout_id", row.rolloutId());
        o.put("group_id", row.groupId());
        ArrayNode tr = o.putArray("token_rewards");
        for (double v : row.reward().tokenRewards()) {
            tr.add(v);
        }
        o.put("kl", row.reward().klSum());
        o.put("reward", row.reward().reward());
        o.put("kl_coef", row.reward().beta());
        ArrayNode flags = o.putArray("flags");
        row.reward().flags().forEach(flags::add);
        if (advantage != null) {
            o.put("advantage", advantage);
        }
        out.write(JSON.writeValueAsString(o));
        out.write('\n');
    }
}
