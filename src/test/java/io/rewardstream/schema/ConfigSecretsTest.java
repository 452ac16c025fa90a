package io.rewardstream.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigSecretsTest {
  @TempDir
  Path tmp;

  @Test
  void shouldResolveFileAndEnvPlaceholdersInsideLongerValues() throws Exception {
    Path f = tmp.resolve("pw");
    Files.writeString(f, "file-secret\n");
    Map<String, String> in = new LinkedHashMap<>();
    in.put("sasl.jaas.config", "ScramLoginModule required username=\"u\" password=\"${file:" + f + "}\";");
    in.put("basic.auth.user.info", "scorer:${env:REG_PW}");
    in.put("plain", "no placeholder ${other:x}");
    Map<String, String> out = ConfigSecrets.resolve(in, Map.of("REG_PW", "env-secret")::get);
    assertThat(out).containsEntry("sasl.jaas.config", "ScramLoginModule required username=\"u\" password=\"file-secret\";")
        .containsEntry("basic.auth.user.info", "scorer:env-secret")
        .containsEntry("plain", "no placeholder ${other:x}");
    assertThat(out.keySet()).containsExactlyElementsOf(in.keySet());
  }

  @Test
  void shouldNameKeyAndPlaceholderButNoValueWhenUnresolvable() {
    assertThatThrownBy(() -> ConfigSecrets.resolve(Map.of("ssl.truststore.password", "${env:MISSING_VAR}"), k -> null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ssl.truststore.password").hasMessageContaining("MISSING_VAR");
    assertThatThrownBy(() -> ConfigSecrets.resolve(Map.of("k", "${file:" + tmp.resolve("absent") + "}"), k -> null))
        .hasMessageContaining("k: cannot read secret file").hasMessageContaining("absent");
  }

  @Test
  void shouldKeepDollarSignsInTheSecretLiteral() throws Exception {
    Path f = tmp.resolve("pw2");
    Files.writeString(f, "a$1\\b");
    assertThat(ConfigSecrets.resolve(Map.of("k", "${file:" + f + "}"), k -> null)).containsEntry("k", "a$1\\b");
  }

  @Test
  void shouldHideSecretValuesWhenPrinted() {
    String s = ConfigSecrets.redacted(Map.of("sasl.jaas.config", "pw=abc", "ssl.truststore.password", "def",
        "basic.auth.user.info", "u:ghi", "bootstrap.servers", "127.0.0.1:9092"));
    assertThat(s).doesNotContain("abc").doesNotContain("def").doesNotContain("ghi").contains("127.0.0.1:9092")
        .contains("sasl.jaas.config=[hidden]");
  }
}
