package io.rewardstream.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.rewardstream.dev.EmbeddedKafka;
import io.rewardstream.topology.HangingTransactions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * {@link HangingTransactions#find} on a real broker never takes a live transaction for a hanging one — not even one
 * older than its own transaction timeout that the coordinator has not aborted yet, holding a data partition and a
 * transactional offset commit on {@code __consumer_offsets} — and sees nothing open once it is committed. (A truly
 * hanging transaction needs the broker race of KAFKA-20734; the classifier is unit-tested with the state the soak
 * left, and {@code SoakDriver hanging} was run on a copy of that broker's log directory, see ops/HARDENING.md.)
 */
class HangingTransactionsIT {

    @Test
    void shouldNotReportALiveTransactionAndFindNothingOpenAfterItsCommit() throws Exception {
        String topic = "hanging-it";
        String txnId = "hanging-it-txn";
        boolean checkedWhileOpen = false;
        try (EmbeddedKafka kafka = EmbeddedKafka.start();
             Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get();
            try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                    ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId,
                    ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 2_000),
                    new StringSerializer(), new StringSerializer())) {
                p.initTransactions();
                p.beginTransaction();
                p.send(new ProducerRecord<>(topic, 0, "k", "v")).get();
                p.sendOffsetsToTransaction(Map.of(new TopicPartition(topic, 1), new OffsetAndMetadata(7)),
                        new ConsumerGroupMetadata("hanging-it-group"));

                // open on the data partition and on __consumer_offsets, and older than its 2 s timeout
                Thread.sleep(2_500);
                List<HangingTransactions.Hanging> whileOpen = HangingTransactions.find(admin, 0);
                boolean stillOpen = admin.describeProducers(List.of(new TopicPartition(topic, 0))).all().get()
                        .get(new TopicPartition(topic, 0)).activeProducers().stream()
                        .anyMatch(s -> s.currentTransactionStartOffset().isPresent());
                assertThat(whileOpen).noneMatch(h -> txnId.equals(h.transactionalId())
                        || h.open().partition().topic().equals(topic));
                checkedWhileOpen = stillOpen;

                p.commitTransaction();
            } catch (org.apache.kafka.common.KafkaException e) {
                // the coordinator may have aborted it after its timeout: then it is not hanging either
                assertThat(e.toString()).containsAnyOf("abort", "Abort", "epoch", "fenced", "Fenced");
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            List<HangingTransactions.Hanging> after = HangingTransactions.find(admin, 0);
            while (!after.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(500);
                after = HangingTransactions.find(admin, 0);
            }
            assertThat(after).isEmpty();
            assertThat(checkedWhileOpen).as("the transaction was still open on %s-0 when find() ran", topic).isTrue();
            assertThat(HangingTransactions.abort(admin, after, Duration.ofSeconds(5))).isZero();

            // the operator's command on the same cluster: nothing hanging, exit 0
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            java.io.PrintStream old = System.out;
            int code;
            try {
                System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
                code = io.rewardstream.cli.Main.execute("topics", "hanging", "--bootstrap-servers",
                        kafka.bootstrapServers(), "--min-age-ms", "0");
            } finally {
                System.setOut(old);
            }
            assertThat(code).isZero();
            assertThat(out.toString(java.nio.charset.StandardCharsets.UTF_8)).contains("no hanging transactions");
        }
    }
}
