package io.rewardstream.topology;

import io.rewardstream.avro.KlCoefficient;
import io.rewardstream.avro.KlObservation;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;

import java.time.Instant;
import java.util.Arrays;

/**
 * The rollout-batcher's side of the KL controller: the beta of the next flush (fixed {@code scoring.kl.coef}, or the
 * shared controller's newest entry in the global store {@code kl-coefficients}, {@code scoring.kl.coef} before its
 * first update) and the {@link KlObservation} a flush sends back. Not thread-safe: one per task.
 */
final class FlushBeta {
    private final double fixedBeta;
    private final KlControlConfig kl;
    private final Deserializer<KlCoefficient> deserializer;
    private KeyValueStore<String, byte[]> coefficients;
    private byte[] lastBytes;
    private double lastBeta;

    FlushBeta(ScorerConfig config, KlControlConfig kl, Deserializer<KlCoefficient> deserializer) {
        this.fixedBeta = config.shaping().klCoef();
        this.kl = kl;
        this.deserializer = deserializer;
    }

    void init(ProcessorContext<?, ?> context) {
        coefficients = kl.shared() ? context.getStateStore(ScorerTopology.KL_COEFFICIENTS_STORE) : null;
    }

    /** Whether flushes report their KL to the shared controller. */
    boolean shared() {
        return kl.shared();
    }

    /** Beta for the next flush. */
    double current() {
        if (!kl.shared()) {
            return fixedBeta;
        }
        byte[] raw = coefficients.get(kl.controller());
        if (raw == null) {
            return fixedBeta;
        }
        if (!Arrays.equals(raw, lastBytes)) { // decode once per controller update, not per flush
            lastBeta = deserializer.deserialize(kl.coefficientsTopic(), raw).getKlCoef();
            lastBytes = raw;
        }
        return lastBeta;
    }

    /** The controller's key (the record key of an observation). */
    String controller() {
        return kl.controller();
    }

    /** What a flush tells the controller: its rewards with a reference and their KL sum, under {@code beta}. */
    KlObservation observation(long rewards, double klSum, double beta, String task, Instant at) {
        return KlObservation.newBuilder().setController(kl.controller()).setRewards(rewards).setKlSum(klSum)
                .setKlCoef(beta).setTask(task).setObservedAt(at).build();
    }
}
