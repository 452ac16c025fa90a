package io.rewardstream.topology;

import io.rewardstream.scoring.RejectReason;

/** Dead-letter reasons the scorer's Kafka side gives itself (the scoring reasons are the scoring enums). */
public enum ScorerRejectReason implements RejectReason {
    /** A rollout-buffer entry cannot be read back (its raw bytes are dead-lettered). */
    BUFFER_CORRUPT,
    /** An exception that carries no reason (a bug): the record is dead-lettered, the stream keeps running. */
    PROCESSING_FAILED
}
