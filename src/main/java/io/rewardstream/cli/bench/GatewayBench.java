package io.rewardstream.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.rewardstream.avro.Reward;
import io.rewardstream.cli.demo.SimulatedPolicy;
import io.rewardstream.cli.demo.ModelCache;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.gateway.GatewayConfig;
import io.rewardstream.gateway.GatewayServer;
import io.rewardstream.gateway.RewardGateway;
import io.rewardstream.gateway.RewardRequest;
import io.rewardstream.topology.ReleaseHook;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.topology.TopicProvisioner;
import io.rewardstream.training.ArithmeticTask;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.streams.KafkaStreams;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The gateway's latency next to the scorer's own, in one process on the embedded broker and registry: a scorer
 * (defaults of {@code topology/scorer.properties} plus {@code overrides}) and a gateway, then {@code clients}
 * concurrent clients each sending {@code requests} requests of {@code queries} queries each way, alternating between
 * the two ways (so both see the same load on a shared machine):
 * <ol>
 *   <li><b>Kafka round trip</b>: in-process calls of {@link RewardGateway#score} (rollouts published, rewards read
 *       back read_committed; no HTTP, no JSON);</li>
 *   <li><b>gateway HTTP</b>: the same requests as OpenRLHF's JSON over HTTP with the bearer token.</li>
 * </ol>
 * and, from the reward records, the <b>scorer</b>'s own latency ({@code scored_at - created_at}, from the Kafka round trips' rewards:
 * buffering, batching, model, shaping). Prints p50/p99 side by side. Progress goes to {@code log}.
 */
public final class GatewayBench {
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    /** What to run. */
    public record Options(String model, Path cacheRoot, int clients, int requests, int queries,
                          Map<String, String> scorerOverrides) {
    }

    /** Latency distribution of one stage, in ms. */
    public record Stage(String name, int n, double p50, double p99, double mean, double perSecond) {
        String row() {
            return String.format(Locale.ROOT, "%-44s %6d %9.1f %9.1f %9.1f %9.1f", name, n, p50, p99, mean, perSecond);
        }
    }

    private final Options o;
    private final PrintStream log;

    public GatewayBench(Options o, PrintStream log) {
        if (o.clients() < 1 || o.requests() < 1 || o.queries() < 1) {
            throw new IllegalArgumentException("--clients, --requests and --queries must be >= 1");
        }
        this.o = o;
        this.log = log;
    }

