package io.rewardstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.rewardstream.files.FileTrees;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.training.ArithmeticTask;
import io.rewardstream.training.BertBackbone;
import io.rewardstream.training.BertFeatures;
import io.rewardstream.training.BertFineTuner;
import io.rewardstream.training.BertHeadTrainer;
import io.rewardstream.training.BuiltinModel;
import io.rewardstream.training.EvalMetrics;
import io.rewardstream.training.ExportedModel;
import io.rewardstream.training.FineTuner;
import io.rewardstream.training.ModelConfig;
import io.rewardstream.training.ModelSize;
import io.rewardstream.training.PreferenceExample;
import io.rewardstream.training.PreferenceJsonl;
import io.rewardstream.training.Splits;
import io.rewardstream.training.TrainConfig;
import io.rewardstream.training.TrainingResult;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code rewardstream model train|train-prm|eval|inspect|finetune|package}: the built-in reward model and process reward
 * model; packaging of models made elsewhere.
 */
@Command(name = "model", mixinStandardHelpOptions = true,
        description = "Train, evaluate, inspect and fine-tune the built-in transformer reward model or a BERT-base reward head; package a SavedModel exported elsewhere.",
        subcommands = {ModelCommand.Train.class, ModelCommand.Eval.class, ModelCommand.Inspect.class,
                ModelCommand.FineTune.class, ModelPackageCommand.class, ModelTrainPrmCommand.class})
public final class ModelCommand implements Runnable {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Bad input (IllegalArgumentException, IOException) becomes "error: ..." on stderr and exit code 2. */
    static Integer guarded(Callable<Integer> body) throws Exception {
        try {
            return body.call();
        } catch (IllegalArgumentException | IOException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        }
    }

    /** Where the pairs come from: the arithmetic generator or a JSONL file. */
    static final class DataOptions {
        @Option(names = "--task", description = "Built-in task: arithmetic.")
        String task;

        @Option(names = "--data", description = "Preference pairs as JSON Lines (prompt/chosen/rejected, HH-RLHF, or chat messages).")
        Path data;

        @Option(names = "--ops", split = ",", defaultValue = "add", description = "Arithmetic operations: add,mul,multi (default: ${DEFAULT-VALUE}).")
        List<String> ops;

        @Option(names = "--max-operand", defaultValue = "19", description = "Largest operand (difficulty; default: ${DEFAULT-VALUE}).")
        int maxOperand;

        @Option(names = "--noise", defaultValue = "0", description = "Fraction of flipped training labels (default: ${DEFAULT-VALUE}).")
        double noise;

        @Option(names = "--verbosity-trap", defaultValue = "0.5", description = "Fraction of rejected answers padded with filler (default: ${DEFAULT-VALUE}).")
        double verbosityTrap;

        @Option(names = "--near-miss", defaultValue = "0", description = "Fraction of wrong answers off by only 1 or 2 (default: ${DEFAULT-VALUE}).")
        double nearMiss;

        @Option(names = "--held-out", defaultValue = "0.2", description = "Held-out fraction: operand tuples for arithmetic, pair-id hash for --data (default: ${DEFAULT-VALUE}).")
        double heldOut;

        @Option(names = "--task-seed", defaultValue = "7", description = "Seed of the arithmetic generator (default: ${DEFAULT-VALUE}).")
        long taskSeed;

        ArithmeticTask arithmetic() {
            List<ArithmeticTask.Operation> o = ops.stream().map(ArithmeticTask.Operation::parse).toList();
            return new ArithmeticTask(new ArithmeticTask.Config(o, maxOperand, noise, verbosityTrap, heldOut, nearMiss,
                    taskSeed));
        }

        void validate() {
            if ((task == null) == (data == null)) {
                throw new IllegalArgumentException("give exactly one of --task arithmetic or --data FILE.jsonl");
            }
            if (task != null && !task.equals("arithmetic")) {
                throw new IllegalArgumentException("unknown --task '" + task + "' (expected arithmetic)");
            }
        }

        /** Loads a JSONL file, reporting rejected lines on stderr. */
        List<PreferenceExample> loadJsonl() throws IOException {
            PreferenceJsonl.LoadResult r = PreferenceJsonl.load(data);
            if (!r.errors().isEmpty()) {
                System.err.println(data + ": rejected " + r.errors().size() + " malformed line(s):");
                r.errors().stream().limit(20).forEach(e -> System.err.println("  " + e));
            }
            if (r.examples().isEmpty()) {
                throw new IllegalArgumentException(data + ": no valid pairs");
            }
            System.err.println(data + ": loaded " + r.examples().size() + " pair(s)");
            return r.examples();
        }
    }

