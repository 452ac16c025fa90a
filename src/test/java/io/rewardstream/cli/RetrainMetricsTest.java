package io.rewardstream.cli;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rewardstream.metrics.MetricsHttpServer;
import io.rewardstream.training.RetrainConfig;
import io.rewardstream.training.RetrainJob;
import io.rewardstream.training.SavedModelRoundTrainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The retrain job's endpoints as {@code rewardstream retrain} wires them, on a job that is constructed but not run
 * (constructing opens no connection): its meters on /metrics, live, not ready (no partitions), not live once closed.
 */
class RetrainMetricsTest {

    static HttpResponse<String> get(String url) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldServeTheJobsMetersAndHealth(@TempDir Path dir) throws Exception {
        Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", "127.0.0.1:1");
        m.put("schema.registry.url", "http://127.0.0.1:1");
        m.put("retrain.replay.dir", dir.resolve("replay").toString());
        m.put("retrain.model.root", dir.resolve("models").toString());
        m.put("retrain.model.name", "m");
        m.put("metrics.port", "0");
        RetrainConfig cfg = RetrainConfig.from(m);
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        RetrainJob job = new RetrainJob(cfg, new SavedModelRoundTrainer(), meters, null);
        try (MetricsHttpServer http = io.rewardstream.training.RetrainApp.startHttp(cfg, meters, job)) {
            assertThat(http.url()).startsWith("http://127.0.0.1:");
            HttpResponse<String> metrics = get(http.url() + "/metrics");
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("rewardstream_retrain_rounds_total{outcome=\"released\"} 0.0",
                    "rewardstream_retrain_pairs_total{result=\"valid\"} 0.0", "rewardstream_retrain_heldout_accuracy");
            assertThat(get(http.url() + "/health/live").statusCode()).isEqualTo(200);
            HttpResponse<String> ready = get(http.url() + "/health/ready");
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.body()).startsWith("not ready");
            job.close();
            assertThat(get(http.url() + "/health/live").statusCode()).isEqualTo(503);
        } finally {
            job.close();
            meters.close();
        }
    }
}
