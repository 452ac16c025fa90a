package io.rewardstream.topology;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.schema.SchemaRegistryException;
import io.rewardstream.schema.WireFormatException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class DeadLetterHandlersTest {
    private static final byte[] KEY = "g".getBytes();
    private static final byte[] VALUE = {0, 0, 0, 0, 1, 42};

    private static ErrorHandlerContext context(long offset) {
        return context(offset, ScorerTopology.ROLLOUT_BATCHER);
    }

    private static ErrorHandlerContext context(long offset, String node) {
        Headers headers = new RecordHeaders().add("trace", "t".getBytes()).add(DeadLetters.REASON, "OLD".getBytes());
        return new ErrorHandlerContext() {
            public String topic() { return "rollouts"; }
            public int partition() { return 2; }
            public long offset() { return offset; }
            public Headers headers() { return headers; }
            public String processorNodeId() { return node; }
            public TaskId taskId() { return new TaskId(0, 2); }
            public long timestamp() { return 1_000L; }
            public byte[] sourceRawKey() { return KEY; }
            public byte[] sourceRawValue() { return VALUE; }
        };
    }

    private static DeadLetterProcessingExceptionHandler processing() {
        DeadLetterProcessingExceptionHandler h = new DeadLetterProcessingExceptionHandler();
        h.configure(Map.of("errors.dead.letter.queue.topic.name", "dlq"));
        return h;
    }

    @Test
    void shouldDeadLetterARejectedRolloutWithItsOriginalBytesAndReason() {
        ProcessingExceptionHandler.Response r = processing().handleError(context(7), new Record<>("g", "v", 1L),
                new RejectedRolloutException(io.rewardstream.scoring.InvalidRolloutException.Reason.TOKEN_OUT_OF_VOCAB,
                        "id 5000", null));

        assertThat(r.result()).isEqualTo(ProcessingExceptionHandler.Result.RESUME);
        assertThat(r.deadLetterQueueRecords()).hasSize(1);
        ProducerRecord<byte[], byte[]> dl = r.deadLetterQueueRecords().get(0);
        assertThat(dl.topic()).isEqualTo("dlq");
        assertThat(dl.key()).isEqualTo(KEY);
        assertThat(dl.value()).isEqualTo(VALUE);
        assertThat(DeadLetters.header(dl.headers(), DeadLetters.REASON)).isEqualTo("TOKEN_OUT_OF_VOCAB");
        assertThat(dl.headers().headers(DeadLetters.REASON)).hasSize(1);
        assertThat(DeadLetters.header(dl.headers(), DeadLetters.DETAIL)).isEqualTo("TOKEN_OUT_OF_VOCAB: id 5000");
        assertThat(DeadLetters.header(dl.headers(), "trace")).isEqualTo("t");
        assertThat(DeadLetters.header(dl.headers(), DeadLetters.OFFSET)).isEqualTo("7");
    }

    @Test
    void shouldTagUnexpectedExceptionsAsProcessingFailed() {
        ProcessingExceptionHandler.Response r = processing().handleError(context(7), new Record<>("g", "v", 1L),
                new NullPointerException("bug"));
        assertThat(DeadLetters.header(r.deadLetterQueueRecords().get(0).headers(), DeadLetters.REASON))
                .isEqualTo(DeadLetterProcessingExceptionHandler.PROCESSING_FAILED);
    }

    @Test
    void shouldFailInsteadOfDeadLetteringServiceProblemsAndPunctuatorErrors() {
        assertThat(processing().handleError(context(7), new Record<>("g", "v", 1L),
                new ScorerUnavailableException("no model", null)).result())
                .isEqualTo(ProcessingExceptionHandler.Result.FAIL);
        assertThat(processing().handleError(context(7), new Record<>("g", "v", 1L),
                new RuntimeException(new SchemaRegistryException(503, -1, null, "down", null))).result())
                .isEqualTo(ProcessingExceptionHandler.Result.FAIL);
        assertThat(processing().handleError(context(-1), null, new IllegalStateException("punctuator")).result())
                .isEqualTo(ProcessingExceptionHandler.Result.FAIL);
    }

    @Test
    void shouldFailInsteadOfBlamingTheRolloutBeingProcessedForAnExceptionOfTheGroupStage() {
        // a flush runs the group stage from process(): the source record's bytes are some unrelated rollout's
        ProcessingExceptionHandler.Response r = processing().handleError(context(7, ScorerTopology.GROUP_AGGREGATOR),
                new Record<>("g", "batch", 1L), new IllegalStateException("group store refused a write"));
        assertThat(r.result()).isEqualTo(ProcessingExceptionHandler.Result.FAIL);
        assertThat(r.deadLetterQueueRecords()).isNullOrEmpty();
    }

    @Test
    void shouldDeadLetterPoisonBytesWithTheWireFormatReasonAndCountThem() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        DeadLetterDeserializationExceptionHandler h = new DeadLetterDeserializationExceptionHandler();
        h.configure(Map.of("errors.dead.letter.queue.topic.name", "dlq",
                DeadLetterDeserializationExceptionHandler.METER_REGISTRY_CONFIG, meters));
        ConsumerRecord<byte[], byte[]> rec = new ConsumerRecord<>("rollouts", 2, 7, KEY, VALUE);

        DeserializationExceptionHandler.Response r = h.handleError(context(7), rec,
                new WireFormatException(WireFormatException.Reason.TRUNCATED_BODY, "rollouts", 1, "short", null));

        assertThat(r.result()).isEqualTo(DeserializationExceptionHandler.Result.RESUME);
        ProducerRecord<byte[], byte[]> dl = r.deadLetterQueueRecords().get(0);
        assertThat(dl.value()).isEqualTo(VALUE);
        assertThat(DeadLetters.header(dl.headers(), DeadLetters.REASON)).isEqualTo("TRUNCATED_BODY");
        assertThat(meters.counter(ScorerMetrics.DEAD_LETTERS, "reason", "TRUNCATED_BODY").count()).isEqualTo(1.0);
        assertThat(h.handleError(context(7), rec, new SchemaRegistryException(503, -1, null, "down", null)).result())
                .isEqualTo(DeserializationExceptionHandler.Result.FAIL);
    }
}
