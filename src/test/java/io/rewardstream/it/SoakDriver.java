package io.rewardstream.it;

import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.cli.demo.ModelCache;
import io.rewardstream.dev.ApicurioRegistry;
import io.rewardstream.files.FileTrees;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.AvroSerializer;
import io.rewardstream.release.KeyFiles;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.release.ReleaseSigning;
import io.rewardstream.scoring.ReleaseTestModels;
import io.rewardstream.release.ReleaseVerifier;
import io.rewardstream.training.ArithmeticTask;
import io.rewardstream.training.BuiltinModel;
import io.rewardstream.training.ModelConfig;
import io.rewardstream.training.ModelSize;
import io.rewardstream.training.PreferenceExample;
import io.rewardstream.release.ReleasePublisher;
import io.rewardstream.training.ReplayBuffer;
import io.rewardstream.training.StoredPair;
import io.rewardstream.training.TrainConfig;
import io.rewardstream.topology.HangingTransactions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * Helper processes for {@code ops/soak.sh} (NOT a CI test): a registry, a model, topics, a rate-limited rollout
 * producer and the final exact-count check. Run with the test and runtime class path:
 * <pre>
 *   java -cp target/test-classes:target/classes:$(cat target/classpath.txt) io.rewardstream.it.SoakDriver CMD ...
 * </pre>
 * Commands: {@code registry URL_FILE} (Apicurio until killed), {@code model DIR}, {@code topics BOOTSTRAP PREFIX
 * PARTITIONS}, {@code produce BOOTSTRAP REGISTRY TOPIC COUNT RATE PREFIX [text]} (text: also prompt and response
 * text, for tokenizer=bytes models), {@code verify BOOTSTRAP REGISTRY PREFIX
 * EXPECTED TIMEOUT_S} (exit 0 iff exactly EXPECTED distinct rewards, no duplicate, no dead letter; on a mismatch
 * it also prints how far the scorer group's committed offsets are behind the rollouts' log end, and how many
 * rollouts below them have no reward: a lag is a liveness problem, a loss a correctness bug),
 * {@code hanging BOOTSTRAP MIN_AGE_MS [abort]} (prints every hanging transaction, see {@link HangingTransactions};
 * with {@code abort} writes their abort markers; exit 0, or 1 when an abort failed).
 * With the retraining job ({@code SOAK_RETRAIN=1}): {@code retrain-topics BOOTSTRAP PREFIX PARTITIONS},
 * {@code base MODEL_ROOT KEY_DIR BOOTSTRAP REGISTRY RELEASE_TOPIC} (a built-in tiny model trained on addition, or the
 * demo's cached one, published as signed release 1; prints its directory; writes {@code KEY_DIR/release.key} and
 * {@code KEY_DIR/pub/soak.pub}), {@code pairs BOOTSTRAP REGISTRY TOPIC COUNT RATE} (multiplication preference pairs
 * {@code p<i>}), {@code retrain-verify BOOTSTRAP REGISTRY PREFIX PAIRS REPLAY_DIR MODEL_ROOT PUB_DIR
 * BROKER_BACK_EPOCH_MS SCORER_VERSIONS} (run after the job stopped; exit 0 iff no pair lost, every version published
 * once, every release verifies, a release after the broker restart, every scorer on the newest version).
 */
public final class SoakDriver {
    private SoakDriver() {
    }

    public static void main(String[] a) throws Exception {
        switch (a[0]) {
            case "registry" -> registry(Path.of(a[1]));
            case "model" -> System.out.println(ReleaseTestModels.tinySavedModel(Path.of(a[1]), "soak", 1, 5));
            case "topics" -> topics(a[1], a[2], Integer.parseInt(a[3]));
            case "produce" -> produce(a[1], a[2], a[3], Long.parseLong(a[4]), Integer.parseInt(a[5]), a[6],
                    a.length > 7 && a[7].equals("text"));
            case "verify" -> System.exit(verify(a[1], a[2], a[3], Long.parseLong(a[4]), Integer.parseInt(a[5])));
            case "hanging" -> System.exit(hanging(a[1], Long.parseLong(a[2]), a.length > 3 && a[3].equals("abort")));
            case "retrain-topics" -> retrainTopics(a[1], a[2], Integer.parseInt(a[3]));
            case "base" -> System.out.println(base(Path.of(a[1]), Path.of(a[2]), a[3], a[4], a[5]));
            case "pairs" -> pairs(a[1], a[2], a[3], Long.parseLong(a[4]), Double.parseDouble(a[5]));
            case "retrain-verify" -> System.exit(retrainVerify(a[1], a[2], a[3], Long.parseLong(a[4]), Path.of(a[5]),
                    Path.of(a[6]), Path.of(a[7]), Long.parseLong(a[8]), a.length > 9 ? a[9] : ""));
            default -> throw new IllegalArgumentException("unknown command " + a[0]);
        }
    }

