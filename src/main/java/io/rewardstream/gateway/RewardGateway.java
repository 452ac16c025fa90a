package io.rewardstream.gateway;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.AvroSerializer;
import io.rewardstream.schema.SchemaRegistryClient;
import io.rewardstream.schema.SchemaRegistryConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The gateway's service: a request's queries become rollouts on the rollouts topic (idempotent producer,
 * {@code acks=all}), and the answer is assembled from the rewards the scorer writes for them, read back from the
 * rewards topic ({@link RewardListener}, read_committed). So every reward the gateway returns is also durable and
 * replayable on the rewards topic, and the gateway never scores anything itself.
 *
 * <p>Thread-safe: one instance serves every HTTP worker thread. Owns its producer and listener; {@link #close()}
 * releases them.
 */
public final class RewardGateway implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RewardGateway.class);

    private final GatewayConfig config;
    private final KafkaProducer<String, Rollout> producer;
    private final RewardListener listener;
    private final AvroSerializer<Rollout> serializer;

    /** The rewards of one request, in query order. */
    public record Scored(String requestId, List<Reward> rewards) {
    }

    /** Creates the producer and the listener; call {@link #start} before {@link #score}. */
    public RewardGateway(GatewayConfig config) {
        this.config = config;
        Map<String, Object> p = new HashMap<>(config.kafka());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 0);       // a request waits on it: send at once
        p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "rewardstream-gateway");
        // one registry client for the rollout serializer and the listener's two deserializers
        SchemaRegistryClient schemas = new SchemaRegistryClient(SchemaRegistryConfig.from(config.serde()));
        this.serializer = new AvroSerializer<>(schemas);
        serializer.configure(config.serde(), false);
        this.producer = new KafkaProducer<>(p, new StringSerializer(), serializer);
        this.listener = new RewardListener(config, schemas);
    }

    /**
     * Resolves the Rollout schema id once (registering it if the subject is new: concurrent first registrations of
     * one subject can fail on Apicurio with 409) and positions the listener at the end of the rewards and dead-letter
     * topics.
     *
     * @throws org.apache.kafka.common.errors.SerializationException when the registry cannot be used
     * @throws IllegalStateException when the topics cannot be read
     */
    public void start(Duration timeout) throws InterruptedException {
        RewardRequest probe = new RewardRequest(List.of("schema probe"), null, null);
        serializer.serialize(config.rolloutsTopic(),
                GatewayRollouts.toRollouts(probe, "gw-probe", config.policyVersion(), Instant.now()).get(0));
        listener.start(timeout);
    }

    /**
     * Publishes the request's rollouts and waits (at most {@code gateway.request.timeout.ms}) for their rewards.
     *
     * @throws GatewayException 400 for a query without a response; 422 when the scorer dead-lettered a rollout (with
     *                          its reason); 503 when the rollouts cannot be published; 504 on timeout
     */
    public Scored score(RewardRequest request) throws InterruptedException {
        return score(request, null);
    }

    /**
     * As {@link #score(RewardRequest)}, publishing the queries as one group of {@code groupSize} (best-of-N).
     *
     * @param groupSize {@code group_size} of every rollout, or null for none
     */
    public Scored score(RewardRequest request, Integer groupSize) throws InterruptedException {
        long t0 = System.nanoTime();
        String requestId = "gw-" + UUID.randomUUID();
        List<Rollout> rollouts = GatewayRollouts.toRollouts(request, requestId, config.policyVersion(), Instant.now(),
                groupSize);
        List<String> ids = rollouts.stream().map(r -> r.getRolloutId()).toList();
        List<CompletableFuture<RewardOutcome>> futures = listener.expect(requestId, ids);
        try {
            try {
                for (int i = 0; i < rollouts.size(); i++) {
                    CompletableFuture<RewardOutcome> f = futures.get(i);
                    producer.send(new ProducerRecord<>(config.rolloutsTopic(), requestId, rollouts.get(i)), (md, e) -> {
                        if (e != null) {
                            f.completeExceptionally(e);
                        }
                    });
                }
            } catch (KafkaException e) {
                // serializer (registry unreachable) or metadata failure before anything was sent
                throw new GatewayException(503, "cannot publish request " + requestId + " to topic '"
                        + config.rolloutsTopic() + "': " + e.getMessage());
            }
            try {
                CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
                        .get(config.requestTimeoutMs(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                long missing = futures.stream().filter(f -> !f.isDone()).count();
                throw new GatewayException(504, "timed out after " + config.requestTimeoutMs() + " ms "
                        + "(gateway.request.timeout.ms): " + missing + " of " + ids.size() + " rollouts of request "
                        + requestId + " have no reward yet; they stay on topic '" + config.rolloutsTopic()
                        + "' and will be rewarded on '" + config.rewardsTopic() + "' once a scorer reads them");
            } catch (ExecutionException e) {
                throw new GatewayException(503, "cannot publish request " + requestId + " to topic '"
                        + config.rolloutsTopic() + "': " + e.getCause().getMessage());
            }
            List<Reward> rewards = new ArrayList<>(ids.size());
            Map<Integer, String> rejected = new LinkedHashMap<>();
            for (int i = 0; i < futures.size(); i++) {
                RewardOutcome o = futures.get(i).join();
                if (o.isRewarded()) {
                    rewards.add(o.reward());
                } else {
                    rejected.put(i, o.deadLetterReason() + (o.deadLetterDetail() == null ? "" : ": " + o.deadLetterDetail()));
                }
            }
            if (!rejected.isEmpty()) {
                StringBuilder sb = new StringBuilder("the scorer rejected ").append(rejected.size()).append(" of ")
                        .append(ids.size()).append(" queries of request ").append(requestId).append(" (dead-lettered on '")
                        .append(config.deadLettersTopic()).append("'):");
                rejected.forEach((i, why) -> sb.append(" query[").append(i).append("] ").append(why).append(';'));
                throw new GatewayException(422, sb.toString());
            }
            LOG.debug("request {}: {} rewards in {} ms", requestId, rewards.size(), (System.nanoTime() - t0) / 1_000_000);
            return new Scored(requestId, rewards);
        } finally {
            listener.forget(requestId, ids);
        }
    }

    public GatewayConfig config() {
        return config;
    }

    /** Closes the producer (waiting up to 5 s for sends in flight) and the listener. */
    @Override
    public void close() throws InterruptedException {
        try {
            producer.close(Duration.ofSeconds(5));
        } finally {
            listener.close();
        }
    }
}
