package io.rewardstream.topology;

import io.rewardstream.schema.DeadLetters;
import io.rewardstream.schema.SchemaRegistryException;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.LogAndContinueProcessingExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * Kafka's {@link LogAndContinueProcessingExceptionHandler} (KIP-1034: the DLQ record carries the ORIGINAL key/value
 * bytes, the original headers and the {@code __streams.errors.*} headers, written inside the EOS transaction) plus the
 * rewardstream headers {@code rewardstream.dlq.reason} (the {@link RejectedRolloutException} reason, else
 * {@code PROCESSING_FAILED}) and {@code rewardstream.dlq.detail}.
 *
 * <p>Not dead-lettered (the stream thread fails and is replaced, nothing is lost): exceptions thrown from a
 * punctuator (no record: the scorer dead-letters those records itself), schema-registry outages,
 * {@link ScorerUnavailableException} and any exception of the group stage ({@code group-aggregator}, which runs inside
 * a flush; none is a property of the record being processed). Configured by class name through {@code processing.exception.handler}; stateless after configure.
 */
public class DeadLetterProcessingExceptionHandler extends LogAndContinueProcessingExceptionHandler {
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterProcessingExceptionHandler.class);
    /** Reason for exceptions that carry none. */
    public static final String PROCESSING_FAILED = ScorerRejectReason.PROCESSING_FAILED.name();

    @Override
    public Response handleError(ErrorHandlerContext context, Record<?, ?> record, Exception exception) {
        if (record == null || context.offset() < 0) {
            LOG.error("exception outside record processing in {} (task {}); failing the stream thread",
                    context.processorNodeId(), context.taskId(), exception);
            return Response.fail();
        }
        if (ScorerTopology.GROUP_AGGREGATOR.equals(context.processorNodeId())) {
            // the group stage runs inside a flush, on whatever rollout the batcher was processing: not that record's
            // fault (dead-lettering it would lose the flush's group members and reward it as well, since it is
            // buffered). Kafka calls this handler at the node that threw, so the batcher never sees it
            LOG.error("exception in the group stage during a flush (while {}-{}@{} was processed); failing the stream"
                    + " thread (no dead letter)", context.topic(), context.partition(), context.offset(), exception);
            return Response.fail();
        }
        if (causedBy(exception, SchemaRegistryException.class) || causedBy(exception, ScorerUnavailableException.class)) {
            LOG.error("service problem (not the record's fault) while processing {}-{}@{}; failing the stream thread"
                    + " (no dead letter)", context.topic(), context.partition(), context.offset(), exception);
            return Response.fail();
        }
        // Kafka's handler logs a WARN with the stack trace (its logger is at ERROR in log4j2.xml): one line here
        Response base = super.handleError(context, record, exception);
        // the reason travels as a type on the exception the processor threw
        String reason = exception instanceof RejectedRolloutException r ? r.reason().name() : PROCESSING_FAILED;
        LOG.warn("dead-lettered {}-{}@{} (reason {}): {}", context.topic(), context.partition(), context.offset(),
                reason, exception.getMessage());
        LOG.debug("dead-lettered {}-{}@{}: stack trace", context.topic(), context.partition(), context.offset(),
                exception);
        return Response.resume(tag(base.deadLetterQueueRecords(), reason, exception));
    }

    static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    /** The records with the rewardstream reason/detail headers set (replacing any from an earlier dead-lettering). */
    static List<ProducerRecord<byte[], byte[]>> tag(List<ProducerRecord<byte[], byte[]>> records, String reason,
                                                    Exception exception) {
        if (records == null) {
            return List.of();
        }
        String detail = String.valueOf(exception.getMessage());
        if (detail.length() > DeadLetters.MAX_DETAIL_CHARS) {
            detail = detail.substring(0, DeadLetters.MAX_DETAIL_CHARS);
        }
        java.util.ArrayList<ProducerRecord<byte[], byte[]>> out = new java.util.ArrayList<>(records.size());
        for (ProducerRecord<byte[], byte[]> r : records) {
            org.apache.kafka.common.header.internals.RecordHeaders h =
                    new org.apache.kafka.common.header.internals.RecordHeaders();
            for (org.apache.kafka.common.header.Header x : r.headers()) {
                if (!x.key().equals(DeadLetters.REASON) && !x.key().equals(DeadLetters.DETAIL)) {
                    h.add(x);
                }
            }
            h.add(DeadLetters.REASON, reason.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            h.add(DeadLetters.DETAIL, detail.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            out.add(new ProducerRecord<>(r.topic(), r.partition(), r.timestamp(), r.key(), r.value(), h));
        }
        return out;
    }
}
