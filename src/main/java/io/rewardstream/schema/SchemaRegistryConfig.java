package io.rewardstream.schema;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

import static io.rewardstream.config.ConfigValues.bool;
import static io.rewardstream.config.ConfigValues.longValue;

/**
 * Connection and serde settings for a Confluent-API schema registry, read from the property names
 * Confluent's clients use, so a configuration written for {@code io.confluent...SpecificAvroSerde}
 * works unchanged.
 *
 * <table>
 *   <caption>Keys</caption>
 *   <tr><td>{@value #URL}</td><td>required; comma-separated, tried in order</td></tr>
 *   <tr><td>{@value #CREDENTIALS_SOURCE}</td><td>{@code URL} (default: user info inside the URL) or {@code USER_INFO}</td></tr>
 *   <tr><td>{@value #USER_INFO}</td><td>{@code user:password}, required with {@code USER_INFO}</td></tr>
 *   <tr><td>{@value #TRUSTSTORE_LOCATION}, {@value #TRUSTSTORE_PASSWORD}, {@value #TRUSTSTORE_TYPE}</td><td>TLS trust (type default JKS)</td></tr>
 *   <tr><td>{@value #KEYSTORE_LOCATION}, {@value #KEYSTORE_PASSWORD}, {@value #KEYSTORE_TYPE}</td><td>TLS client certificate (type default JKS)</td></tr>
 *   <tr><td>{@value #AUTO_REGISTER}</td><td>default true</td></tr>
 *   <tr><td>{@value #USE_LATEST_VERSION}</td><td>default false</td></tr>
 *   <tr><td>{@value #LATEST_COMPATIBILITY_STRICT}</td><td>default true</td></tr>
 *   <tr><td>{@value #REQUEST_TIMEOUT_MS}</td><td>default 10000 (rewardstream)</td></tr>
 *   <tr><td>{@value #RETRIES}</td><td>default 3 extra attempts after the first, for IO errors and 5xx only (rewardstream)</td></tr>
 *   <tr><td>{@value #RETRY_BACKOFF_MS}</td><td>default 100, doubled per attempt (rewardstream)</td></tr>
 *   <tr><td>{@value #CACHE_CAPACITY}</td><td>default 1000 entries per cache (rewardstream)</td></tr>
 * </table>
 *
 * <p>Secrets (user info, store passwords, credentials inside URLs) never appear in {@link #toString()}.
 * Values may be Strings or typed values (Boolean, Number, List, Kafka's {@code Password}).
 */
