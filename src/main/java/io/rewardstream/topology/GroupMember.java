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
}
