package io.rewardstream.topology;

import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.schema.SchemaRegistryException;
import io.rewardstream.schema.WireFormatException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;

/**
 * Kafka's {@link LogAndContinueExceptionHandler} (KIP-1034 DLQ with the original bytes and headers) plus the
 * {@code rewardstream.dlq.reason} header (the {@code WireFormatException} reason, e.g. {@code BAD_MAGIC_BYTE}, else
 * {@code DESERIALIZATION_FAILED}) and {@code rewardstream.dlq.detail}; counts {@code rewardstream.dead.letters{reason}}
 * when a registry is passed under {@value #METER_REGISTRY_CONFIG}. A schema-registry outage is not a poison record:
 * it fails the stream thread (replaced, the record retried) instead of dead-lettering.
 */
public class DeadLetterDeserializationExceptionHandler extends LogAndContinueExceptionHandler {
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterDeserializationExceptionHandler.class);
    /** Config key under which ScorerApp passes its MeterRegistry (an object value). */
    public static final String METER_REGISTRY_CONFIG = "rewardstream.meter.registry";
    public static final String DESERIALIZATION_FAILED = "DESERIALIZATION_FAILED";

    private MeterRegistry registry;

    @Override
    public void configure(Map<String, ?> configs) {
        super.configure(configs);
        if (configs.get(METER_REGISTRY_CONFIG) instanceof MeterRegistry r) {
            registry = r;
        }
    }

    @Override
    public Response handleError(ErrorHandlerContext context, ConsumerRecord<byte[], byte[]> record, Exception exception) {
        // An unknown schema id is a 404 from the registry wrapped in a WireFormatException: a property of the record
        // (dead-letter it), not an outage (failing the thread would retry the same record forever).
        if (DeadLetterProcessingExceptionHandler.causedBy(exception, SchemaRegistryException.class)
                && !DeadLetterProcessingExceptionHandler.causedBy(exception, WireFormatException.class)) {
            LOG.error("schema registry unavailable while deserializing {}-{}@{}; failing the stream thread",
                    context.topic(), context.partition(), context.offset(), exception);
            return Response.fail();
        }
        Response base = super.handleError(context, record, exception);
        String reason = DeadLetters.reasonOf(exception, DESERIALIZATION_FAILED);
        // one line per dead letter; Kafka's own handler (stack trace) logs at ERROR only (log4j2.xml)
        LOG.warn("dead-lettered {}-{}@{} (reason {}): {}", context.topic(), context.partition(), context.offset(),
                reason, exception.getMessage());
        LOG.debug("dead-lettered {}-{}@{}: stack trace", context.topic(), context.partition(), context.offset(),
                exception);
        if (registry != null) {
            registry.counter(ScorerMetrics.DEAD_LETTERS, "reason", reason).increment();
        }
        return Response.resume(DeadLetterProcessingExceptionHandler.tag(base.deadLetterQueueRecords(), reason, exception));
    }
}