    @Command(name = "train", mixinStandardHelpOptions = true, description = "Train a model and export it (SavedModel + manifest + report).")
    static final class Train implements Callable<Integer> {
        @CommandLine.Mixin
        DataOptions d;

        @Option(names = "--size", defaultValue = "small", description = "tiny | small | base (default: ${DEFAULT-VALUE}).")
        String size;

        @Option(names = "--out", required = true, description = "Output model directory.")
        Path out;

        @Option(names = "--steps", description = "Optimizer steps (default depends on --size).")
        Integer steps;

        @Option(names = "--seed", defaultValue = "42", description = "Initialisation and data-order seed (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--lr", description = "Peak learning rate (default depends on --size).")
        Double lr;

        @Option(names = "--center-rewards", defaultValue = "0", description = "center_rewards_coefficient (default: ${DEFAULT-VALUE}).")
        double center;

        @Option(names = "--pairs", defaultValue = "20000", description = "Generated training pairs for --task (default: ${DEFAULT-VALUE}).")
        int pairs;

        @Option(names = "--eval-pairs", defaultValue = "1000", description = "Generated held-out pairs for --task (default: ${DEFAULT-VALUE}).")
        int evalPairs;

        @Option(names = "--force", description = "Replace an existing output directory.")
        boolean force;

        @Option(names = "--heads", split = ",", description = "Named heads name=weight, e.g. correctness=1,brevity=0.5 (exported as 'rewards').")
        List<String> heads;

        @Option(names = "--ensemble", defaultValue = "1", description = "Ensemble heads sharing one backbone (default: ${DEFAULT-VALUE}).")
        int ensemble;

        @Option(names = "--backbone", description = "Pretrained backbone instead of the built-in transformer: bert-base-uncased "
                + "(frozen; a linear Bradley-Terry head on cached features; needs the artifact in the local Maven repository).")
        String backbone;

        @Option(names = "--train-layers", defaultValue = "0", description = "With --backbone: 0 = a head on frozen features "
                + "(default); k = fine-tune the top k encoder layers + pooler + head (1..12); all = the whole model.")
        String trainLayers;

        @Option(names = "--epochs", defaultValue = "4", description = "With --train-layers: passes over the pairs (default: ${DEFAULT-VALUE}).")
        int epochs;

        @Option(names = "--batch", defaultValue = "8", description = "With --train-layers: pairs per step (default: ${DEFAULT-VALUE}).")
        int batch;

        @Override
        public Integer call() throws Exception {
            return guarded(this::doCall);
        }

        private Integer doCall() throws Exception {
            d.validate();
            ModelSize ms = ModelSize.parse(size);
            if (Files.exists(out.resolve("saved_model.pb")) && !force) {
                throw new IllegalArgumentException(out + " already holds a model (use --force to replace it)");
            }
            TrainConfig tc = TrainConfig.defaults(ms).withSeed(seed).withCenterRewardsCoefficient(center);
            if (steps != null) {
                tc = tc.withSteps(steps);
            }
            if (lr != null) {
                tc = tc.withLearningRate(lr);
            }
            List<PreferenceExample> train;
            List<PreferenceExample> eval;
            String source;
            if (d.task != null) {
                ArithmeticTask t = d.arithmetic();
                train = t.generate(pairs, ArithmeticTask.Part.TRAIN, true);
                eval = t.generate(evalPairs, ArithmeticTask.Part.HELD_OUT, false);
                source = "arithmetic " + t.config();
            } else {
                Splits.Split<PreferenceExample> s = Splits.byPairId(d.loadJsonl(), d.heldOut);
                train = s.train();
                eval = s.heldOut();
                source = d.data.toString();
            }
            if (Files.exists(out) && force) {
                FileTrees.deleteTree(out);
            }
            if (backbone != null) {
                return trainBert(train, eval, source);
            }
            System.err.printf("training builtin-%s on %d pairs (%d held out), %d steps%n", ms.id(), train.size(),
                    eval.size(), tc.steps());
            ModelConfig mc = ModelConfig.of(ms).withEnsemble(ensemble);
            if (heads != null && !heads.isEmpty()) {
                List<ModelManifest.Head> hs = new ArrayList<>();
                for (String h : heads) {
                    String[] kv = h.split("=", 2);
                    try {
                        hs.add(new ModelManifest.Head(kv[0].trim(), kv.length == 2 ? Double.parseDouble(kv[1]) : 1.0));
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--heads: bad weight in '" + h + "' (expected name=weight)");
                    }
                }
                mc = mc.withHeads(hs);
            }
            try (BuiltinModel m = BuiltinModel.create(mc, tc)) {
                m.withLineage("data", source).withLineage("size", ms.id());
                TrainingResult r = m.train(train, eval);
                ModelManifest manifest = m.export(out, eval);
                Map<String, Object> summary = new LinkedHashMap<>();
                summary.put("model", manifest.modelVersion());
                summary.put("dir", out.toString());
                summary.put("parameters", m.parameterCount());
                summary.put("train_seconds", Math.round(r.seconds() * 10) / 10.0);
                if (r.finalEval() != null) {
                    summary.putAll(r.finalEval().asMap());
                }
                summary.put("report", out.resolve("report/index.html").toString());
                System.out.println(JSON.writeValueAsString(summary));
            }
            return 0;
        }

