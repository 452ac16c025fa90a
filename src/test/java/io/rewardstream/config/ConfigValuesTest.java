package io.rewardstream.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigValuesTest {

    @Test
    void shouldReadStringsAndTypedValues() {
        Map<String, Object> m = Map.of("a.int", " 42 ", "a.long", 7L, "a.double", "0.25", "a.bool", "TRUE",
                "a.typed.bool", false, "a.typed.double", 3, "a.path", "/tmp/x");
        assertThat(ConfigValues.intValue(m, "a.int", 0)).isEqualTo(42);
        assertThat(ConfigValues.longValue(m, "a.long", 0)).isEqualTo(7L);
        assertThat(ConfigValues.doubleValue(m, "a.double", 0)).isEqualTo(0.25);
        assertThat(ConfigValues.doubleValue(m, "a.typed.double", 0)).isEqualTo(3.0);
        assertThat(ConfigValues.bool(m, "a.bool", false)).isTrue();
        assertThat(ConfigValues.bool(m, "a.typed.bool", true)).isFalse();
        assertThat(ConfigValues.path(m, "a.path")).isEqualTo(Path.of("/tmp/x"));
    }

    @Test
    void shouldTreatAbsentAndBlankAsTheDefault() {
        Map<String, Object> m = new HashMap<>();
        m.put("blank", "   ");
        m.put("null", null);
        for (String k : new String[]{"blank", "null", "absent"}) {
            assertThat(ConfigValues.string(m, k, "d")).isEqualTo("d");
            assertThat(ConfigValues.intValue(m, k, 5)).isEqualTo(5);
            assertThat(ConfigValues.longValue(m, k, 6L)).isEqualTo(6L);
            assertThat(ConfigValues.doubleValue(m, k, 0.5)).isEqualTo(0.5);
            assertThat(ConfigValues.bool(m, k, true)).isTrue();
            assertThat(ConfigValues.path(m, k)).isNull();
            assertThatThrownBy(() -> ConfigValues.requiredLong(m, k)).hasMessage(k + " is required");
        }
    }

    @Test
    void shouldNameTheKeyInEveryError() {
        Map<String, Object> m = Map.of("x.int", "4.5", "x.big", Long.toString(1L + Integer.MAX_VALUE),
                "x.double", "lots", "x.bool", "yes");
        assertThatThrownBy(() -> ConfigValues.longValue(m, "x.int", 0))
                .hasMessage("x.int must be an integer, got '4.5'");
        assertThatThrownBy(() -> ConfigValues.intValue(m, "x.big", 0))
                .hasMessage("x.big is out of int range: 2147483648");
        assertThatThrownBy(() -> ConfigValues.requiredInt(m, "x.big")).hasMessageStartingWith("x.big ");
        assertThatThrownBy(() -> ConfigValues.doubleValue(m, "x.double", 0))
                .hasMessage("x.double must be a number, got 'lots'");
        assertThatThrownBy(() -> ConfigValues.bool(m, "x.bool", false))
                .hasMessage("x.bool must be true or false, got 'yes'");
    }

    @Test
    void shouldOverlayNonNullValuesAndSelectKeys() {
        Map<String, Object> over = new HashMap<>();
        over.put("b", " 2 ");
        over.put("c", null);
        Map<String, String> m = ConfigFiles.overlay(Map.of("a", "1", "c", "3"), over);
        assertThat(m).containsExactly(Map.entry("a", "1"), Map.entry("b", "2"), Map.entry("c", "3"));
        assertThat(ConfigFiles.select(m, k -> !k.equals("b"))).containsOnlyKeys("a", "c");
    }

    @Test
    void shouldReadClasspathDefaultsAndNameAMissingResource() {
        assertThat(ConfigFiles.classpathDefaults("topology/gateway.properties")).containsKey("gateway.port");
        assertThatThrownBy(() -> ConfigFiles.classpathDefaults("topology/no-such.properties"))
                .hasMessageContaining("topology/no-such.properties");
    }
}