public record SchemaRegistryConfig(
    List<URI> urls,
    CredentialsSource credentialsSource,
    String userInfo,
    Path truststoreLocation,
    String truststorePassword,
    String truststoreType,
    Path keystoreLocation,
    String keystorePassword,
    String keystoreType,
    boolean autoRegisterSchemas,
    boolean useLatestVersion,
    boolean latestCompatibilityStrict,
    Duration requestTimeout,
    int retries,
    Duration retryBackoff,
    int cacheCapacity) {

  public static final String URL = "schema.registry.url";
  public static final String CREDENTIALS_SOURCE = "basic.auth.credentials.source";
  public static final String USER_INFO = "basic.auth.user.info";
  public static final String TRUSTSTORE_LOCATION = "schema.registry.ssl.truststore.location";
  public static final String TRUSTSTORE_PASSWORD = "schema.registry.ssl.truststore.password";
  public static final String TRUSTSTORE_TYPE = "schema.registry.ssl.truststore.type";
  public static final String KEYSTORE_LOCATION = "schema.registry.ssl.keystore.location";
  public static final String KEYSTORE_PASSWORD = "schema.registry.ssl.keystore.password";
  public static final String KEYSTORE_TYPE = "schema.registry.ssl.keystore.type";
  public static final String AUTO_REGISTER = "auto.register.schemas";
  public static final String USE_LATEST_VERSION = "use.latest.version";
  public static final String LATEST_COMPATIBILITY_STRICT = "latest.compatibility.strict";
  public static final String REQUEST_TIMEOUT_MS = "schema.registry.request.timeout.ms";
  public static final String RETRIES = "schema.registry.retries";
  public static final String RETRY_BACKOFF_MS = "schema.registry.retry.backoff.ms";
  public static final String CACHE_CAPACITY = "schema.registry.cache.capacity";

  /** Where basic-auth credentials come from ({@value #CREDENTIALS_SOURCE}). */
  public enum CredentialsSource {
    /** From the user-info part of each registry URL ({@code https://user:pw@host}); none if absent. */
    URL,
    /** From {@value SchemaRegistryConfig#USER_INFO}. */
    USER_INFO
  }

  /** Validates; errors name the offending key. */
  public SchemaRegistryConfig {
    Objects.requireNonNull(urls, URL);
    urls = List.copyOf(urls);
    if (urls.isEmpty()) {
      throw new IllegalArgumentException(URL + " must name at least one URL");
    }
    for (URI u : urls) {
      String scheme = u.getScheme();
      if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https")) || u.getHost() == null) {
        throw new IllegalArgumentException(URL + " must hold http(s)://host[:port][/path] URLs, got " + redact(u));
      }
    }
    Objects.requireNonNull(credentialsSource, CREDENTIALS_SOURCE);
    if (credentialsSource == CredentialsSource.USER_INFO) {
      if (userInfo == null || userInfo.indexOf(':') < 0) {
        throw new IllegalArgumentException(
            USER_INFO + " must be user:password when " + CREDENTIALS_SOURCE + "=USER_INFO");
      }
    }
    if (truststorePassword != null && truststoreLocation == null) {
      throw new IllegalArgumentException(TRUSTSTORE_PASSWORD + " given without " + TRUSTSTORE_LOCATION);
    }
    if (keystorePassword != null && keystoreLocation == null) {
      throw new IllegalArgumentException(KEYSTORE_PASSWORD + " given without " + KEYSTORE_LOCATION);
    }
    truststoreType = truststoreType == null ? "JKS" : truststoreType;
    keystoreType = keystoreType == null ? "JKS" : keystoreType;
    Objects.requireNonNull(requestTimeout, REQUEST_TIMEOUT_MS);
    if (requestTimeout.isNegative() || requestTimeout.isZero()) {
      throw new IllegalArgumentException(REQUEST_TIMEOUT_MS + " must be > 0, got " + requestTimeout.toMillis());
    }
    if (retries < 0) {
      throw new IllegalArgumentException(RETRIES + " must be >= 0, got " + retries);
    }
    Objects.requireNonNull(retryBackoff, RETRY_BACKOFF_MS);
    if (retryBackoff.isNegative()) {
      throw new IllegalArgumentException(RETRY_BACKOFF_MS + " must be >= 0, got " + retryBackoff.toMillis());
    }
    if (cacheCapacity < 1) {
      throw new IllegalArgumentException(CACHE_CAPACITY + " must be >= 1, got " + cacheCapacity);
    }
  }

  /** Key prefixes (and whole keys) that belong to the Avro serdes rather than to the Kafka clients. */
  private static final List<String> SERDE_KEY_PREFIXES = List.of("schema.registry.", "basic.auth.",
      AUTO_REGISTER, USE_LATEST_VERSION, LATEST_COMPATIBILITY_STRICT);

  /**
   * Whether {@code key} is a serde setting (registry connection, basic auth, serde flags): services hand these to
   * the serdes and keep them away from Kafka clients, which warn on unknown keys.
   */
  public static boolean isSerdeKey(String key) {
    return SERDE_KEY_PREFIXES.stream().anyMatch(key::startsWith);
  }

  /** A config for one URL with every other setting at its default. */
  public static SchemaRegistryConfig of(String url) {
    return from(Map.of(URL, url));
  }

  /**
   * Reads the keys listed in the class comment; unknown keys are ignored (a serde receives the
   * whole client configuration).
   *
   * @throws IllegalArgumentException naming the key when a value is missing or malformed
   */
  public static SchemaRegistryConfig from(Map<String, ?> props) {
    Objects.requireNonNull(props, "props");
    return new SchemaRegistryConfig(
        parseUrls(props.get(URL)),
        parseSource(props.get(CREDENTIALS_SOURCE)),
        string(props, USER_INFO),
        path(props, TRUSTSTORE_LOCATION),
        string(props, TRUSTSTORE_PASSWORD),
        string(props, TRUSTSTORE_TYPE),
        path(props, KEYSTORE_LOCATION),
        string(props, KEYSTORE_PASSWORD),
        string(props, KEYSTORE_TYPE),
        bool(props, AUTO_REGISTER, true),
        bool(props, USE_LATEST_VERSION, false),
        bool(props, LATEST_COMPATIBILITY_STRICT, true),
        Duration.ofMillis(longValue(props, REQUEST_TIMEOUT_MS, 10_000)),
        (int) longValue(props, RETRIES, 3),
        Duration.ofMillis(longValue(props, RETRY_BACKOFF_MS, 100)),
        (int) longValue(props, CACHE_CAPACITY, 1000));
  }

  /** Same settings with other URLs (tests point a config at a second registry). */
  public SchemaRegistryConfig withUrls(List<URI> newUrls) {
    return new SchemaRegistryConfig(newUrls, credentialsSource, userInfo, truststoreLocation,
        truststorePassword, truststoreType, keystoreLocation, keystorePassword, keystoreType,
        autoRegisterSchemas, useLatestVersion, latestCompatibilityStrict, requestTimeout, retries,
        retryBackoff, cacheCapacity);
  }

  /** Serde flags only; used when a client is injected and {@value #URL} may be absent. */
  record SerdeFlags(boolean autoRegisterSchemas, boolean useLatestVersion, boolean latestCompatibilityStrict) {
    static SerdeFlags from(Map<String, ?> props) {
      return new SerdeFlags(bool(props, AUTO_REGISTER, true), bool(props, USE_LATEST_VERSION, false),
          bool(props, LATEST_COMPATIBILITY_STRICT, true));
    }
  }

  SerdeFlags serdeFlags() {
    return new SerdeFlags(autoRegisterSchemas, useLatestVersion, latestCompatibilityStrict);
  }

  @Override
  public String toString() {
    List<String> shown = new ArrayList<>();
    for (URI u : urls) {
      shown.add(redact(u));
    }
    return "SchemaRegistryConfig[urls=" + shown
        + ", credentialsSource=" + credentialsSource
        + ", userInfo=" + (userInfo == null ? "null" : userName(userInfo) + ":[hidden]")
        + ", truststoreLocation=" + truststoreLocation
        + ", truststorePassword=" + (truststorePassword == null ? "null" : "[hidden]")
        + ", truststoreType=" + truststoreType
        + ", keystoreLocation=" + keystoreLocation
        + ", keystorePassword=" + (keystorePassword == null ? "null" : "[hidden]")
        + ", keystoreType=" + keystoreType
        + ", autoRegisterSchemas=" + autoRegisterSchemas
        + ", useLatestVersion=" + useLatestVersion
        + ", latestCompatibilityStrict=" + latestCompatibilityStrict
        + ", requestTimeout=" + requestTimeout.toMillis() + "ms"
        + ", retries=" + retries
        + ", retryBackoff=" + retryBackoff.toMillis() + "ms"
        + ", cacheCapacity=" + cacheCapacity + "]";
  }

  private static String userName(String userInfo) {
    int colon = userInfo.indexOf(':');
    return colon < 0 ? userInfo : userInfo.substring(0, colon);
  }

  /** The URL with any credentials removed; safe for messages and logs. */
  static String redact(URI u) {
    if (u.getRawUserInfo() == null) {
      return u.toString();
    }
    try {
      return new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), u.getQuery(), u.getFragment()).toString();
    } catch (URISyntaxException e) {
      return u.getScheme() + "://[hidden]@" + u.getHost();
    }
  }

  private static List<URI> parseUrls(Object raw) {
    if (raw == null) {
      throw new IllegalArgumentException(URL + " is required");
    }
    List<String> parts = new ArrayList<>();
    if (raw instanceof Collection<?> c) {
      for (Object o : c) {
        parts.add(String.valueOf(o));
      }
    } else {
      parts.addAll(List.of(text(raw).split(",")));
    }
    List<URI> urls = new ArrayList<>();
    for (String p : parts) {
      String s = p.trim();
      if (s.isEmpty()) {
        continue;
      }
      while (s.endsWith("/")) {
        s = s.substring(0, s.length() - 1);
      }
      try {
        urls.add(new URI(s));
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException(URL + " holds a malformed URL: " + e.getMessage().replaceAll("//[^@/]*@", "//[hidden]@"));
      }
    }
    return urls;
  }

  private static CredentialsSource parseSource(Object raw) {
    if (raw == null || text(raw).isBlank()) {
      return CredentialsSource.URL;
    }
    String s = text(raw).trim().toUpperCase(Locale.ROOT);
    try {
      return CredentialsSource.valueOf(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(CREDENTIALS_SOURCE + " must be USER_INFO or URL, got " + raw);
    }
  }

  /** Kafka hands secrets over as {@code Password}, whose toString is "[hidden]". */
  private static String text(Object raw) {
    if (raw instanceof org.apache.kafka.common.config.types.Password p) {
      return p.value();
    }
    return raw.toString();
  }

  private static String string(Map<String, ?> props, String key) {
    Object raw = props.get(key);
    if (raw == null) {
      return null;
    }
    String s = text(raw);
    return s.isEmpty() ? null : s;
  }

  private static Path path(Map<String, ?> props, String key) {
    String s = string(props, key);
    return s == null ? null : Path.of(s);
  }
}
