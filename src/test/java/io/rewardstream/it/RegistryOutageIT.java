package io.rewardstream.it;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.scoring.ReleaseTestModels;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Registry-unavailable policy: while the schema registry answers 503 (an outage, as opposed to an unknown schema id,
 * which is a property of the record), rollouts WAIT: nothing is dead-lettered, nothing is rewarded, the scorer process
 * stays up (the deserialization handler fails the stream thread, which is replaced and retries the same offsets). Once
 * the registry is back, every rollout is rewarded exactly once.
 */
@ExtendWith(SharedLocalStack.class)
class RegistryOutageIT {
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    @Test
    void shouldHoldRolloutsDuringARegistryOutageAndRewardThemAllAfterwards(LocalStack stack) throws Exception {
        ScorerIt.Names n = ScorerIt.Names.unique("regoutage");
        ScorerTraffic.createTopics(stack, 2, n.dataTopics());
        Path work = ScorerIt.workDir(n.prefix());
        Path model = ReleaseTestModels.tinySavedModel(work.resolve("models"), "outage", 1, 5);

        SwitchableProxy proxy = new SwitchableProxy(stack.schemaRegistryUrl());
        closeables.add(proxy);
        proxy.down.set(true);

        Map<String, String> cfg = ScorerIt.config(stack, n, model, work.resolve("state"));
        cfg.put("schema.registry.url", proxy.url());
        cfg.put("batch.max.size", "8");
        ScorerProcess scorer = new ScorerProcess("outage-scorer", work.resolve("scorer"), cfg);
        closeables.add(scorer);
        scorer.start();

        RolloutGenerator gen = new RolloutGenerator(5, n.prefix(), 260, 128);
        try (ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<Reward> rewards = traffic.rewards(n.rewards());
             ScorerTraffic.Reader<ConsumerRecord<byte[], byte[]>> dlq = traffic.raw(n.deadLetters(),
                     r -> r.offset() + "@" + r.partition())) {
            scorer.awaitReady(Duration.ofMinutes(3));
            List<Rollout> rollouts = gen.groups(10, 2);
            traffic.produce(n.rollouts(), rollouts); // the producer talks to the registry directly: it is up

            // outage: 20 s of 503s
            long t0 = System.nanoTime();
            List<Reward> during = new ArrayList<>();
            while (System.nanoTime() - t0 < Duration.ofSeconds(20).toNanos()) {
                during.addAll(rewards.poll(Duration.ofSeconds(1)));
                dlq.poll(Duration.ofMillis(200));
            }
            int refusedRequests = proxy.refused.get();
            assertThat(refusedRequests).as("the scorer did try the registry").isPositive();
            assertThat(during).as("no reward without the writer schema").isEmpty();
            assertThat(dlq.all()).as("an outage is not a poison record: nothing dead-lettered").isEmpty();
            assertThat(scorer.isAlive()).as("the scorer process survives the outage").isTrue();
            long failures = scorer.logText().lines().filter(l -> l.contains("schema registry unavailable")).count();
            System.out.printf("outage 20 s: %d registry requests refused (503), %d stream-thread failures logged, "
                    + "0 rewards, 0 dead letters%n", refusedRequests, failures);

            proxy.down.set(false);
            long t1 = System.nanoTime();
            assertThat(rewards.awaitIds(ScorerCrashIT.ids(rollouts), Duration.ofSeconds(120)))
                    .as("every rollout rewarded after the registry came back; missing %s\n%s",
                            ScorerCrashIT.missing(rollouts, rewards.ids()), scorer.tail(60)).isTrue();
            System.out.printf("registry back: all %d rollouts rewarded %d ms later%n", rollouts.size(),
                    (System.nanoTime() - t1) / 1_000_000);
            rewards.drain(Duration.ofSeconds(2));
            dlq.drain(Duration.ofSeconds(1));
            assertThat(rewards.duplicates()).isEmpty();
            assertThat(dlq.all()).isEmpty();
            assertThat(scorer.isAlive()).isTrue();
        }
    }

    /** An HTTP proxy to the registry on 127.0.0.1 that answers 503 (Confluent error body) while {@link #down}. */
    static final class SwitchableProxy implements AutoCloseable {
        final AtomicBoolean down = new AtomicBoolean();
        final AtomicInteger refused = new AtomicInteger();
        private final HttpServer server;
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        private final URI upstream;

        SwitchableProxy(String upstreamUrl) throws IOException {
            upstream = URI.create(upstreamUrl.endsWith("/") ? upstreamUrl : upstreamUrl + "/");
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
            server.createContext("/", this::handle);
            server.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        private void handle(HttpExchange ex) throws IOException {
            try (ex) {
                if (down.get()) {
                    refused.incrementAndGet();
                    send(ex, 503, "{\"error_code\":50301,\"message\":\"registry down (test outage)\"}".getBytes(
                            StandardCharsets.UTF_8), "application/json");
                    return;
                }
                String path = ex.getRequestURI().getRawPath().substring(1);
                String q = ex.getRequestURI().getRawQuery();
                URI target = upstream.resolve(path + (q == null ? "" : "?" + q));
                byte[] body = ex.getRequestBody().readAllBytes();
                HttpRequest.Builder b = HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(10))
                        .method(ex.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofByteArray(body));
                String ct = ex.getRequestHeaders().getFirst("Content-Type");
                if (ct != null) {
                    b.header("Content-Type", ct);
                }
                HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
                send(ex, r.statusCode(), r.body(), r.headers().firstValue("Content-Type").orElse("application/json"));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private static void send(HttpExchange ex, int status, byte[] body, String type) throws IOException {
            ex.getResponseHeaders().set("Content-Type", type);
            ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            }
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