    /** Runs every stage; returns them in print order (scorer, kafka round trip, gateway HTTP). */
    public List<Stage> run() throws Exception {
        Path modelDir = resolveModel();
        log.println("gateway bench: starting Kafka and the schema registry...");
        try (LocalStack stack = LocalStack.start()) {
            String p = "gwbench-" + UUID.randomUUID().toString().substring(0, 8);
            Map<String, String> topics = new HashMap<>();
            for (String t : List.of(TopicProvisioner.ROLLOUTS, TopicProvisioner.REWARDS,
                    TopicProvisioner.GROUP_ADVANTAGES, TopicProvisioner.DEAD_LETTERS)) {
                topics.put("topics." + t + ".name", p + "-" + t);
            }
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
                TopicProvisioner.fromClasspath(topics).createAll(admin);
            }
            Map<String, String> sc = new HashMap<>(topics);
            sc.put(ScorerConfig.APPLICATION_ID, p + "-scorer");
            sc.put(ScorerConfig.BOOTSTRAP_SERVERS, stack.bootstrapServers());
            sc.put(ScorerConfig.SCHEMA_REGISTRY_URL, stack.schemaRegistryUrl());
            sc.put(ScorerConfig.METRICS_PORT, "-1");
            sc.put("model.dir", modelDir.toString());
            sc.put("state.dir", java.nio.file.Files.createTempDirectory("gwbench-state").toString());
            sc.putAll(o.scorerOverrides());
            String token = UUID.randomUUID().toString();
            Map<String, String> gc = new HashMap<>(topics);
            gc.put(GatewayConfig.BOOTSTRAP_SERVERS, stack.bootstrapServers());
            gc.put(GatewayConfig.SCHEMA_REGISTRY_URL, stack.schemaRegistryUrl());
            gc.put(GatewayConfig.TOKEN, token);
            gc.put(GatewayConfig.PORT, "0");
            gc.put(GatewayConfig.THREADS, Integer.toString(Math.max(8, o.clients() * 2)));
            GatewayConfig cfg = GatewayConfig.from(gc);
            try (ScorerApp scorer = new ScorerApp(ScorerConfig.from(sc), ReleaseHook.none(), null, null);
                 RewardGateway gateway = new RewardGateway(cfg)) {
                log.println("gateway bench: starting the scorer (" + modelDir + ") and the gateway...");
                scorer.start();
                long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (scorer.state() != KafkaStreams.State.RUNNING) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("scorer not RUNNING after 120 s: " + scorer.state());
                    }
                    Thread.sleep(100);
                }
                gateway.start(Duration.ofSeconds(60));
                try (GatewayServer server = GatewayServer.start(cfg, GatewayServer.openRlhf(gateway))) {
                    List<RewardRequest> reqs = requests(2 * o.clients() * o.requests() + 16);
                    ConcurrentLinkedQueue<Double> scorerMs = new ConcurrentLinkedQueue<>();
                    log.println("gateway bench: warm-up");
                    timed("warm-up", reqs.subList(0, 16), 4, r -> direct(gateway, r, null));
                    List<RewardRequest> work = reqs.subList(16, reqs.size());
                    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                    log.printf(Locale.ROOT, "gateway bench: %d clients x %d requests of %d queries, each client "
                            + "alternating Kafka round trip and HTTP %s/get_reward%n", o.clients(), 2 * o.requests(),
                            o.queries(), server.url());
                    Stage[] both = interleaved(work, o.clients(), r -> direct(gateway, r, scorerMs),
                            r -> viaHttp(http, server.url(), token, r));
                    Stage kafka = both[0];
                    Stage gw = both[1];
                    log.println("  " + kafka.row());
                    log.println("  " + gw.row());
                    Stage own = summarize("scorer itself (created_at -> scored_at)", new ArrayList<>(scorerMs), 0);
                    return List.of(own, kafka, gw);
                }
            }
        }
    }

    /** The table: one row per stage and the ratios. */
    public static String table(List<Stage> stages, Options o) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "gateway latency, %d concurrent clients, %d queries per request, ms%n",
                o.clients(), o.queries()));
        sb.append(String.format(Locale.ROOT, "%-44s %6s %9s %9s %9s %9s%n", "stage", "n", "p50", "p99", "mean", "req/s"));
        stages.forEach(s -> sb.append(s.row()).append('\n'));
        Stage own = stages.get(0);
        Stage kafka = stages.get(1);
        Stage gw = stages.get(2);
        sb.append(String.format(Locale.ROOT, "gateway / scorer itself: p50 x%.2f, p99 x%.2f; gateway / Kafka round trip: "
                + "p50 x%.2f, p99 x%.2f%n", gw.p50() / own.p50(), gw.p99() / own.p99(), gw.p50() / kafka.p50(),
                gw.p99() / kafka.p99()));
        return sb.toString();
    }

    private interface Call {
        void run(RewardRequest r) throws Exception;
    }

    /**
     * Every client sends its requests alternately through {@code a} and {@code b}, so both paths see the same load
     * (the machine may be shared); returns the two latency distributions.
     */
    private Stage[] interleaved(List<RewardRequest> reqs, int clients, Call a, Call b) throws Exception {
        ConcurrentLinkedQueue<Double> msA = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Double> msB = new ConcurrentLinkedQueue<>();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long t0 = System.nanoTime();
        try {
            List<Future<?>> fs = new ArrayList<>();
            int per = (reqs.size() + clients - 1) / clients;
            for (int c = 0; c < clients; c++) {
                List<RewardRequest> mine = reqs.subList(Math.min(reqs.size(), c * per), Math.min(reqs.size(), (c + 1) * per));
                int first = c % 2;
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < mine.size(); i++) {
                        boolean useA = (i + first) % 2 == 0;
                        long s = System.nanoTime();
                        (useA ? a : b).run(mine.get(i));
                        (useA ? msA : msB).add((System.nanoTime() - s) / 1e6);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        return new Stage[]{summarize("Kafka round trip (publish -> reward, no HTTP)", new ArrayList<>(msA), secs),
                summarize("gateway HTTP POST /get_reward (OpenRLHF JSON)", new ArrayList<>(msB), secs)};
    }

    private Stage timed(String name, List<RewardRequest> reqs, int clients, Call call) throws Exception {
        ConcurrentLinkedQueue<Double> ms = new ConcurrentLinkedQueue<>();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long t0 = System.nanoTime();
        try {
            List<Future<?>> fs = new ArrayList<>();
            int per = (reqs.size() + clients - 1) / clients;
            for (int c = 0; c < clients; c++) {
                List<RewardRequest> mine = reqs.subList(Math.min(reqs.size(), c * per), Math.min(reqs.size(), (c + 1) * per));
                fs.add(pool.submit(() -> {
                    for (RewardRequest r : mine) {
                        long s = System.nanoTime();
                        call.run(r);
                        ms.add((System.nanoTime() - s) / 1e6);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        return summarize(name, new ArrayList<>(ms), (System.nanoTime() - t0) / 1e9);
    }

    private static Stage summarize(String name, List<Double> ms, double seconds) {
        Collections.sort(ms);
        double mean = ms.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        return new Stage(name, ms.size(), pct(ms, 0.50), pct(ms, 0.99), mean, seconds > 0 ? ms.size() / seconds : Double.NaN);
    }

    private static double pct(List<Double> sorted, double q) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
    }

    private static void direct(RewardGateway g, RewardRequest r, ConcurrentLinkedQueue<Double> scorerMs) throws Exception {
        for (Reward w : g.score(r).rewards()) {
            if (scorerMs != null) {
                scorerMs.add((double) (w.getScoredAt().toEpochMilli() - w.getRolloutCreatedAt().toEpochMilli()));
            }
        }
    }

    private static void viaHttp(HttpClient http, String url, String token, RewardRequest r) throws Exception {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("query", r.queries());
        body.put("prompts", r.prompts());
        body.put("labels", r.labels());
        HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create(url + "/get_reward"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
                HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() != 200) {
            throw new IllegalStateException("gateway answered " + resp.statusCode() + ": " + resp.body());
        }
        JsonNode n = JSON.readTree(resp.body());
        if (n.get("rewards").size() != r.size()) {
            throw new IllegalStateException("gateway returned " + n.get("rewards").size() + " rewards for " + r.size());
        }
    }

    private List<RewardRequest> requests(int n) {
        SimulatedPolicy policy = new SimulatedPolicy(7, 0.5, o.queries(), 0.3);
        ArithmeticTask task = ModelCache.task();
        List<RewardRequest> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            List<String> queries = new ArrayList<>();
            List<String> prompts = new ArrayList<>();
            List<String> labels = new ArrayList<>();
            for (SimulatedPolicy.Sample s : policy.group(task, "bench", "gw", System.currentTimeMillis())) {
                String prompt = s.rollout().getPromptText();
                prompts.add(prompt);
                queries.add(prompt + s.rollout().getResponseText());
                labels.add(Boolean.toString(s.correct()));
            }
            out.add(new RewardRequest(queries, prompts, labels));
        }
        return out;
    }

    private Path resolveModel() throws Exception {
        try {
            return ModelCache.obtain(o.cacheRoot(), io.rewardstream.training.ModelSize.parse(o.model()), log);
        } catch (IllegalArgumentException notASize) {
            return Path.of(o.model());
        }
    }
}