    private static void registry(Path urlFile) throws Exception {
        ApicurioRegistry r = ApicurioRegistry.start();
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            r.close();
            stop.countDown();
        }));
        Files.writeString(urlFile, r.confluentApiUrl());
        System.out.println("registry " + r.confluentApiUrl());
        stop.await();
    }

    private static void topics(String bootstrap, String prefix, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            List<NewTopic> t = new ArrayList<>();
            for (String s : List.of("rollouts", "rewards", "group-advantages", "dlq")) {
                t.add(new NewTopic(prefix + "-" + s, partitions, (short) 1));
            }
            try {
                admin.createTopics(t).all().get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
        }
    }

    private static void produce(String bootstrap, String registry, String topic, long count, int rate, String prefix,
                                boolean withText) throws Exception {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 300_000); // rides out a broker restart
        AvroSerializer<Rollout> values = new AvroSerializer<>();
        values.configure(Map.of("schema.registry.url", registry), false);
        RolloutGenerator gen = new RolloutGenerator(42, prefix, 260, 128);
        AtomicLong failed = new AtomicLong();
        long t0 = System.nanoTime();
        long sent = 0;
        try (KafkaProducer<String, Rollout> producer = new KafkaProducer<>(p, new StringSerializer(), values)) {
            while (sent < count) {
                for (Rollout r : gen.group(2)) {
                    if (sent >= count) {
                        break;
                    }
                    if (withText) {   // models with tokenizer=bytes (the built-in ones) score text, not ids
                        r.setPromptText(text(r.getPromptTokenIds()));
                        r.setResponseText(text(r.getResponseTokenIds()));
                    }
                    producer.send(new ProducerRecord<>(topic, r.getGroupId(), r), (md, e) -> {
                        if (e != null) {
                            failed.incrementAndGet();
                            System.err.println("send failed: " + e);
                        }
                    });
                    sent++;
                }
                long due = t0 + sent * 1_000_000_000L / rate;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                if (sent % (rate * 10L) < 2) {
                    System.out.printf("produced %d/%d%n", sent, count);
                }
            }
            producer.flush();
        }
        System.out.printf("produced %d rollouts (%d failed sends) in %d s%n", sent, failed.get(),
                (System.nanoTime() - t0) / 1_000_000_000L);
        if (failed.get() > 0) {
            System.exit(2);
        }
    }

    /** Printable text standing for token ids (one lower-case letter per id). */
    private static String text(List<Integer> ids) {
        StringBuilder b = new StringBuilder(ids.size());
        for (int id : ids) {
            b.append((char) ('a' + Math.floorMod(id, 26)));
        }
        return b.toString();
    }

    private static int verify(String bootstrap, String registry, String prefix, long expected, int timeoutS) {
        AvroDeserializer<Reward> d = new AvroDeserializer<>(Reward.class);
        d.configure(Map.of("schema.registry.url", registry), false);
        Map<String, Integer> counts = new HashMap<>();
        long total = 0;
        long dead = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(timeoutS).toNanos();
        try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap);
             KafkaConsumer<byte[], byte[]> dlq = consumer(bootstrap)) {
            c.subscribe(List.of(prefix + "-rewards"));
            dlq.subscribe(List.of(prefix + "-dlq"));
            long quietSince = System.nanoTime();
            while (System.nanoTime() < deadline) {
                int got = 0;
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    counts.merge(d.deserialize(r.topic(), r.value()).getRolloutId(), 1, Integer::sum);
                    total++;
                    got++;
                }
                for (ConsumerRecord<byte[], byte[]> r : dlq.poll(Duration.ofMillis(50))) {
                    dead++;
                    got++;
                    System.err.println("dead letter: " + (r.key() == null ? null
                            : new String(r.key(), StandardCharsets.UTF_8)));
                }
                if (got > 0) {
                    quietSince = System.nanoTime();
                }
                // all in, and 5 s without anything new (late duplicates would show up here)
                if (counts.size() >= expected && System.nanoTime() - quietSince > 5_000_000_000L) {
                    break;
                }
            }
        }
        long dups = counts.values().stream().filter(n -> n > 1).count();
        boolean ok = counts.size() == expected && dups == 0 && dead == 0 && total == expected;
        System.out.printf("verify: expected %d, rewards %d, distinct %d, duplicated ids %d, dead letters %d -> %s%n",
                expected, total, counts.size(), dups, dead, ok ? "EXACT" : "MISMATCH");
        if (!ok) {
            lagOrLoss(bootstrap, registry, prefix, counts.keySet());
        }
        return ok ? 0 : 1;
    }

    /**
     * After a mismatch: per rollouts partition, the scorer group's committed offset against the log end (behind =
     * not processed yet, a liveness problem) and the rollouts below the committed offset without a reward (held in
     * a scorer's change-logged buffer — at most a batch or two per partition — or lost).
     */
    private static void lagOrLoss(String bootstrap, String registry, String prefix, Set<String> rewarded) {
        String topic = prefix + "-rollouts";
        AvroDeserializer<Rollout> d = new AvroDeserializer<>(Rollout.class);
        d.configure(Map.of("schema.registry.url", registry), false);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap));
             KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(prefix + "-scorer")
                    .partitionsToOffsetAndMetadata().get(60, TimeUnit.SECONDS);
            List<TopicPartition> tps = new ArrayList<>();
            c.partitionsFor(topic).forEach(i -> tps.add(new TopicPartition(topic, i.partition())));
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            Map<TopicPartition, Long> unrewardedBelow = new TreeMap<>(Comparator.comparing(TopicPartition::toString));
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (System.nanoTime() < deadline && tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    OffsetAndMetadata om = committed.get(tp);
                    if (om != null && r.offset() < om.offset()
                            && !rewarded.contains(d.deserialize(r.topic(), r.value()).getRolloutId())) {
                        unrewardedBelow.merge(tp, 1L, Long::sum);
                    }
                }
            }
            long behind = 0;
            StringBuilder per = new StringBuilder();
            for (TopicPartition tp : tps) {
                OffsetAndMetadata om = committed.get(tp);
                long co = om == null ? 0 : om.offset();
                behind += end.get(tp) - co;
                per.append(String.format(" %s committed %d/%d (behind %d, below it without reward %d);", tp, co,
                        end.get(tp), end.get(tp) - co, unrewardedBelow.getOrDefault(tp, 0L)));
            }
            System.out.printf("verify-lag: scorer group %s-scorer is behind the rollouts by %d, %d below its committed "
                    + "offsets have no reward (buffered or lost):%s%n", prefix, behind,
                    unrewardedBelow.values().stream().mapToLong(Long::longValue).sum(), per);
        } catch (Exception e) {
            System.out.println("verify-lag: could not compare committed offsets: " + e);
        }
    }

    private static int hanging(String bootstrap, long minAgeMs, boolean abort) {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            List<HangingTransactions.Hanging> found = HangingTransactions.find(admin, minAgeMs);
            for (HangingTransactions.Hanging h : found) {
                System.out.printf("hanging transaction: %s producer id %d epoch %d open since offset %d (%s)%n",
                        h.open().partition(), h.open().producerId(), h.open().producerEpoch(), h.open().firstOffset(),
                        h.reason());
            }
            int aborted = abort ? HangingTransactions.abort(admin, found, Duration.ofSeconds(30)) : 0;
            System.out.printf("hanging: %d found, %d aborted%n", found.size(), aborted);
            return 0;
        } catch (IllegalStateException e) {
            System.out.println("hanging: " + e.getMessage());
            return 1;
        }
    }

    private static void retrainTopics(String bootstrap, String prefix, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            List<NewTopic> t = List.of(new NewTopic(prefix + "-prefs", partitions, (short) 1),
                    new NewTopic(prefix + "-ranked", 1, (short) 1),
                    new NewTopic(prefix + "-releases", 1, (short) 1).configs(Map.of("cleanup.policy", "compact")),
                    new NewTopic(prefix + "-retrain-dlq", 1, (short) 1));
            try {
                admin.createTopics(t).all().get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
        }
    }

    /** Signed release 1 of a built-in tiny model (the demo's cached one when present, else trained here). */
    private static Path base(Path root, Path keyDir, String bootstrap, String registry, String topic)
            throws Exception {
        Files.createDirectories(root);
        KeyPair kp = ReleaseSigning.generateKeyPair();
        Files.createDirectories(keyDir.resolve("pub"));
        KeyFiles.writePrivate(keyDir.resolve("release.key"), kp.getPrivate());
        KeyFiles.writePublic(keyDir.resolve("pub").resolve("soak.pub"), kp.getPublic());
        Path staging = root.resolve(".staging-base");
        Path cached = ModelCache.dirFor(ModelCache.defaultRoot(), ModelSize.TINY);
        long t0 = System.nanoTime();
        if (Files.isDirectory(cached) && Files.exists(cached.resolve(ModelManifest.FILE_NAME))) {
            FileTrees.copyTree(cached, staging);
            System.err.println("base: copied the cached " + cached);
        } else {
            ArithmeticTask add = ModelCache.task();
            try (BuiltinModel m = BuiltinModel.create(ModelConfig.of(ModelSize.TINY),
                    TrainConfig.defaults(ModelSize.TINY).withSteps(300).withProgress(false))) {
                m.train(add.generate(2000, ArithmeticTask.Part.TRAIN, false), List.of());
                m.export(staging, add.generate(200, ArithmeticTask.Part.HELD_OUT, false));
            }
            System.err.printf("base: trained builtin tiny on addition in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        }
        Map<String, Object> client = Map.of("bootstrap.servers", bootstrap, "schema.registry.url", registry);
        try (ReleasePublisher publisher = ReleasePublisher.create(root, keyDir.resolve("release.key"), "soak", client,
                topic)) {
            ModelRelease r = publisher.publish(staging, null, null, false);
            System.err.println("base: published " + r.getModelName() + ":" + r.getVersion());
            return root.resolve(r.getLocation().toString());
        }
    }

    /** Multiplication preference pairs {@code p0..p<count-1>} at {@code rate}/s (idempotent, rides out restarts). */
    private static void pairs(String bootstrap, String registry, String topic, long count, double rate)
            throws Exception {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 300_000);
        AvroSerializer<PreferencePair> values = new AvroSerializer<>();
        values.configure(Map.of("schema.registry.url", registry), false);
        ArithmeticTask mul = new ArithmeticTask(ArithmeticTask.Config.defaults()
                .withOps(List.of(ArithmeticTask.Operation.MUL)).withVerbosityTrap(0).withSeed(7));
        List<PreferenceExample> examples = mul.generate((int) count, ArithmeticTask.Part.ANY, false);
        AtomicLong failed = new AtomicLong();
        long t0 = System.nanoTime();
        long sent = 0;
        try (KafkaProducer<String, PreferencePair> producer = new KafkaProducer<>(p, new StringSerializer(), values)) {
            for (PreferenceExample e : examples) {
                String id = "p" + sent;
                PreferencePair pair = PreferencePair.newBuilder().setPairId(id).setPromptText(e.prompt())
                        .setChosenText(e.chosen()).setRejectedText(e.rejected()).setAnnotatorId("soak")
                        .setSource("arithmetic").setCreatedAt(Instant.now()).build();
                producer.send(new ProducerRecord<>(topic, id, pair), (md, ex) -> {
                    if (ex != null) {
                        failed.incrementAndGet();
                        System.err.println("send failed: " + ex);
                    }
                });
                sent++;
                long wait = t0 + (long) (sent * 1e9 / rate) - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                if (sent % Math.max(1, (long) (rate * 60)) == 0) {
                    System.out.printf("pairs %d/%d%n", sent, count);
                }
            }
            producer.flush();
        }
        System.out.printf("produced %d pairs (%d failed sends) in %d s%n", sent, failed.get(),
                (System.nanoTime() - t0) / 1_000_000_000L);
        if (failed.get() > 0) {
            System.exit(2);
        }
    }

    /**
     * The retraining checks; {@code scorerVersions} = comma-separated versions the scorers reported on /metrics at
     * the end. Prints one {@code retrain-verify:} line; 0 iff all hold.
     */
    private static int retrainVerify(String bootstrap, String registry, String prefix, long pairs, Path replayDir,
                                     Path root, Path pubDir, long brokerBackMs, String scorerVersions)
            throws Exception {
        String prefs = prefix + "-prefs";
        // where each produced pair landed, and the releases, read_committed from the beginning
        Map<String, TopicPartition> partitionOf = new HashMap<>();
        Map<String, Long> offsetOf = new HashMap<>();
        List<ConsumerRecord<byte[], byte[]>> releaseRecords = new ArrayList<>();
        AvroDeserializer<PreferencePair> pd = new AvroDeserializer<>(PreferencePair.class);
        pd.configure(Map.of("schema.registry.url", registry), false);
        AvroDeserializer<ModelRelease> rd = new AvroDeserializer<>(ModelRelease.class);
        rd.configure(Map.of("schema.registry.url", registry), false);
        Map<TopicPartition, Long> end;
        Map<TopicPartition, OffsetAndMetadata> committed;
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            committed = admin.listConsumerGroupOffsets(prefix + "-retrain").partitionsToOffsetAndMetadata().get();
        }
        try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (String t : List.of(prefs, prefix + "-releases")) {
                c.partitionsFor(t).forEach(i -> tps.add(new TopicPartition(t, i.partition())));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            end = c.endOffsets(tps);
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (System.nanoTime() < deadline && tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    if (r.topic().equals(prefs)) {
                        String id = pd.deserialize(r.topic(), r.value()).getPairId().toString();
                        partitionOf.put(id, new TopicPartition(r.topic(), r.partition()));
                        offsetOf.put(id, r.offset());
                    } else {
                        releaseRecords.add(r);
                    }
                }
            }
        }
        Set<String> buffered = ReplayBuffer.open(replayDir, Integer.MAX_VALUE).pairs().stream().map(StoredPair::id)
                .collect(Collectors.toSet());
        long lost = 0;
        long onlyCommitted = 0;
        for (long i = 0; i < pairs; i++) {
            String id = "p" + i;
            if (buffered.contains(id)) {
                continue;
            }
            TopicPartition tp = partitionOf.get(id);
            OffsetAndMetadata om = tp == null ? null : committed.get(tp);
            if (om != null && offsetOf.get(id) < om.offset()) {
                onlyCommitted++;
            } else {
                lost++;
                if (lost <= 10) {
                    System.err.println("lost pair " + id + (tp == null ? " (not on the topic)" : " at " + tp + "@"
                            + offsetOf.get(id)));
                }
            }
        }
        // releases: each version once, each verifies, at least one after the broker came back
        ReleaseVerifier verifier = new ReleaseVerifier(root, KeyFiles.readPublicKeyDir(pubDir), false, false);
        Map<Long, Long> perVersion = new TreeMap<>();
        long bad = 0;
        long afterRestart = 0;
        for (ConsumerRecord<byte[], byte[]> r : releaseRecords) {
            ModelRelease m = rd.deserialize(r.topic(), r.value());
            perVersion.merge(m.getVersion(), 1L, Long::sum);
            try {
                if (!verifier.verify(m, null).signed()) {
                    bad++;
                    System.err.println("unsigned release " + m.getVersion());
                }
            } catch (RuntimeException e) {
                bad++;
                System.err.println("release " + m.getVersion() + " does not verify: " + e);
            }
            if (brokerBackMs > 0 && r.timestamp() >= brokerBackMs) {
                afterRestart++;
            }
        }
        long duplicated = perVersion.values().stream().filter(n -> n > 1).count();
        long newest = perVersion.keySet().stream().mapToLong(Long::longValue).max().orElse(0);
        boolean contiguous = perVersion.size() == newest;   // 1..newest, none skipped
        List<String> scorers = scorerVersions.isBlank() ? List.of() : List.of(scorerVersions.split(","));
        boolean scorersNewest = !scorers.isEmpty() && scorers.stream().allMatch(v -> {
            try {
                return (long) Double.parseDouble(v) == newest;
            } catch (NumberFormatException e) {
                return false;
            }
        });
        long committedTotal = committed.entrySet().stream().filter(e -> e.getKey().topic().equals(prefs)
                && e.getValue() != null).mapToLong(e -> e.getValue().offset()).sum();
        long endTotal = end.entrySet().stream().filter(e -> e.getKey().topic().equals(prefs))
                .mapToLong(Map.Entry::getValue).sum();
        boolean ok = lost == 0 && partitionOf.size() == pairs && duplicated == 0 && contiguous && bad == 0
                && (brokerBackMs <= 0 || afterRestart > 0) && scorersNewest;
        System.out.printf("retrain-verify: pairs produced %d, on topic %d, in replay buffer %d, covered only by "
                        + "committed offsets %d, lost %d; committed %d/%d; releases %s (newest v%d, duplicated "
                        + "versions %d, not verifying %d, published after the broker restart %d); scorers on %s -> %s%n",
                pairs, partitionOf.size(), buffered.size(), onlyCommitted, lost, committedTotal, endTotal, perVersion,
                newest, duplicated, bad, brokerBackMs > 0 ? afterRestart : -1, scorers, ok ? "OK" : "FAILED");
        return ok ? 0 : 1;
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "soak-verify-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }
}
