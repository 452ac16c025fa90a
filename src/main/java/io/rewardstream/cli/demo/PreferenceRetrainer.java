package io.rewardstream.cli.demo;

import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.training.FineTuner;
import io.rewardstream.training.PreferenceExample;
import io.rewardstream.training.ReleasePublisher;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The demo's retraining loop (until the continuous {@code RetrainJob} is wired in): reads {@link PreferencePair}s
 * from the preferences topic, and once {@code minPairs} have arrived fine-tunes the serving model on them
 * ({@link FineTuner}, the exported {@code train_step}) and publishes the result as a signed release
 * ({@link ReleasePublisher}); scorers pick it up through their release watcher. One round per {@code minPairs}.
 *
 * <p>Owns its consumer, publisher and thread; {@link #close()} stops them. Thread-safe accessors.
 */
final class PreferenceRetrainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PreferenceRetrainer.class);

    private final KafkaConsumer<String, PreferencePair> consumer;
    private final ReleasePublisher publisher;
    private final Path staging;
    private final Path modelRoot;
    private final int minPairs;
    private final int steps;
    private final long seed;
    private final Thread thread;
    private final AtomicReference<ModelRelease> lastRelease = new AtomicReference<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile Path current;
    private volatile boolean running = true;
    private volatile String status = "waiting for preference pairs";

    PreferenceRetrainer(Map<String, Object> clientProps, String topic, Path baseModel, Path modelRoot,
                        ReleasePublisher publisher, int minPairs, int steps, long seed) throws Exception {
        Map<String, Object> props = new HashMap<>(clientProps);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "rewardstream-demo-retrain-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        AvroDeserializer<PreferencePair> values = new AvroDeserializer<>(PreferencePair.class);
        values.configure(clientProps, false);
        this.consumer = new KafkaConsumer<>(props, new StringDeserializer(), values);
        this.consumer.subscribe(List.of(topic));
        this.publisher = publisher;
        this.current = baseModel;
        this.modelRoot = modelRoot;
        this.staging = Files.createDirectories(modelRoot.resolve(".staging"));
        this.minPairs = minPairs;
        this.steps = steps;
        this.seed = seed;
        this.thread = new Thread(this::loop, "demo-retrainer");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    private void loop() {
        List<PreferenceExample> pending = new ArrayList<>();
        try {
            while (running) {
                for (ConsumerRecord<String, PreferencePair> r : consumer.poll(Duration.ofMillis(200))) {
                    PreferencePair p = r.value();
                    if (p.getPromptText() == null || p.getChosenText() == null || p.getRejectedText() == null) {
                        continue;   // the demo only sends text pairs
                    }
                    pending.add(new PreferenceExample(p.getPairId(), p.getPromptText(), p.getChosenText(),
                            p.getRejectedText(), p.getMargin() == null ? 0.0 : p.getMargin()));
                }
                status = "collected " + pending.size() + "/" + minPairs + " preference pairs";
                if (pending.size() >= minPairs) {
                    round(pending);
                    pending = new ArrayList<>();
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (Throwable t) {
            if (running) {
                LOG.error("retraining failed", t);
                failure.set(t);
                status = "FAILED: " + t.getMessage();
            }
        }
    }

    private void round(List<PreferenceExample> pairs) throws Exception {
        List<PreferenceExample> train = new ArrayList<>();
        List<PreferenceExample> eval = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) {
            (i % 10 == 0 ? eval : train).add(pairs.get(i));   // every tenth pair held out for the metrics
        }
        status = "fine-tuning on " + train.size() + " pairs (" + steps + " steps)";
        Path target = staging.resolve("round-" + UUID.randomUUID());
        FineTuner.Result res = FineTuner.fineTune(current, target, train, eval, steps, 32, seed);
        status = "publishing " + res.manifest().modelVersion();
        ModelRelease rel = publisher.publish(target, null, null, false);
        current = modelRoot.resolve(rel.getLocation());
        lastRelease.set(rel);
        status = String.format("released %s:%d (held-out accuracy %.3f -> %.3f)", rel.getModelName(),
                rel.getVersion(), res.before() == null ? Double.NaN : res.before().accuracy(),
                res.after() == null ? Double.NaN : res.after().accuracy());
        LOG.info("demo retrainer: {}", status);
    }

    String status() {
        return status;
    }

    Throwable failure() {
        return failure.get();
    }

    ModelRelease lastRelease() {
        return lastRelease.get();
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(120_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        consumer.close();
        publisher.close();
    }
}
