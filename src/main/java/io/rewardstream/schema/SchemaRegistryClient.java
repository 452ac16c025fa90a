package io.rewardstream.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Client for the Confluent Schema Registry REST API (works against Confluent's registry and
 * Apicurio's {@code /apis/ccompat/v7} endpoint), Avro schemas only.
 *
 * <p>Thread-safe; share one instance per registry. Schema ids, registrations, lookups and parsed
 * schemas are cached (bounded LRU, {@link SchemaRegistryConfig#cacheCapacity()} entries each), so a
 * repeated call costs no HTTP request; {@link #latest}, {@link #testCompatibility} and
 * {@link #setCompatibility} always ask the registry.
 *
 * <p>Each request tries the configured URLs in order; when none answers (IO error, timeout) or they
 * answer 5xx, the round is retried {@link SchemaRegistryConfig#retries()} times with exponential
 * backoff. A 4xx answer is final. Every failure is a {@link SchemaRegistryException}.
 */
public final class SchemaRegistryClient {
  private static final Logger LOG = LoggerFactory.getLogger(SchemaRegistryClient.class);
  static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final String ACCEPT =
      "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5";
  private static final long MAX_BACKOFF_MS = 10_000;

  private final SchemaRegistryConfig config;
  private final HttpClient http;
  private final ObjectMapper json = new ObjectMapper();
  private final List<Endpoint> endpoints;
  private final AtomicLong requests = new AtomicLong();

  private record SubjectSchema(String subject, Schema schema) {}

  /** One registry URL: its base without credentials (safe to log) and its Authorization header, if any. */
  private record Endpoint(String base, String authorization) {}

  private final LruCache<SubjectSchema, Integer> registered;
  private final LruCache<SubjectSchema, RegisteredSchema> lookedUp;
  private final LruCache<Integer, Schema> byId;

  /**
   * @throws IllegalArgumentException when the TLS stores named in the config cannot be loaded
   *     (the message names the key)
   */
  public SchemaRegistryClient(SchemaRegistryConfig config) {
    this.config = Objects.requireNonNull(config, "config");
    HttpClient.Builder builder = HttpClient.newBuilder()
        .connectTimeout(config.requestTimeout())
        .followRedirects(HttpClient.Redirect.NEVER);
    if (config.truststoreLocation() != null || config.keystoreLocation() != null) {
      builder.sslContext(sslContext(config));
    }
    this.http = builder.build();
    List<Endpoint> eps = new ArrayList<>();
    for (URI u : config.urls()) {
      eps.add(new Endpoint(SchemaRegistryConfig.redact(u), authorization(config, u)));
    }
    this.endpoints = List.copyOf(eps);
    this.registered = new LruCache<>(config.cacheCapacity());
    this.lookedUp = new LruCache<>(config.cacheCapacity());
    this.byId = new LruCache<>(config.cacheCapacity());
  }

  public SchemaRegistryConfig config() {
    return config;
  }

  /** HTTP requests sent so far, retries included (for tests and metrics). */
  public long requestCount() {
    return requests.get();
  }

  /**
   * Registers {@code schema} under {@code subject} (idempotent on the registry side) and returns its
   * global id. Sends {@code Schema.toString()} verbatim: Apicurio does not normalize schema text.
   *
   * @throws SchemaRegistryException 409 when incompatible with the subject's compatibility level,
   *     422 (42201) for an invalid schema, or any other failure
   */
  public int register(String subject, Schema schema) {
    SubjectSchema key = new SubjectSchema(requireSubject(subject), Objects.requireNonNull(schema, "schema"));
    Integer cached = registered.get(key);
    if (cached != null) {
      return cached;
    }
    String path = "/subjects/" + encode(subject) + "/versions";
    JsonNode answer;
    try {
      answer = call("POST", path, subject, schemaBody(schema));
    } catch (SchemaRegistryException e) {
      if (e.httpStatus() != 409) {
        throw e;
      }
      // Apicurio answers 409 "artifact already exists" to the loser of two concurrent FIRST registrations of a
      // subject (e.g. two stream threads' first rewards); registering again finds the winner's version. A real
      // incompatibility answers 409 again and is thrown.
      LOG.info("schema registry POST {} answered 409 ({}); registering once more", path, e.getMessage());
      answer = call("POST", path, subject, schemaBody(schema));
    }
    int id = requireInt(answer, "id", "POST /subjects/" + subject + "/versions", subject);
    registered.put(key, id);
    byId.put(id, schema);
    return id;
  }

  /**
   * Finds {@code schema} among the versions of {@code subject} without registering it.
   *
   * @throws SchemaRegistryException 404 (40401 subject / 40403 schema) when it is not registered
   */
  public RegisteredSchema lookup(String subject, Schema schema) {
    SubjectSchema key = new SubjectSchema(requireSubject(subject), Objects.requireNonNull(schema, "schema"));
    RegisteredSchema cached = lookedUp.get(key);
    if (cached != null) {
      return cached;
    }
    JsonNode answer = call("POST", "/subjects/" + encode(subject), subject, schemaBody(schema));
    RegisteredSchema found = registeredSchema(answer, subject, "POST /subjects/" + subject, schema);
    lookedUp.put(key, found);
    byId.put(found.id(), found.schema());
    return found;
  }

  /**
   * The schema with global id {@code id}, parsed (cached: ids are immutable).
   *
   * @throws SchemaRegistryException 404 (40403) for an unknown id
   */
  public Schema getById(int id) {
    Schema cached = byId.get(id);
    if (cached != null) {
      return cached;
    }
    String what = "GET /schemas/ids/" + id;
    JsonNode answer = call("GET", "/schemas/ids/" + id, null, null);
    JsonNode type = answer.get("schemaType");
    if (type != null && !type.isNull() && !"AVRO".equalsIgnoreCase(type.asText())) {
      throw new SchemaRegistryException(200, 42201, null,
          what + ": schema " + id + " is " + type.asText() + ", not AVRO", null);
    }
    Schema schema = parse(requireText(answer, "schema", what, null), what, null);
    byId.put(id, schema);
    return schema;
  }

  /**
   * The newest version registered under {@code subject}; never cached.
   *
   * @throws SchemaRegistryException 404 (40401) when the subject does not exist
   */
  public RegisteredSchema latest(String subject) {
    requireSubject(subject);
    JsonNode answer = call("GET", "/subjects/" + encode(subject) + "/versions/latest", subject, null);
    RegisteredSchema found = registeredSchema(answer, subject, "GET /subjects/" + subject + "/versions/latest", null);
    byId.put(found.id(), found.schema());
    return found;
  }

  /**
   * Asks whether {@code schema} may be registered as the next version of {@code subject} under the
   * subject's compatibility level. A subject with no versions accepts anything: Confluent answers
   * 40401 and Apicurio 40402 there, both reported here as compatible with an explaining message.
   */
  public CompatibilityResult testCompatibility(String subject, Schema schema) {
    requireSubject(subject);
    Objects.requireNonNull(schema, "schema");
    JsonNode answer;
    try {
      answer = call("POST", "/compatibility/subjects/" + encode(subject) + "/versions/latest?verbose=true",
          subject, schemaBody(schema));
    } catch (SchemaRegistryException e) {
      if (e.isNotFound() && (e.errorCode() == 40401 || e.errorCode() == 40402)) {
        return new CompatibilityResult(true, List.of("subject " + subject + " has no registered versions"));
      }
      throw e;
    }
    JsonNode flag = answer.get("is_compatible");
    if (flag == null || !flag.isBoolean()) {
      throw new SchemaRegistryException(200, -1, subject,
          "POST /compatibility/subjects/" + subject + "/versions/latest: answer has no is_compatible", null);
    }
    List<String> messages = new ArrayList<>();
    for (String field : List.of("messages", "reason")) {
      JsonNode m = answer.get(field);
      if (m == null || m.isNull()) {
        continue;
      }
      if (m.isArray()) {
        m.forEach(x -> messages.add(x.isTextual() ? x.asText() : x.toString()));
      } else {
        messages.add(m.isTextual() ? m.asText() : m.toString());
      }
    }
    return new CompatibilityResult(flag.asBoolean(), messages);
  }

  /** Sets the registry-wide default compatibility level ({@code PUT /config}). */
  public void setCompatibility(CompatibilityLevel level) {
    putConfig("/config", null, level);
  }

  /** Sets {@code subject}'s compatibility level ({@code PUT /config/{subject}}). */
  public void setCompatibility(String subject, CompatibilityLevel level) {
    putConfig("/config/" + encode(requireSubject(subject)), subject, level);
  }

  private void putConfig(String path, String subject, CompatibilityLevel level) {
    Objects.requireNonNull(level, "level");
    ObjectNode body = json.createObjectNode().put("compatibility", level.name());
    call("PUT", path, subject, body);
  }

  // ---------------------------------------------------------------------------------------------

  private ObjectNode schemaBody(Schema schema) {
    return json.createObjectNode().put("schema", schema.toString());
  }

  private RegisteredSchema registeredSchema(JsonNode answer, String subject, String what, Schema known) {
    int id = requireInt(answer, "id", what, subject);
    int version = requireInt(answer, "version", what, subject);
    Schema schema = known;
    if (schema == null) {
      Schema cached = byId.get(id);
      schema = cached != null ? cached : parse(requireText(answer, "schema", what, subject), what, subject);
    }
    return new RegisteredSchema(subject, id, version, schema);
  }

  private static Schema parse(String text, String what, String subject) {
    try {
      return new Schema.Parser().parse(text);
    } catch (SchemaParseException e) {
      throw new SchemaRegistryException(200, 42201, subject, what + ": registry returned an unparsable Avro schema: " + e.getMessage(), e);
    }
  }

  private static int requireInt(JsonNode answer, String field, String what, String subject) {
    JsonNode v = answer.get(field);
    if (v == null || !v.canConvertToInt()) {
      throw new SchemaRegistryException(200, -1, subject, what + ": answer has no integer '" + field + "': " + abbreviate(answer.toString()), null);
    }
    return v.asInt();
  }

  private static String requireText(JsonNode answer, String field, String what, String subject) {
    JsonNode v = answer.get(field);
    if (v == null || !v.isTextual()) {
      throw new SchemaRegistryException(200, -1, subject, what + ": answer has no string '" + field + "'", null);
    }
    return v.asText();
  }

  /** Sends one logical request: URLs in order, whole rounds retried on IO errors and 5xx. */
  private JsonNode call(String method, String path, String subject, JsonNode body) {
    HttpRequest.BodyPublisher publisher;
    try {
      publisher = body == null ? HttpRequest.BodyPublishers.noBody()
          : HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body));
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode request body", e);
    }
    String about = subject == null ? "" : " (subject " + subject + ")";
    SchemaRegistryException last = null;
    for (int attempt = 0; attempt <= config.retries(); attempt++) {
      if (attempt > 0) {
        long backoff = Math.min(MAX_BACKOFF_MS, config.retryBackoff().toMillis() << Math.min(20, attempt - 1));
        LOG.warn("schema registry {} {}{} failed ({}); retry {}/{} in {} ms",
            method, path, about, last.getMessage(), attempt, config.retries(), backoff);
        sleep(backoff, method, path, subject);
      }
      for (Endpoint ep : endpoints) {
        String url = ep.base() + path;
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(url))
            .timeout(config.requestTimeout())
            .header("Accept", ACCEPT)
            .method(method, publisher);
        if (body != null) {
          rb.header("Content-Type", CONTENT_TYPE);
        }
        if (ep.authorization() != null) {
          rb.header("Authorization", ep.authorization());
        }
        HttpResponse<byte[]> response;
        requests.incrementAndGet();
        try {
          response = http.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
          last = new SchemaRegistryException(SchemaRegistryException.NO_RESPONSE, -1, subject,
              method + " " + url + about + ": no answer: " + e, e);
          continue;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new SchemaRegistryException(SchemaRegistryException.NO_RESPONSE, -1, subject,
              method + " " + url + about + ": interrupted", e);
        }
        int status = response.statusCode();
        if (status >= 200 && status < 300) {
          try {
            byte[] bytes = response.body();
            return bytes.length == 0 ? json.createObjectNode() : json.readTree(bytes);
          } catch (IOException e) {
            throw new SchemaRegistryException(status, -1, subject,
                method + " " + url + about + ": answer is not JSON: " + e.getMessage(), e);
          }
        }
        SchemaRegistryException error = errorOf(method, url, about, subject, status, response.body());
        if (status >= 500) {
          last = error;
          continue;
        }
        throw error;
      }
    }
    throw last;
  }

  private SchemaRegistryException errorOf(String method, String url, String about, String subject, int status, byte[] body) {
    int code = status;
    String message = new String(body, StandardCharsets.UTF_8);
    try {
      JsonNode node = json.readTree(body);
      if (node != null && node.isObject()) {
        if (node.hasNonNull("error_code") && node.get("error_code").canConvertToInt()) {
          code = node.get("error_code").asInt();
        }
        if (node.hasNonNull("message")) {
          message = node.get("message").asText();
        }
      }
    } catch (IOException notJson) {
      // keep the raw text
    }
    return new SchemaRegistryException(status, code, subject,
        method + " " + url + about + ": HTTP " + status + " error_code " + code + ": " + abbreviate(message), null);
  }

  private static String abbreviate(String s) {
    return s.length() <= 500 ? s : s.substring(0, 500) + "...";
  }

  private static void sleep(long ms, String method, String path, String subject) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SchemaRegistryException(SchemaRegistryException.NO_RESPONSE, -1, subject,
          method + " " + path + ": interrupted during retry backoff", e);
    }
  }

  private static String requireSubject(String subject) {
    if (subject == null || subject.isBlank()) {
      throw new IllegalArgumentException("subject must not be blank");
    }
    return subject;
  }

  /** Path-segment encoding (URLEncoder is for forms: it turns spaces into '+'). */
  private static String encode(String segment) {
    return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static String authorization(SchemaRegistryConfig config, URI url) {
    String userInfo = switch (config.credentialsSource()) {
      case USER_INFO -> config.userInfo();
      case URL -> url.getRawUserInfo() == null ? null : URLDecoder.decode(url.getRawUserInfo(), StandardCharsets.UTF_8);
    };
    if (userInfo == null) {
      return null;
    }
    return "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
  }

  private static SSLContext sslContext(SchemaRegistryConfig config) {
    try {
      TrustManagerFactory tmf = null;
      if (config.truststoreLocation() != null) {
        KeyStore trust = load(config.truststoreLocation(), config.truststorePassword(), config.truststoreType(),
            SchemaRegistryConfig.TRUSTSTORE_LOCATION);
        tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
      }
      KeyManagerFactory kmf = null;
      if (config.keystoreLocation() != null) {
        KeyStore keys = load(config.keystoreLocation(), config.keystorePassword(), config.keystoreType(),
            SchemaRegistryConfig.KEYSTORE_LOCATION);
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        char[] pw = config.keystorePassword() == null ? new char[0] : config.keystorePassword().toCharArray();
        kmf.init(keys, pw);
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot set up TLS for the schema registry: " + e.getMessage(), e);
    }
  }

  private static KeyStore load(java.nio.file.Path path, String password, String type, String key) {
    try (InputStream in = Files.newInputStream(path)) {
      KeyStore ks = KeyStore.getInstance(type);
      ks.load(in, password == null ? null : password.toCharArray());
      return ks;
    } catch (IOException | GeneralSecurityException e) {
      // The exception text never holds the password; only the path and the cause.
      throw new IllegalArgumentException(key + ": cannot load " + type + " store " + path + ": " + e.getMessage(), e);
    }
  }
}
