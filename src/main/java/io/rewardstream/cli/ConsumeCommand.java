package io.rewardstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.AvroJson;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.schema.SchemaRegistryClient;
import io.rewardstream.schema.SchemaRegistryConfig;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.IndexedRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code consume KIND}: prints the records of a rewardstream topic, read_committed (only what the scorer's
 * transactions committed), without a consumer group (it commits nothing and disturbs no one). Without
 * {@code --follow} it prints what is on the topic now and exits; with it, it waits for new records until Ctrl-C,
 * {@code --max-records} or {@code --timeout}.
 */
@Command(name = "consume", mixinStandardHelpOptions = true,
        description = {"Print the records of a rewardstream topic (read_committed; commits nothing).",
                "KIND: rewards, group-advantages, dead-letters, model-releases, rollouts, preferences, ranked-preferences.",
                "Without --follow: everything on the topic now, then exit. With --follow: new records as they "
                        + "arrive (--from-beginning: the existing ones first) until Ctrl-C, --max-records or --timeout.",
                "Dead letters show their reason headers and the original value decoded when it still decodes.",
                "--json: one JSON object per line (shapes: schemas/README.md)."})
public final class ConsumeCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Parameters(index = "0", paramLabel = "KIND", description = "What to read (see above).")
    String kind;

    @Option(names = "--follow", description = "Keep waiting for new records.")
    boolean follow;

    @Option(names = "--from-beginning", description = "With --follow: start with the records already on the topic.")
    boolean fromBeginning;

    @Option(names = "--json", description = "One JSON object per record and line.")
    boolean json;

    @Option(names = "--values", description = "Print only each record's value as one JSON line: the shape "
            + "'produce' reads (dead letters: the decoded original; undecodable ones are counted on stderr).")
    boolean valuesOnly;

    @Option(names = "--max-records", paramLabel = "N", description = "Stop after N records.")
    Long maxRecords;

    @Option(names = "--timeout", paramLabel = "SECONDS",
            description = "With --follow: stop after this time; with --max-records, fewer than N records by then is "
                    + "an error.")
    Integer timeoutSeconds;

    @Option(names = "--topic", paramLabel = "NAME", description = "Topic (default: the kind's default topic name).")
    String topic;

    @Mixin
    ClientOptions client;

    @Override
    public Integer call() throws Exception {
        RecordKind k = RecordKind.parse(kind);
        String t = topic != null ? topic : k.topic;
        Map<String, Object> props = client.clientProperties();
        client.requireReachable(props);
        SchemaRegistryClient registry = new SchemaRegistryClient(SchemaRegistryConfig.from(props));
        AvroDeserializer<GenericRecord> values = k.schema == null ? null : AvroDeserializer.generic(k.schema, registry);
        AvroDeserializer<IndexedRecord> anyValue = new AvroDeserializer<>();
        anyValue.configure(props, false);
        Map<String, Object> cp = ClientOptions.only(props, ConsumerConfig.configNames());
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        cp.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, client.connectTimeoutSeconds * 1000);
        AtomicBoolean stop = new AtomicBoolean();
        Thread hook = new Thread(() -> stop.set(true), "consume-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        long count = 0;
        long skipped = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<PartitionInfo> infos = consumer.partitionsFor(t, Duration.ofSeconds(client.connectTimeoutSeconds));
            if (infos == null || infos.isEmpty()) {
                throw new IllegalStateException("topic " + t + " does not exist on " + client.bootstrapServers
                        + " (create it with: rewardstream topics create --bootstrap-servers " + client.bootstrapServers + ")");
            }
            List<TopicPartition> tps = new ArrayList<>();
            infos.forEach(i -> tps.add(new TopicPartition(t, i.partition())));
            consumer.assign(tps);
            if (follow && !fromBeginning) {
                consumer.seekToEnd(tps);
            } else {
                consumer.seekToBeginning(tps);
            }
            Map<TopicPartition, Long> end = follow ? Map.of() : consumer.endOffsets(tps);
            long deadline = timeoutSeconds == null ? Long.MAX_VALUE : System.nanoTime() + timeoutSeconds * 1_000_000_000L;
            while (!stop.get() && (maxRecords == null || count < maxRecords) && System.nanoTime() < deadline) {
                if (!follow && caughtUp(consumer, end)) {
                    break;
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    String line = valuesOnly ? valueOnly(r, k == RecordKind.DEAD_LETTERS ? anyValue : values)
                            : k == RecordKind.DEAD_LETTERS ? deadLetter(r, anyValue) : record(r, values);
                    if (line != null) {
                        System.out.println(line);
                    } else {
                        skipped++;
                    }
                    count++;
                    if (maxRecords != null && count >= maxRecords) {
                        break;
                    }
                }
                System.out.flush();
            }
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down (Ctrl-C)
            }
        }
        System.err.printf("%d record(s) from %s%s%n", count, t,
                skipped == 0 ? "" : " (" + skipped + " without a decodable value not printed)");
        if (follow && maxRecords != null && count < maxRecords && timeoutSeconds != null && !stop.get()) {
            throw new IllegalStateException("timed out after " + timeoutSeconds + " s with " + count + " of "
                    + maxRecords + " records from " + t);
        }
        return 0;
    }

    /** The decoded value as JSON, or null when it does not decode (or is a tombstone). */
    private static String valueOnly(ConsumerRecord<byte[], byte[]> r, AvroDeserializer<? extends IndexedRecord> d)
            throws Exception {
        if (r.value() == null) {
            return null;
        }
        String source = r.topic();
        org.apache.kafka.common.header.Header h = r.headers().lastHeader(DeadLetters.TOPIC);
        if (h != null && h.value() != null) {
            source = new String(h.value(), StandardCharsets.UTF_8);
        }
        try {
            return JSON.writeValueAsString(AvroJson.toJson(d.deserialize(source, r.value())));
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static boolean caughtUp(KafkaConsumer<?, ?> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private String record(ConsumerRecord<byte[], byte[]> r, AvroDeserializer<GenericRecord> values) throws Exception {
        String key = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
        ObjectNode value;
        try {
            value = r.value() == null ? null : AvroJson.toJson(values.deserialize(r.topic(), r.value()));
        } catch (RuntimeException e) {
            value = null;
            if (!json) {
                return String.format("p%d@%d key=%s UNDECODABLE: %s", r.partition(), r.offset(), key,
                        CliErrors.oneLine(e));
            }
            ObjectNode o = envelope(r, key);
            o.put("value_error", CliErrors.oneLine(e));
            o.put("value_base64", Base64.getEncoder().encodeToString(r.value()));
            return JSON.writeValueAsString(o);
        }
        if (json) {
            ObjectNode o = envelope(r, key);
            o.set("value", value);
            return JSON.writeValueAsString(o);
        }
        return String.format("p%d@%d key=%s %s", r.partition(), r.offset(), key, value == null ? "null (tombstone)"
                : JSON.writeValueAsString(value));
    }

    private String deadLetter(ConsumerRecord<byte[], byte[]> r, AvroDeserializer<IndexedRecord> anyValue)
            throws Exception {
        ObjectNode o = envelope(r, r.key() == null ? null : text(r.key()).orElse(Base64.getEncoder().encodeToString(r.key())));
        Map<String, String> h = new HashMap<>();
        for (Header x : r.headers()) {
            h.put(x.key(), x.value() == null ? null : text(x.value()).orElse("<binary>"));
        }
        o.put("reason", h.get(DeadLetters.REASON));
        o.put("detail", h.get(DeadLetters.DETAIL));
        ObjectNode src = o.putObject("source");
        src.put("topic", h.get(DeadLetters.TOPIC));
        src.put("partition", h.get(DeadLetters.PARTITION) == null ? null : Integer.valueOf(h.get(DeadLetters.PARTITION)));
        src.put("offset", h.get(DeadLetters.OFFSET) == null ? null : Long.valueOf(h.get(DeadLetters.OFFSET)));
        o.put("exception", h.get(DeadLetters.EXCEPTION));
        o.put("message", h.get(DeadLetters.MESSAGE));
        ObjectNode other = JSON.createObjectNode();
        h.forEach((kk, v) -> {
            if (!kk.startsWith("__streams.errors.") && !kk.startsWith("rewardstream.dlq.")) {
                other.put(kk, v);
            }
        });
        o.set("headers", other);
        String valueNote;
        if (r.value() == null) {
            o.putNull("value");
            valueNote = "value=null";
        } else {
            try {
                IndexedRecord v = anyValue.deserialize(h.getOrDefault(DeadLetters.TOPIC, r.topic()), r.value());
                o.put("value_schema", v.getSchema().getName());
                o.set("value", AvroJson.toJson(v));
                valueNote = "value=" + v.getSchema().getName() + JSON.writeValueAsString(o.get("value"));
            } catch (RuntimeException e) {
                o.putNull("value");
                o.put("value_error", CliErrors.oneLine(e));
                o.put("value_base64", Base64.getEncoder().encodeToString(r.value()));
                text(r.value()).ifPresent(s -> o.put("value_text", s));
                valueNote = "value=" + r.value().length + " bytes, not decodable (" + CliErrors.oneLine(e) + ")"
                        + text(r.value()).map(s -> " text=" + abbreviate(s)).orElse("");
            }
        }
        if (json) {
            return JSON.writeValueAsString(o);
        }
        return String.format("p%d@%d reason=%s source=%s-%s@%s key=%s detail=%s %s", r.partition(), r.offset(),
                h.get(DeadLetters.REASON), h.get(DeadLetters.TOPIC), h.get(DeadLetters.PARTITION),
                h.get(DeadLetters.OFFSET), o.get("key").isNull() ? "null" : o.get("key").asText(),
                abbreviate(String.valueOf(h.get(DeadLetters.DETAIL))), abbreviate(valueNote));
    }

    private static ObjectNode envelope(ConsumerRecord<?, ?> r, String key) {
        ObjectNode o = JSON.createObjectNode();
        o.put("topic", r.topic());
        o.put("partition", r.partition());
        o.put("offset", r.offset());
        o.put("timestamp", r.timestamp());
        o.put("key", key);
        return o;
    }

    private static java.util.Optional<String> text(byte[] b) {
        try {
            String s = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b)).toString();
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (Character.isISOControl(c) && c != '\n' && c != '\t' && c != '\r') {
                    return java.util.Optional.empty();
                }
            }
            return java.util.Optional.of(s);
        } catch (CharacterCodingException e) {
            return java.util.Optional.empty();
        }
    }

    private static String abbreviate(String s) {
        String one = s.replaceAll("\\s*\\R\\s*", " ");
        return one.length() > 300 ? one.substring(0, 300) + "..." : one;
    }
}
