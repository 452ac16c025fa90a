package io.rewardstream.cli;

import io.rewardstream.scoring.BatchingConfig;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.ShapingConfig;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.release.ReleaseConfig;
import io.rewardstream.training.RetrainConfig;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class ConfigReferenceTest {

    @Test
    void shouldMatchTheCommittedReference() throws Exception {
        String committed = Files.readString(Path.of("topology/CONFIGURATION.md"), StandardCharsets.UTF_8);
        assertThat(committed)
                .as("topology/CONFIGURATION.md is stale: run ./rewardstream config reference --out topology/CONFIGURATION.md")
                .isEqualTo(ConfigReference.markdown());
    }

    @Test
    void shouldDocumentEveryKeyTheScorerConfigClassesDefine() {
        Set<String> documented = keys("topology/scorer.properties");
        Set<String> defined = new TreeSet<>();
        for (Class<?> c : List.of(ScorerConfig.class, ShapingConfig.class, BatchingConfig.class, RuntimeConfig.class,
                ReleaseConfig.class)) {
            defined.addAll(keyConstants(c));
        }
        defined.remove("bootstrap.servers"); // required, no default: documented commented out
        assertThat(defined).isNotEmpty();
        assertThat(documented).containsAll(defined);
    }

    @Test
    void shouldDocumentEveryKeyTheRetrainConfigDefines() {
        Set<String> defined = keyConstants(RetrainConfig.class);
        assertThat(defined).isNotEmpty();
        assertThat(keys("topology/retrain.properties")).containsAll(defined);
    }

    @Test
    void shouldTakeTheCommentAboveAKeyAsItsMeaning() {
        List<ConfigReference.Entry> entries = ConfigReference.parse("""
                # --- Batching -----
                # Largest batch.
                batch.max.size=64
                batch.max.tokens=100
                # Optional thing.
                #kafka.x.y=1

                # ------------
                # Runtime
                # ------------
                model.dir=
                """);
        assertThat(entries).extracting(ConfigReference.Entry::key)
                .containsExactly("batch.max.size", "batch.max.tokens", "kafka.x.y", "model.dir");
        assertThat(entries.get(0).meaning()).isEqualTo("Largest batch.");
        assertThat(entries.get(1).meaning()).isEqualTo("Largest batch.");
        assertThat(entries.get(2).optional()).isTrue();
        assertThat(entries.get(2).meaning()).isEqualTo("Optional thing.");
        assertThat(entries.get(0).section()).isEqualTo("Batching");
        assertThat(entries.get(3).section()).isEqualTo("Runtime");
    }

    private static Set<String> keys(String resource) {
        return ConfigReference.parse(ConfigReference.read(resource)).stream()
                .map(ConfigReference.Entry::key).collect(Collectors.toCollection(TreeSet::new));
    }

    /** public static final String constants whose value looks like a dotted config key. */
    private static Set<String> keyConstants(Class<?> c) {
        Set<String> out = new TreeSet<>();
        for (Field f : c.getDeclaredFields()) {
            int m = f.getModifiers();
            if (Modifier.isPublic(m) && Modifier.isStatic(m) && Modifier.isFinal(m) && f.getType() == String.class
                    && !f.getName().startsWith("DEFAULT")) {
                try {
                    String v = (String) f.get(null);
                    if (v != null && v.matches("[a-z][a-z0-9-]*(\\.[a-z0-9-]+)+") && !v.endsWith(".properties")
                            && !v.endsWith(".json")) {
                        out.add(v);
                    }
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
        return out;
    }
}
