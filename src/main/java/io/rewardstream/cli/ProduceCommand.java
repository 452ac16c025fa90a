package io.rewardstream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardstream.schema.AvroJson;
import io.rewardstream.schema.AvroSerializer;
import io.rewardstream.schema.SchemaRegistryClient;
import io.rewardstream.schema.SchemaRegistryConfig;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * {@code produce rollouts|preferences|ranked-preferences --input FILE.jsonl}: one JSON object per line (the record's
 * fields, see schemas/README.md "JSON shape"), validated completely before anything is sent, then sent as Avro in
 * the Confluent wire format with the record's key field as the key; waits for every acknowledgement.
 */
@Command(name = "produce", mixinStandardHelpOptions = true,
        description = {"Send records from a JSON Lines file to a rewardstream topic (Avro, Confluent wire format).",
                "KIND: rollouts (key group_id), preferences (key pair_id), ranked-preferences (key ranking_id).",
                "Every line is checked against the schema first: a bad line is reported with its number and "
                        + "nothing is sent. JSON shape: schemas/README.md."})
public final class ProduceCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Parameters(index = "0", paramLabel = "KIND", description = "rollouts, preferences or ranked-preferences.")
    String kind;

    @Option(names = "--input", required = true, paramLabel = "FILE",
            description = "JSON Lines file, one record per line ('-' = stdin); blank lines are skipped.")
    Path input;

    @Option(names = "--topic", paramLabel = "NAME", description = "Topic (default: the kind's default topic name).")
    String topic;

    @Mixin
    ClientOptions client;

    @Override
    public Integer call() throws Exception {
        RecordKind k = RecordKind.parse(kind);
        if (k != RecordKind.ROLLOUTS && k != RecordKind.PREFERENCES && k != RecordKind.RANKED_PREFERENCES) {
            throw new CliErrors.UsageException("produce takes rollouts, preferences or ranked-preferences, not " + kind);
        }
        String t = topic != null ? topic : k.topic;
        List<GenericRecord> records = read(k);
        Map<String, Object> props = client.clientProperties();
        client.requireReachable(props);
        SchemaRegistryClient registry = new SchemaRegistryClient(SchemaRegistryConfig.from(props));
        Map<String, Object> pp = ClientOptions.only(props, ProducerConfig.configNames());
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, client.connectTimeoutSeconds * 1000L);
        Map<Integer, Integer> byPartition = new TreeMap<>();
        try (AvroSerializer<GenericRecord> values = new AvroSerializer<>(registry, props, false);
             KafkaProducer<String, GenericRecord> producer = new KafkaProducer<>(pp, new StringSerializer(), values)) {
            List<Future<RecordMetadata>> acks = new ArrayList<>(records.size());
            for (GenericRecord r : records) {
                acks.add(producer.send(new ProducerRecord<>(t, r.get(k.keyField).toString(), r)));
            }
            producer.flush();
            for (Future<RecordMetadata> f : acks) {
                RecordMetadata md = f.get(client.connectTimeoutSeconds, TimeUnit.SECONDS);
                byPartition.merge(md.partition(), 1, Integer::sum);
            }
        }
        System.out.printf("produced %d %s to %s (records by partition: %s)%n", records.size(), k.cliName(), t,
                byPartition);
        return 0;
    }

    /** Every line as a record; the first bad line fails the command with its number, before anything is sent. */
    private List<GenericRecord> read(RecordKind k) throws IOException {
        boolean stdin = "-".equals(input.toString());
        if (!stdin) {
            CliPaths.requireFile(input, "--input");
        }
        List<GenericRecord> out = new ArrayList<>();
        try (BufferedReader r = stdin ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                : Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
            int n = 0;
            for (String line; (line = r.readLine()) != null; ) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode json;
                try {
                    json = JSON.readTree(line);
                } catch (IOException e) {
                    throw new CliErrors.UsageException(input + " line " + n + ": not JSON: "
                            + e.getMessage().lines().findFirst().orElse(""));
                }
                try {
                    out.add(AvroJson.fromJson(json, k.schema));
                } catch (IllegalArgumentException e) {
                    throw new CliErrors.UsageException(input + " line " + n + ": " + e.getMessage());
                }
            }
        }
        if (out.isEmpty()) {
            throw new CliErrors.UsageException(input + " holds no records");
        }
        return out;
    }
}