        private Integer trainBert(List<PreferenceExample> train, List<PreferenceExample> eval, String source)
                throws Exception {
            if (!BertBackbone.ID.equals(backbone)) {
                throw new IllegalArgumentException("unknown --backbone '" + backbone + "' (expected " + BertBackbone.ID + ")");
            }
            if (train.isEmpty()) {
                throw new IllegalArgumentException("no training pairs");
            }
            if (!trainLayers.trim().equals("0")) {
                return fineTuneBert(train, eval, source);
            }
            BertHeadTrainer.Config cfg = BertHeadTrainer.Config.defaults();
            if (steps != null) {
                cfg = new BertHeadTrainer.Config(steps, cfg.learningRate(), cfg.l2());
            }
            if (lr != null) {
                cfg = new BertHeadTrainer.Config(cfg.steps(), lr, cfg.l2());
            }
            System.err.printf("training %s reward head on %d pairs (%d held out)%n", BertBackbone.ID, train.size(),
                    eval.size());
            try (BertBackbone b = BertBackbone.load()) {
                BertFeatures f = new BertFeatures(b, BertFeatures.defaultDir());
                BertHeadTrainer.Result r = BertHeadTrainer.train(f, train, eval, cfg, out, 1,
                        Map.of("data", source));
                Map<String, Object> summary = new LinkedHashMap<>();
                summary.put("model", r.manifest().modelVersion());
                summary.put("dir", out.toString());
                summary.put("backbone", BertBackbone.ID);
                summary.put("features_computed", r.featuresComputed());
                summary.put("train_seconds", Math.round(r.seconds() * 10) / 10.0);
                summary.put("train_accuracy", r.train().accuracy());
                if (r.heldOut() != null) {
                    summary.putAll(r.heldOut().asMap());
                }
                System.out.println(JSON.writeValueAsString(summary));
            }
            return 0;
        }

        private Integer fineTuneBert(List<PreferenceExample> train, List<PreferenceExample> eval, String source)
                throws Exception {
            BertFineTuner.Config cfg = BertFineTuner.Config.defaults()
                    .withTrainLayers(BertFineTuner.Config.parseLayers(trainLayers));
            cfg = cfg.withSchedule(epochs, batch, lr != null ? lr : cfg.learningRate(), seed, steps != null ? steps : 0);
            BertFineTuner.Result r = BertFineTuner.fineTune(BertBackbone.prepare(), train, eval, cfg, out, 1, null,
                    Map.of("data", source), Map.of("data", source), () -> false);
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("model", r.manifest().modelVersion());
            summary.put("dir", out.toString());
            summary.put("backbone", BertBackbone.ID);
            summary.put("train_layers", trainLayers);
            summary.put("trainable_parameters", r.trainableParams());
            summary.put("pairs_per_second", Math.round(r.pairsPerSecond() * 100) / 100.0);
            summary.put("train_seconds", Math.round(r.training().seconds() * 10) / 10.0);
            r.probeByCategory().forEach((k, v) -> summary.put("frozen_head_accuracy." + k, v.accuracy()));
            r.heldOutByCategory().forEach((k, v) -> summary.put("accuracy." + k, v.accuracy()));
            if (r.heldOut() != null) {
                summary.putAll(r.heldOut().asMap());
            }
            summary.put("report", out.resolve("report/index.html").toString());
            System.out.println(JSON.writeValueAsString(summary));
            return 0;
        }
    }

    @Command(name = "eval", mixinStandardHelpOptions = true, description = "Evaluate an exported model on held-out pairs.")
    static final class Eval implements Callable<Integer> {
        @Parameters(index = "0", description = "Model directory.")
        Path dir;

        @CommandLine.Mixin
        DataOptions d;

        @Option(names = "--eval-pairs", defaultValue = "1000", description = "Generated pairs for --task (default: ${DEFAULT-VALUE}).")
        int evalPairs;

        @Option(names = "--all", description = "With --data: evaluate on every pair, not only the held-out split.")
        boolean all;

