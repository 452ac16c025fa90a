package io.rewardstream.cli.demo;

import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.RankedPreference;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.files.FileTrees;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.AvroSerializer;
import io.rewardstream.schema.SchemaRegistryClient;
import io.rewardstream.schema.SchemaRegistryConfig;
import io.rewardstream.release.KeyFiles;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.release.ReleaseSigning;
import io.rewardstream.topology.ReleaseHook;
import io.rewardstream.topology.ReleaseWatcherHook;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.topology.TopicProvisioner;
import io.rewardstream.release.ReleaseConfig;
import io.rewardstream.release.ReleaseWatcher;
import io.rewardstream.training.ArithmeticTask;
import io.rewardstream.training.ModelSize;
import io.rewardstream.release.ReleasePublisher;
import io.rewardstream.training.PreferenceExample;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The user's first hour in one call: local broker + registry, the cached built-in reward model, the scorer with a
 * release watcher, a retraining loop, and a simulated policy streaming rollouts; then a task shift with preference
 * pairs so a retrained model is released mid-run. See {@link #run}. One run per instance; not thread-safe.
 */
public final class DemoRunner {

    /**
     * @param rollouts       rollouts to stream (>= 100)
     * @param size           built-in model size
     * @param out            directory for plots, page, summary and the run's model root and state
     * @param cacheRoot      model cache root
     * @param groupSize      samples per prompt
     * @param pCorrect       probability that a simulated answer is correct
     * @param preferencePairs pairs of the shifted task sent for retraining
     * @param retrainSteps   fine-tuning steps of the retraining round
     * @param maxInFlight    rollouts sent but not yet rewarded before the simulated trainer waits (closed loop)
     * @param seed           seed of the simulated policy
     * @param progress       draw the status line on stderr
     * @param scenario       the story: reward hacking (default) or the add -> mul task shift
     * @param ensemble       heads of the built-in ensemble of reward model v1 (1 = no ensemble)
     * @param rankings       ranked lists (k = 4) sent to ranked-preferences with the pairs (reward hacking only)
     * @param retrainLearningRate peak learning rate of the retraining round
     */
    public record Options(int rollouts, ModelSize size, Path out, Path cacheRoot, int groupSize, double pCorrect,
                          int preferencePairs, int retrainSteps, int maxInFlight, long seed, boolean progress,
                          Duration timeout, ModelCache.Scenario scenario, int ensemble, int rankings,
                          double retrainLearningRate) {
        public Options {
            Objects.requireNonNull(scenario, "scenario");
            if (ensemble < 1 || ensemble > 16 || rankings < 0 || !(retrainLearningRate > 0)) {
                throw new IllegalArgumentException("need 1 <= --ensemble <= 16, --rankings >= 0 and a positive "
                        + "--retrain-lr");
            }
            if (rollouts < 100) {
                throw new IllegalArgumentException("--rollouts must be >= 100, got " + rollouts);
            }
            Objects.requireNonNull(size, "size");
            Objects.requireNonNull(out, "out");
            Objects.requireNonNull(cacheRoot, "cacheRoot");
            if (groupSize < 1 || groupSize > 64) {
                throw new IllegalArgumentException("--group-size must be in [1, 64], got " + groupSize);
            }
            if (!(pCorrect > 0 && pCorrect < 1)) {
                throw new IllegalArgumentException("--p-correct must be in (0, 1), got " + pCorrect);
            }
            if (preferencePairs < 10 || retrainSteps < 1 || maxInFlight < groupSize) {
                throw new IllegalArgumentException("need >= 10 preference pairs, >= 1 retrain step and "
                        + "max in-flight >= group size");
            }
        }

        /** Peak learning rate of the demo's retraining round (measured: see the README's Demo section). */
        public static final double DEFAULT_RETRAIN_LR = 1e-3;

        /** Task-shift options as before issue 12 (no ensemble, no rankings, learning rate 1e-3). */
        public Options(int rollouts, ModelSize size, Path out, Path cacheRoot, int groupSize, double pCorrect,
                       int preferencePairs, int retrainSteps, int maxInFlight, long seed, boolean progress,
                       Duration timeout) {
            this(rollouts, size, out, cacheRoot, groupSize, pCorrect, preferencePairs, retrainSteps, maxInFlight, seed,
                    progress, timeout, ModelCache.Scenario.TASK_SHIFT, 1, 0, 1e-3);
        }

        /**
         * Fine-tuning steps of the reward-hacking repair per size (measured with {@code HackHarness}: 800 steps of
         * {@code small} reach held-out accuracy 0.98 on the exposing pairs; 300 steps 0.87, 600 steps 0.87-0.92).
         */
        public static int defaultRetrainSteps(ModelSize size, ModelCache.Scenario scenario) {
            return switch (size) {
                case TINY -> 400;
                case SMALL -> 800;
                case BASE -> 400;
            };
        }

        /** Preference pairs sent for retraining by default. */
        public static int defaultPairs(ModelCache.Scenario scenario) {
            return scenario == ModelCache.Scenario.TASK_SHIFT ? 2000 : 5000;
        }

        /** Fine-tuning steps per size that move the shifted-task AUC in a few seconds to a minute on 2 cores. */
        public static int defaultRetrainSteps(ModelSize size) {
            return switch (size) {
                case TINY -> 400;
                case SMALL -> 300;
                case BASE -> 200;
            };
        }
    }

    static final String ORIGINAL = "add";
    static final String SHIFTED = "mul";
    /** Fractions of the rollouts: original task, shifted task before the release is awaited, the rest after. */
    static final double ORIGINAL_FRACTION = 0.4;
    static final double SHIFTED_BEFORE_FRACTION = 0.2;
    /** Reward hacking: original policy, drifted policy scored by v1, the rest (drifted + probes) after the release. */
    static final double HACK_ORIGINAL_FRACTION = 0.3;
    static final double HACK_DRIFT_BEFORE_FRACTION = 0.3;
    /** How often the fully drifted policy pads wrong / correct answers. */
    static final double HACK_PAD_WRONG = 0.9;
    static final double HACK_PAD_CORRECT = 0.4;

    private final Options o;
    private final PrintStream err;
    private final StatusLine bar;

    public DemoRunner(Options options, PrintStream err) {
        this.o = Objects.requireNonNull(options, "options");
        this.err = Objects.requireNonNull(err, "err");
        this.bar = new StatusLine(err, System.console() != null, options.progress());
    }

    /** What {@link #run} produced. */
    public record Result(DemoSummary summary, Path report) {
    }

    /**
     * Runs the demo end to end and writes the report under {@code out}.
     *
     * @throws IllegalStateException when rewards or the release do not arrive within the timeout (says which)
     * @throws Exception             when a component cannot start
     */
    public Result run() throws Exception {
        long tStart = System.nanoTime();
        Map<String, Double> timings = new java.util.LinkedHashMap<>();
        Path out = Files.createDirectories(o.out().toAbsolutePath());
        Path runDir = Files.createDirectories(out.resolve("run-" + Instant.now().toEpochMilli()));
        Path base = ModelCache.obtain(o.cacheRoot(), o.size(), o.scenario(), o.ensemble(), o.progress() ? err : null);
        timings.put("model_v1", secondsSince(tStart));
        long tStack = System.nanoTime();

        Path modelRoot = Files.createDirectories(runDir.resolve("models"));
        Path keys = Files.createDirectories(runDir.resolve("keys"));
        KeyPair kp = ReleaseSigning.generateKeyPair();
        KeyFiles.writePublic(keys.resolve("demo.pub"), kp.getPublic());
        Path privateKey = runDir.resolve("demo.key");
        KeyFiles.writePrivate(privateKey, kp.getPrivate());

        say("demo: starting Kafka and the schema registry on 127.0.0.1 ...");
        try (LocalStack stack = LocalStack.start()) {
            timings.put("stack_start", secondsSince(tStack));
            say("demo: stack ready in " + stack.startupMillis() + " ms (" + stack.bootstrapServers() + ", "
                    + stack.schemaRegistryUrl() + ")");
            TopicProvisioner topics = TopicProvisioner.fromClasspath(Map.of());
            Map<String, Object> client = new HashMap<>();
            client.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
            client.put("schema.registry.url", stack.schemaRegistryUrl());
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                    stack.bootstrapServers()))) {
                topics.createAll(admin);
            }
            // the cached model becomes signed release 1: the scorer starts on it and the retraining job builds on it
            Path v1Dir;
            try (ReleasePublisher publisher = ReleasePublisher.create(modelRoot, privateKey, "demo", client,
                    topics.topicName(TopicProvisioner.MODEL_RELEASES))) {
                Path staging = modelRoot.resolve(".staging-base");
                FileTrees.copyTree(base, staging);
                v1Dir = modelRoot.resolve(publisher.publish(staging, null, null, false).getLocation());
            }
            Map<String, Object> scorerProps = new HashMap<>();
            scorerProps.put(ScorerConfig.APPLICATION_ID, "rewardstream-demo-" + UUID.randomUUID());
            scorerProps.put(ScorerConfig.BOOTSTRAP_SERVERS, stack.bootstrapServers());
            scorerProps.put(ScorerConfig.SCHEMA_REGISTRY_URL, stack.schemaRegistryUrl());
            scorerProps.put(ScorerConfig.METRICS_PORT, "-1");
            scorerProps.put("state.dir", runDir.resolve("state").toString());
            scorerProps.put("model.dir", v1Dir.toString());
            scorerProps.put(ScorerConfig.GROUP_TIMEOUT_MS, "10000");
            scorerProps.put(ScorerConfig.SHUTDOWN_TIMEOUT_MS, "10000");
            // adaptive KL controller with a short horizon so beta visibly follows the drifting policy
            scorerProps.put("scoring.kl.controller", "adaptive");
            scorerProps.put("scoring.kl.target", "0.15");
            scorerProps.put("scoring.kl.horizon", "400");
            scorerProps.put("scoring.kl.window", "32");
            // one shared controller for all partitions: update at most once a second so beta moves within the demo
            scorerProps.put("scoring.kl.period.ms", "1000");
            // over-optimization monitors over the last 10 s (sampled into the page's monitor plots)
            scorerProps.put("scoring.monitor.window.ms", "10000");
            scorerProps.put(ReleaseConfig.MODEL_ROOT, modelRoot.toString());
            scorerProps.put(ReleaseConfig.PUBLIC_KEYS_DIR, keys.toString());
            scorerProps.put(ReleaseConfig.POLL_MS, "200");
            ScorerConfig cfg = ScorerConfig.from(scorerProps);

            DemoRecorder rec = new DemoRecorder(System.currentTimeMillis());
            ScorerApp scorer = new ScorerApp(cfg, new WatcherHook(client), null, null);
            try (scorer;
                 RetrainLoop retrainer = new RetrainLoop(client, topics, v1Dir, modelRoot, runDir, privateKey, "demo",
                         o.preferencePairs() + o.rankings() + originalPairs(), o.retrainSteps(),
                         o.retrainLearningRate(), o.seed());
                 RewardReader reader = new RewardReader(client, cfg.rewardsTopic(), rec)) {
                long tScorer = System.nanoTime();
                scorer.start();
                awaitRunning(scorer);
                timings.put("scorer_start", secondsSince(tScorer));
                MonitorSampler monitors = new MonitorSampler(scorer.registry(), 1000);
                String v1 = scorer.holder().modelVersion();
                say("demo: scorer running with " + v1 + "; streaming " + o.rollouts() + " rollouts (groups of "
                        + o.groupSize() + ")");
                long[] times;
                try {
                    times = stream(scorer, client, cfg, topics, rec, reader, retrainer, v1);
                } finally {
                    monitors.close();
                }
                bar.finish();
                long deadLetters = countRecords(client, cfg.deadLettersTopic());
                double seconds = (times[1] - times[0] - times[2]) / 1000.0;
                timings.put("streaming_and_scoring", seconds);
                timings.put("retraining_round_wait", times[2] / 1000.0);
                timings.put("total", secondsSince(tStart));
                DemoSummary summary = rec.summary(deadLetters, seconds, o.scenario().id).withTimings(timings);
                String json = com.fasterxml.jackson.databind.json.JsonMapper.builder().build()
                        .writerWithDefaultPrettyPrinter().writeValueAsString(summary.toJson());
                Path report = DemoReport.write(out, summary, json, monitors.points());
                if (times[2] > 0) {
                    say(String.format(java.util.Locale.ROOT, "demo: throughput excludes %.1f s spent waiting for "
                            + "the retraining round", times[2] / 1000.0));
                }
                return new Result(summary, report);
            }
        }
    }

    /** Streams the rollouts; returns {first sent ms, last reward ms, ms spent waiting for the release}. */
    private long[] stream(ScorerApp scorer, Map<String, Object> client, ScorerConfig cfg, TopicProvisioner topics, DemoRecorder rec,
                          RewardReader reader, RetrainLoop retrainer, String v1) throws Exception {
        Map<String, Object> pp = new HashMap<>(client);
        pp.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        // one registry client (one HTTP client and selector thread, one schema cache) for the three serializers
        SchemaRegistryClient schemas = new SchemaRegistryClient(SchemaRegistryConfig.from(client));
        AvroSerializer<Rollout> rolloutSer = new AvroSerializer<>(schemas, client, false);
        AvroSerializer<PreferencePair> pairSer = new AvroSerializer<>(schemas, client, false);
        AvroSerializer<RankedPreference> rankedSer = new AvroSerializer<>(schemas, client, false);
        int n = o.rollouts();
        boolean hack = o.scenario() == ModelCache.Scenario.REWARD_HACKING;
        int nOriginal = (int) Math.round(n * (hack ? HACK_ORIGINAL_FRACTION : ORIGINAL_FRACTION));
        int nBefore = (int) Math.round(n * (hack ? HACK_DRIFT_BEFORE_FRACTION : SHIFTED_BEFORE_FRACTION));
        HackScenario scenario = new HackScenario(ModelCache.HACK_SEED);
        ArithmeticTask add = hack ? scenario.task() : ModelCache.task();
        // the shifted task: multiplication, answers without filler (the verbosity cue the base model learned is gone)
        ArithmeticTask mul = new ArithmeticTask(ArithmeticTask.Config.defaults()
                .withOps(List.of(ArithmeticTask.Operation.MUL)).withHeldOutOperands(0).withSeed(o.seed() + 11));
        double originalPadding = hack ? 0.0 : 0.3;
        SimulatedPolicy addPolicy = new SimulatedPolicy(o.seed(), o.pCorrect(), o.groupSize(), originalPadding);
        // after the drift, probe groups of the original policy measure the original task under the new model
        SimulatedPolicy probePolicy = new SimulatedPolicy(o.seed() + 2, o.pCorrect(), o.groupSize(), originalPadding);
        SimulatedPolicy driftPolicy = new SimulatedPolicy(o.seed() + 1, o.pCorrect(), o.groupSize(), 0.0);
        ArithmeticTask driftTask = hack ? add : mul;
        String driftName = hack ? ORIGINAL : SHIFTED;
        long waited = 0;
        long first;
        try (KafkaProducer<String, Rollout> producer = new KafkaProducer<>(pp, new StringSerializer(), rolloutSer);
             KafkaProducer<String, PreferencePair> pairs = new KafkaProducer<>(pp, new StringSerializer(), pairSer);
             KafkaProducer<String, RankedPreference> ranked = new KafkaProducer<>(pp, new StringSerializer(),
                     rankedSer)) {
            first = System.currentTimeMillis();
            int sent = 0;
            boolean shifted = false;
            boolean awaited = false;
            long groups = 0;
            long deadline = System.currentTimeMillis() + o.timeout().toMillis();
            while (sent < n) {
                if (!shifted && sent >= nOriginal) {
                    shifted = true;
                    if (hack) {
                        bar.println("demo: the policy drifts towards what reward model v1 over-rewards (answers, "
                                + "wrong ones included, wrapped in filler) after " + sent + " rollouts; sending "
                                + o.preferencePairs() + " verified pairs and " + o.rankings()
                                + " ranked lists that expose the flaw for retraining");
                        sendHackData(pairs, topics.topicName(TopicProvisioner.PREFERENCES), ranked,
                                topics.topicName(TopicProvisioner.RANKED_PREFERENCES), scenario);
                    } else {
                        bar.println("demo: task shift after " + sent + " rollouts: " + ORIGINAL + " -> " + SHIFTED
                                + "; sending " + o.preferencePairs() + " " + SHIFTED + " and " + originalPairs() + " "
                                + ORIGINAL + " preference pairs for retraining");
                        sendPairs(pairs, topics.topicName(TopicProvisioner.PREFERENCES), mul);
                    }
                }
                if (shifted && !awaited && sent >= nOriginal + nBefore) {
                    awaited = true;
                    long t0 = System.currentTimeMillis();
                    awaitNewVersion(scorer, rec, reader, retrainer, v1, sent, deadline);
                    waited += System.currentTimeMillis() - t0;
                }
                while (sent - rec.rewardCount() >= o.maxInFlight()) {   // closed loop: a trainer waits for rewards
                    checkAlive(reader, retrainer, deadline, "rewards for the rollouts in flight");
                    draw(sent, rec, shifted ? retrainer.status() : "");
                    Thread.sleep(2);
                }
                long now = System.currentTimeMillis();
                if (hack && shifted) {
                    // the drift ramps up over the first half of the drifted rollouts, then holds
                    double f = Math.min(1.0, (sent - nOriginal) / Math.max(1.0, nBefore / 2.0));
                    driftPolicy.padding(HACK_PAD_WRONG * f, HACK_PAD_CORRECT * f);
                }
                boolean probe = awaited && groups % 3 == 2;
                groups++;
                SimulatedPolicy policy = probe ? probePolicy : shifted ? driftPolicy : addPolicy;
                policy.drift(0.005 + 0.15 * sent / n);   // the policy moves away from its reference as it trains
                boolean drifted = shifted && !probe;
                for (SimulatedPolicy.Sample s : policy.group(drifted ? driftTask : add, drifted ? driftName : ORIGINAL,
                        "policy-" + (1 + sent / 1000), now)) {
                    if (sent >= n) {
                        break;
                    }
                    Rollout r = s.rollout();
                    rec.produced(r.getRolloutId(), s.correct(), s.task(), drifted, s.padded(), probe);
                    producer.send(new ProducerRecord<>(cfg.rolloutsTopic(), r.getGroupId(), r));
                    sent++;
                }
                draw(sent, rec, shifted ? retrainer.status() : "");
            }
            producer.flush();
            long deadline2 = System.currentTimeMillis() + o.timeout().toMillis();
            while (rec.rewardCount() < n) {
                checkAlive(reader, retrainer, deadline2, "the last rewards (" + rec.rewardCount() + "/" + n + ")");
                draw(sent, rec, "draining");
                Thread.sleep(10);
            }
            draw(sent, rec, "done", true);
        }
        List<DemoRecorder.Observation> obs = rec.snapshot();
        long last = obs.stream().mapToLong(DemoRecorder.Observation::readAtMs).max().orElse(first);
        return new long[]{first, last, waited};
    }

    private void awaitNewVersion(ScorerApp scorer, DemoRecorder rec, RewardReader reader, RetrainLoop retrainer, String v1,
                                 int sent, long deadline) throws InterruptedException {
        // drain what is in flight, then hold the simulated trainer until a newer model scores: the "after" sample
        while (rec.rewardCount() < sent) {
            checkAlive(reader, retrainer, deadline, "rewards before the release");
            draw(sent, rec, retrainer.status());
            Thread.sleep(20);
        }
        while (v1.equals(scorer.holder().modelVersion())) {
            checkAlive(reader, retrainer, deadline, "the retrained release (" + retrainer.status() + ")");
            draw(sent, rec, retrainer.status());
            Thread.sleep(50);
        }
        bar.println("demo: the retraining job released " + scorer.holder().modelVersion()
                + "; the scorer verified its signature and hot-swapped to it");
    }

    /** The pairs and ranked lists (k = 4, responses shuffled) that expose reward model v1's length bias. */
    private void sendHackData(KafkaProducer<String, PreferencePair> pairProducer, String pairTopic,
                              KafkaProducer<String, RankedPreference> rankedProducer, String rankedTopic,
                              HackScenario scenario) {
        long now = System.currentTimeMillis();
        for (PreferenceExample e : scenario.exposingPairs(o.preferencePairs(), 0.5, o.seed() + 101)) {
            PreferencePair p = PreferencePair.newBuilder().setPairId("demo-" + e.id()).setPromptText(e.prompt())
                    .setChosenText(e.chosen()).setRejectedText(e.rejected()).setSource("verifier")
                    .setAnnotatorId("arithmetic-checker").setCreatedAt(Instant.ofEpochMilli(now)).build();
            pairProducer.send(new ProducerRecord<>(pairTopic, p.getPairId(), p));
        }
        java.util.Random rnd = new java.util.Random(o.seed() + 103);
        for (io.rewardstream.training.RankedExample e : scenario.exposingRankings(o.rankings(), 0.5, o.seed() + 102)) {
            int k = e.responsesBestFirst().size();
            List<Integer> slot = new java.util.ArrayList<>();
            for (int i = 0; i < k; i++) {
                slot.add(i);
            }
            java.util.Collections.shuffle(slot, rnd);   // slot.get(r) = where the response of rank r is listed
            io.rewardstream.avro.RankedResponse[] rs = new io.rewardstream.avro.RankedResponse[k];
            for (int r = 0; r < k; r++) {
                rs[slot.get(r)] = io.rewardstream.avro.RankedResponse.newBuilder()
                        .setText(e.responsesBestFirst().get(r)).build();
            }
            RankedPreference rp = RankedPreference.newBuilder().setRankingId("demo-" + e.id())
                    .setPromptText(e.prompt()).setResponses(List.of(rs)).setRanking(slot)
                    .setAnnotatorId("arithmetic-grader").setCreatedAt(Instant.ofEpochMilli(now)).build();
            rankedProducer.send(new ProducerRecord<>(rankedTopic, rp.getRankingId(), rp));
        }
        pairProducer.flush();
        rankedProducer.flush();
    }

    /**
     * Task shift: pairs of the original task sent with the shifted task's (half as many), so the round keeps addition
     * (without them it forgets it: original-task AUC 0.957 -> 0.603 measured). None for reward hacking, whose
     * exposing pairs already cover the original task.
     */
    private int originalPairs() {
        return o.scenario() == ModelCache.Scenario.TASK_SHIFT ? o.preferencePairs() / 2 : 0;
    }

    private void sendPairs(KafkaProducer<String, PreferencePair> producer, String topic, ArithmeticTask mul) {
        long now = System.currentTimeMillis();
        List<PreferenceExample> all = new java.util.ArrayList<>(mul.generate(o.preferencePairs(),
                ArithmeticTask.Part.ANY, false));
        all.addAll(new ArithmeticTask(ModelCache.task().config().withSeed(o.seed() + 21)).generate(originalPairs(),
                ArithmeticTask.Part.TRAIN, false));
        for (PreferenceExample e : all) {
            PreferencePair p = PreferencePair.newBuilder().setPairId("demo-" + e.id()).setPromptText(e.prompt())
                    .setChosenText(e.chosen()).setRejectedText(e.rejected()).setSource("verifier")
                    .setAnnotatorId("arithmetic-checker").setCreatedAt(Instant.ofEpochMilli(now)).build();
            producer.send(new ProducerRecord<>(topic, p.getPairId(), p));
        }
        producer.flush();
    }

    private void checkAlive(RewardReader reader, RetrainLoop retrainer, long deadline, String what) {
        if (reader.failure() != null) {
            throw new IllegalStateException("reading rewards failed: " + reader.failure(), reader.failure());
        }
        if (retrainer.failure() != null) {
            throw new IllegalStateException("retraining failed: " + retrainer.failure(), retrainer.failure());
        }
        if (System.currentTimeMillis() > deadline) {
            throw new IllegalStateException("timed out after " + o.timeout().toSeconds() + " s waiting for " + what);
        }
    }

    private long lastCount;
    private long lastRateNs = System.nanoTime();
    private double rate;

    private void draw(int sent, DemoRecorder rec, String phase) {
        draw(sent, rec, phase, false);
    }

    private void draw(int sent, DemoRecorder rec, String phase, boolean force) {
        long now = System.nanoTime();
        int got = rec.rewardCount();
        if (now - lastRateNs > 1_000_000_000L) {
            rate = (got - lastCount) * 1e9 / (now - lastRateNs);
            lastCount = got;
            lastRateNs = now;
        }
        bar.update(sent, o.rollouts(), got, rec.latestModelVersion(), rate, phase, force);
    }

    private void say(String s) {
        if (o.progress()) {
            bar.println(s);
        }
    }

    private static double secondsSince(long nanos) {
        return (System.nanoTime() - nanos) / 1e9;
    }

    private static void awaitRunning(ScorerApp scorer) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 120_000;
        while (!scorer.isReady()) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("scorer not RUNNING after 120 s (state " + scorer.state() + ")");
            }
            Thread.sleep(50);
        }
    }

    /** Committed records on a topic (read to its end with read_committed). */
    static long countRecords(Map<String, Object> client, String topic) {
        Map<String, Object> p = new HashMap<>(client);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            var parts = c.partitionsFor(topic).stream()
                    .map(i -> new org.apache.kafka.common.TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<org.apache.kafka.common.TopicPartition, Long> end = c.endOffsets(parts);
            long n = 0;
            long deadline = System.currentTimeMillis() + 30_000;
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))
                    && System.currentTimeMillis() < deadline) {
                n += c.poll(Duration.ofMillis(200)).count();
            }
            return n;
        }
    }

    /** Scorer release hook: a {@link ReleaseWatcher} on the release topic. */
    private static final class WatcherHook implements ReleaseHook {
        private final Map<String, Object> client;

        WatcherHook(Map<String, Object> client) {
            this.client = client;
        }

        @Override
        public AutoCloseable start(ScorerConfig config, ModelHolder holder, MeterRegistry registry) {
            ReleaseWatcher w = new ReleaseWatcher(ReleaseConfig.from(config.raw()), client, holder, registry,
                    ReleaseWatcherHook.loader(config));
            w.start();
            return w;
        }
    }

    /** Reads rewards (read_committed) on its own thread into the recorder. */
    static final class RewardReader implements AutoCloseable {
        private final KafkaConsumer<String, Reward> consumer;
        private final Thread thread;
        private final AtomicBoolean running = new AtomicBoolean(true);
        private volatile Throwable failure;

        RewardReader(Map<String, Object> client, String topic, DemoRecorder rec) {
            Map<String, Object> p = new HashMap<>(client);
            p.put(ConsumerConfig.GROUP_ID_CONFIG, "rewardstream-demo-reader-" + UUID.randomUUID());
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            AvroDeserializer<Reward> d = new AvroDeserializer<>(Reward.class);
            d.configure(client, false);
            consumer = new KafkaConsumer<>(p, new StringDeserializer(), d);
            consumer.subscribe(List.of(topic));
            thread = new Thread(() -> {
                try {
                    while (running.get()) {
                        for (ConsumerRecord<String, Reward> r : consumer.poll(Duration.ofMillis(100))) {
                            rec.observe(r.value(), System.currentTimeMillis());
                        }
                    }
                } catch (WakeupException e) {
                    // closing
                } catch (Throwable t) {
                    failure = t;
                }
            }, "demo-reward-reader");
            thread.setDaemon(true);
            thread.start();
        }

        Throwable failure() {
            return failure;
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            consumer.wakeup();
            thread.join(30_000);
            consumer.close();
        }
    }
}
