package io.rewardstream.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.rewardstream.avro.GroupAdvantage;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.it.RunningScorer;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.topology.TopicProvisioner;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The gateway on the real stack: a scorer (real TensorFlow model) on its own topics, the gateway in front of it, and
 * OpenRLHF's payload over HTTP. Every reward the gateway returns must equal the reward the scorer wrote to the
 * rewards topic for the same rollout.
 */
@ExtendWith(SharedLocalStack.class)
class GatewayIT {
    private static final String TOKEN = "gateway-it-token-" + UUID.randomUUID();
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private static RunningScorer scorer;
    private static RewardGateway gateway;
    private static GatewayServer server;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start(LocalStack stack) throws Exception {
        // a response over 4000 tokens is dead-lettered (OVERSIZED): the 422 path
        scorer = RunningScorer.start(stack, "gateway-it", Path.of("target", "it-work", "gateway").toAbsolutePath(),
                Map.of("validation.max.response.tokens", "4000"));
        Map<String, String> keys = new HashMap<>(scorer.topicKeys());
        keys.put(GatewayConfig.QUERY_TOKEN_ENABLED, "true");   // as OpenRLHF's client needs: it sets no header
        GatewayConfig cfg = config(stack, keys, 60_000);
        gateway = new RewardGateway(cfg);
        gateway.start(Duration.ofSeconds(60));
        server = GatewayServer.start(cfg, GatewayServer.openRlhf(gateway));
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (gateway != null) {
            gateway.close();
        }
        if (scorer != null) {
            scorer.close();
        }
    }

    private static GatewayConfig config(LocalStack stack, Map<String, String> topics, long timeoutMs) {
        Map<String, String> m = new HashMap<>(topics);
        m.put(GatewayConfig.BOOTSTRAP_SERVERS, stack.bootstrapServers());
        m.put(GatewayConfig.SCHEMA_REGISTRY_URL, stack.schemaRegistryUrl());
        m.put(GatewayConfig.TOKEN, TOKEN);
        m.put(GatewayConfig.PORT, "0");
        m.put(GatewayConfig.REQUEST_TIMEOUT_MS, Long.toString(timeoutMs));
        return GatewayConfig.from(m);
    }

    private static HttpResponse<String> post(String url, String token, Object body) throws Exception {
        return postTo(url + "/get_reward", token, body);
    }

