/**
 * "Must show" integration tests of the streaming scorer on the REAL broker and registry (one shared
 * {@link io.rewardstream.dev.SharedLocalStack} per run; every test uses its own topics and application.id):
 * {@link io.rewardstream.it.ScorerCrashIT} (SIGKILL x2 with rollouts buffered, exactly once),
 * {@link io.rewardstream.it.ScorerScaleOutIT} (two JVMs split the partitions, one leaves on SIGTERM),
 * {@link io.rewardstream.it.HotSwapIT} (signed release under load, tampered releases refused),
 * {@link io.rewardstream.it.PoisonInputIT} (each kind of poison dead-lettered with its reason and original bytes).
 *
 * <p>Infrastructure: {@link io.rewardstream.it.RolloutGenerator} (seeded valid traffic),
 * {@link io.rewardstream.it.ScorerTraffic} (topics, producers, read_committed readers that count duplicates),
 * {@link io.rewardstream.it.ScorerProcess} ({@code Main score} in its own JVM, SIGKILL/SIGTERM; logs under
 * {@code target/it-work/<test>-<id>/}). Run: {@code mvn -B -o verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false
 * -Dit.test='PoisonInputIT,HotSwapIT,ScorerCrashIT,ScorerScaleOutIT'}.
 */
package io.rewardstream.it;
