package io.rewardstream.topology;

/**
 * What the {@code rollout-batcher} hands the {@code group-aggregator} for one scored rollout (in-process forward,
 * never serialized by Kafka). Immutable.
 *
 * @param rolloutId     rollout id
 * @param groupId       group id (the record key)
 * @param policyVersion policy version of the rollout
 * @param modelVersion  reward model that scored it
 * @param value         the value advantages are computed from: s', or s' - beta*kl when configured
 * @param groupSize     the rollout's group_size, or null
 */
public record GroupMember(String rolloutId, String groupId, String policyVersion, String modelVersion, double value,
                          Integer groupSize) {

    /**
     * The members of one group scored in one flush, handed over together so that a group completed within the flush
     * is emitted without ever being written to {@code group-members}. Immutable.
     *
     * @param groupId the group
     * @param members at least one member, in scoring order
     */
    public record Batch(String groupId, java.util.List<GroupMember> members) {
        public Batch {
            members = java.util.List.copyOf(members);
            if (members.isEmpty()) {
                throw new IllegalArgumentException("a group batch needs at least one member");
            }
        }
    }
}