    private static HttpResponse<String> postTo(String fullUrl, String token, Object body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fullUrl))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static Map<String, Object> openRlhf(List<String> prompts, List<String> responses, List<?> labels) {
        List<String> query = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            query.add(prompts.get(i) + responses.get(i));
        }
        Map<String, Object> m = new HashMap<>();
        m.put("query", query);
        m.put("prompts", prompts);
        m.put("labels", labels);
        return m;
    }

    /** Rewards on the rewards topic (read_committed, from the beginning) for these rollout ids. */
    private static Map<String, Reward> rewardsOnTopic(LocalStack stack, Set<String> ids) {
        AvroDeserializer<Reward> de = new AvroDeserializer<>(Reward.class);
        de.configure(Map.of("schema.registry.url", stack.schemaRegistryUrl()), false);
        Map<String, Reward> out = new HashMap<>();
        try (KafkaConsumer<String, Reward> c = new KafkaConsumer<>(Map.of("bootstrap.servers", stack.bootstrapServers(),
                "group.id", "gateway-it-reader-" + UUID.randomUUID(), "auto.offset.reset", "earliest",
                "isolation.level", "read_committed"), new StringDeserializer(), de)) {
            c.subscribe(List.of(scorer.topic(TopicProvisioner.REWARDS)));
            long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!out.keySet().containsAll(ids) && System.nanoTime() < until) {
                for (ConsumerRecord<String, Reward> r : c.poll(Duration.ofMillis(200))) {
                    if (ids.contains(r.value().getRolloutId())) {
                        assertThat(out.put(r.value().getRolloutId(), r.value())).as("reward written once").isNull();
                    }
                }
            }
        }
        return out;
    }

    @Test
    void shouldReturnOneRewardPerQueryEqualToTheRewardOnTheTopic(LocalStack stack) throws Exception {
        List<String> prompts = List.of("What is 12 + 30? ", "What is 12 + 30? ", "Translate 'chat': ", "Say hi: ");
        List<String> responses = List.of("42", "The answer is probably 41, let me double check...", "cat", "hi");
        HttpResponse<String> resp = post(server.url(), TOKEN, openRlhf(prompts, responses, List.of("42", "42", "cat", "")));
        assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
        JsonNode body = JSON.readTree(resp.body());
        assertThat(body.get("rewards")).hasSize(4);
        assertThat(body.get("scores")).hasSize(4);
        assertThat(body.get("extra_logs").get("kl")).hasSize(4);
        List<String> ids = new ArrayList<>();
        body.get("rollout_ids").forEach(n -> ids.add(n.asText()));
        Map<String, Reward> onTopic = rewardsOnTopic(stack, new HashSet<>(ids));
        assertThat(onTopic).hasSize(4);
        for (int i = 0; i < 4; i++) {
            Reward r = onTopic.get(ids.get(i));
            assertThat(body.get("rewards").get(i).asDouble()).as("query %d", i).isEqualTo(r.getReward());
            assertThat(body.get("scores").get(i).asDouble()).isEqualTo(r.getScore());
            assertThat(body.get("model_versions").get(i).asText()).isEqualTo("tiny:1");
            assertThat(r.getFlags()).contains("NO_REFERENCE");
        }
        assertThat(body.get("rewards").get(0).asDouble()).as("different texts, different rewards")
                .isNotEqualTo(body.get("rewards").get(1).asDouble());
        System.out.printf("GatewayIT: rewards %s = rewards topic%n", body.get("rewards"));
    }

    /** Group advantages on the group-advantages topic (read_committed, from the beginning) for these rollout ids. */
    private static Map<String, GroupAdvantage> advantagesOnTopic(LocalStack stack, Set<String> ids) {
        AvroDeserializer<GroupAdvantage> de = new AvroDeserializer<>(GroupAdvantage.class);
        de.configure(Map.of("schema.registry.url", stack.schemaRegistryUrl()), false);
        Map<String, GroupAdvantage> out = new HashMap<>();
        try (KafkaConsumer<String, GroupAdvantage> c = new KafkaConsumer<>(Map.of("bootstrap.servers",
                stack.bootstrapServers(), "group.id", "gateway-it-ga-" + UUID.randomUUID(), "auto.offset.reset",
                "earliest", "isolation.level", "read_committed"), new StringDeserializer(), de)) {
            c.subscribe(List.of(scorer.topic(TopicProvisioner.GROUP_ADVANTAGES)));
            long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!out.keySet().containsAll(ids) && System.nanoTime() < until) {
                for (ConsumerRecord<String, GroupAdvantage> r : c.poll(Duration.ofMillis(200))) {
                    if (ids.contains(r.value().getRolloutId())) {
                        out.put(r.value().getRolloutId(), r.value());
                    }
                }
            }
        }
        return out;
    }

    @Test
    void shouldRankBestOfNCandidatesInTheOrderOfTheirRewardsOnTheTopic(LocalStack stack) throws Exception {
        List<String> candidates = List.of("42", "The answer is probably 41, let me double check...", "forty two",
                "I do not know", "12 + 30 = 42");
        HttpResponse<String> resp = postTo(server.url() + "/best_of_n", TOKEN,
                Map.of("prompt", "What is 12 + 30? ", "candidates", candidates));
        assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
        JsonNode body = JSON.readTree(resp.body());
        List<String> ids = new ArrayList<>();
        body.get("rollout_ids").forEach(n -> ids.add(n.asText()));
        assertThat(ids).hasSize(5);
        Map<String, Reward> onTopic = rewardsOnTopic(stack, new HashSet<>(ids));
        assertThat(onTopic).hasSize(5);
        // the expected ranking, from the rewards topic alone: indices by reward, best first
        List<Integer> expected = new ArrayList<>(List.of(0, 1, 2, 3, 4));
        expected.sort((a, b) -> Double.compare(onTopic.get(ids.get(b)).getReward(), onTopic.get(ids.get(a)).getReward()));
        List<Integer> ranking = new ArrayList<>();
        body.get("ranking").forEach(n -> ranking.add(n.asInt()));
        assertThat(ranking).isEqualTo(expected);
        assertThat(body.get("best_index").asInt()).isEqualTo(expected.get(0));
        assertThat(body.get("best").asText()).isEqualTo(candidates.get(expected.get(0)));
        for (int i = 0; i < 5; i++) {
            assertThat(body.get("rewards").get(i).asDouble()).isEqualTo(onTopic.get(ids.get(i)).getReward());
        }
        assertThat(onTopic.values()).extracting(Reward::getGroupId).containsOnly(body.get("request_id").asText());
        // the scorer saw a complete group of 5: its GroupAdvantage ranks agree with the gateway's
        Map<String, GroupAdvantage> ga = advantagesOnTopic(stack, new HashSet<>(ids));
        assertThat(ga).hasSize(5);
        for (int i = 0; i < 5; i++) {
            GroupAdvantage g = ga.get(ids.get(i));
            assertThat(g.getExpectedGroupSize()).isEqualTo(5);
            assertThat(g.getRank()).as("candidate %d", i).isEqualTo(body.get("ranks").get(i).asInt());
        }
        System.out.printf("GatewayIT: best_of_n rewards %s ranking %s%n", body.get("rewards"), ranking);
    }

    @Test
    void shouldServeOpenRlhfsClientWhichSendsTheTokenInTheUrl(LocalStack stack) throws Exception {
        // OpenRLHF posts {"query", "prompts", "labels"} to --remote_rm_url with no headers beyond JSON's
        String remoteRmUrl = server.url() + "/get_reward?access_token=" + TOKEN;
        HttpResponse<String> resp = postTo(remoteRmUrl, null, openRlhf(List.of("Q: 2+2? "), List.of("4"), List.of("4")));
        assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
        JsonNode body = JSON.readTree(resp.body());
        String id = body.get("rollout_ids").get(0).asText();
        assertThat(body.get("rewards").get(0).asDouble()).isEqualTo(rewardsOnTopic(stack, Set.of(id)).get(id).getReward());
        assertThat(postTo(server.url() + "/get_reward?access_token=wrong-token-0123456789", null,
                Map.of("query", List.of("x"))).statusCode()).isEqualTo(401);
    }

    @Test
    void shouldKeepConcurrentRequestsApart(LocalStack stack) throws Exception {
        List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int n = i;
            fs.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return post(server.url(), TOKEN, Map.of("query", List.of("Count to " + n + ": " + "1 ".repeat(n + 1))));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        Set<String> ids = new HashSet<>();
        Map<String, Double> returned = new HashMap<>();
        for (CompletableFuture<HttpResponse<String>> f : fs) {
            HttpResponse<String> r = f.join();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode b = JSON.readTree(r.body());
            assertThat(b.get("rewards")).hasSize(1);
            assertThat(b.get("rollout_ids").get(0).asText()).startsWith(b.get("request_id").asText());
            ids.add(b.get("rollout_ids").get(0).asText());
            returned.put(b.get("rollout_ids").get(0).asText(), b.get("rewards").get(0).asDouble());
        }
        assertThat(ids).hasSize(8);
        Map<String, Reward> onTopic = rewardsOnTopic(stack, ids);
        returned.forEach((id, reward) -> assertThat(onTopic.get(id).getReward()).isEqualTo(reward));
    }

    @Test
    void shouldAnswer401WithoutTheRightToken() throws Exception {
        HttpResponse<String> r = post(server.url(), null, Map.of("query", List.of("x")));
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.body()).contains("bearer token");
        assertThat(post(server.url(), "not-the-token-at-all", Map.of("query", List.of("x"))).statusCode()).isEqualTo(401);
        assertThat(post(server.url(), TOKEN.substring(1), Map.of("query", List.of("x"))).statusCode()).isEqualTo(401);
    }

    @Test
    void shouldAnswer422WithTheScorersReasonForADeadLetteredQuery() throws Exception {
        HttpResponse<String> r = post(server.url(), TOKEN, Map.of("query", List.of("short one", "y".repeat(5000))));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        assertThat(r.body()).contains("query[1] OVERSIZED").doesNotContain("query[0]");
    }

    @Test
    void shouldAnswer504WhenNoScorerReadsTheTopicAndKeepTheRollout(LocalStack stack) throws Exception {
        // a rollouts topic nobody scores; rewards and dead letters of the running scorer
        String orphan = "gateway-it-orphan-" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(orphan, 1, (short) 1))).all().get();
        }
        Map<String, String> topics = new HashMap<>(scorer.topicKeys());
        topics.put("topics.rollouts.name", orphan);
        GatewayConfig cfg = config(stack, topics, 1500);
        try (RewardGateway g = new RewardGateway(cfg)) {
            g.start(Duration.ofSeconds(60));
            try (GatewayServer s = GatewayServer.start(cfg, GatewayServer.openRlhf(g))) {
                long t0 = System.nanoTime();
                HttpResponse<String> r = post(s.url(), TOKEN, Map.of("query", List.of("nobody scores this")));
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertThat(r.statusCode()).as(r.body()).isEqualTo(504);
                assertThat(r.body()).contains("timed out after 1500 ms").contains("1 of 1 rollouts")
                        .contains("stay on topic '" + orphan + "'");
                assertThat(ms).isBetween(1400L, 10_000L);
            }
        }
        AvroDeserializer<Rollout> de = new AvroDeserializer<>(Rollout.class);
        de.configure(Map.of("schema.registry.url", stack.schemaRegistryUrl()), false);
        try (KafkaConsumer<String, Rollout> c = new KafkaConsumer<>(Map.of("bootstrap.servers", stack.bootstrapServers(),
                "group.id", "orphan-reader", "auto.offset.reset", "earliest"), new StringDeserializer(), de)) {
            c.subscribe(List.of(orphan));
            List<Rollout> got = new ArrayList<>();
            long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (got.isEmpty() && System.nanoTime() < until) {
                c.poll(Duration.ofMillis(200)).forEach(x -> got.add(x.value()));
            }
            assertThat(got).hasSize(1);
            assertThat(got.get(0).getResponseText()).isEqualTo("nobody scores this");
        }
    }
}