        @Option(names = "--json", description = "Print one JSON object.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            return guarded(this::doCall);
        }

        private Integer doCall() throws Exception {
            d.validate();
            List<PreferenceExample> eval;
            if (d.task != null) {
                eval = d.arithmetic().generate(evalPairs, ArithmeticTask.Part.HELD_OUT, false);
            } else {
                List<PreferenceExample> loaded = d.loadJsonl();
                eval = all ? loaded : Splits.byPairId(loaded, d.heldOut).heldOut();
            }
            try (ExportedModel m = ExportedModel.load(dir)) {
                long t0 = System.nanoTime();
                EvalMetrics e = EvalMetrics.evaluate(m, eval);
                double secs = (System.nanoTime() - t0) / 1e9;
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("model", m.manifest().modelVersion());
                o.putAll(e.asMap());
                o.put("pairs", e.pairs());
                o.put("eval_seconds", Math.round(secs * 100) / 100.0);
                if (json) {
                    System.out.println(new ObjectMapper().writeValueAsString(o));
                } else {
                    System.out.println(m.manifest().modelVersion() + ": " + e);
                }
            }
            return 0;
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true, description = "Show signatures, manifest and parameter count.")
    static final class Inspect implements Callable<Integer> {
        @Parameters(index = "0", description = "Model directory.")
        Path dir;

        @Option(names = "--json", description = "Print one JSON object.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            return guarded(this::doCall);
        }

        private Integer doCall() throws Exception {
            try (ExportedModel m = ExportedModel.load(dir)) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("dir", dir.toString());
                o.put("parameters", m.parameterCount());
                o.put("signatures", m.signatures());
                o.put("manifest", JSON.readTree(m.manifest().toJson()));
                if (json) {
                    System.out.println(new ObjectMapper().writeValueAsString(o));
                } else {
                    System.out.println(JSON.writeValueAsString(o));
                }
            }
            return 0;
        }
    }

    @Command(name = "finetune", mixinStandardHelpOptions = true,
            description = "Run train_step of an exported model on new pairs and re-export it with a new manifest.")
    static final class FineTune implements Callable<Integer> {
        @Parameters(index = "0", description = "Source model directory.")
        Path source;

        @Option(names = "--out", required = true, description = "Target model directory.")
        Path out;

        @CommandLine.Mixin
        DataOptions d;

        @Option(names = "--steps", defaultValue = "100", description = "train_step calls (default: ${DEFAULT-VALUE}).")
        int steps;

        @Option(names = "--batch", defaultValue = "32", description = "Pairs per step (default: ${DEFAULT-VALUE}).")
        int batch;

        @Option(names = "--pairs", defaultValue = "5000", description = "Generated pairs for --task (default: ${DEFAULT-VALUE}).")
        int pairs;

        @Option(names = "--seed", defaultValue = "43", description = "Data-order seed (default: ${DEFAULT-VALUE}).")
        long seed;

        @Override
        public Integer call() throws Exception {
            return guarded(this::doCall);
        }

        private Integer doCall() throws Exception {
            d.validate();
            List<PreferenceExample> train;
            List<PreferenceExample> eval;
            if (d.task != null) {
                ArithmeticTask t = d.arithmetic();
                train = t.generate(pairs, ArithmeticTask.Part.TRAIN, true);
                eval = t.generate(1000, ArithmeticTask.Part.HELD_OUT, false);
            } else {
                Splits.Split<PreferenceExample> s = Splits.byPairId(d.loadJsonl(), d.heldOut);
                train = s.train();
                eval = s.heldOut();
            }
            if ("wordpiece".equals(ModelManifest.read(source).tokenizer())) {
                BertHeadTrainer.Config cfg = BertHeadTrainer.Config.defaults();
                BertHeadTrainer.Result r = BertHeadTrainer.fineTune(source, train, eval,
                        new BertHeadTrainer.Config(steps, cfg.learningRate(), cfg.l2()), out);
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("model", r.manifest().modelVersion());
                o.put("train", r.train().asMap());
                if (r.heldOut() != null) {
                    o.put("after", r.heldOut().asMap());
                }
                System.out.println(JSON.writeValueAsString(o));
                return 0;
            }
            FineTuner.Result r = FineTuner.fineTune(source, out, train, eval, steps, batch, seed);
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", r.manifest().modelVersion());
            o.put("first_loss", r.losses().get(0));
            o.put("last_loss", r.losses().get(r.losses().size() - 1));
            if (r.before() != null) {
                o.put("before", r.before().asMap());
                o.put("after", r.after().asMap());
            }
            System.out.println(JSON.writeValueAsString(o));
            return 0;
        }
    }

}
