package io.rewardstream.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

/**
 * FAKE in-memory Confluent-API schema registry for unit tests of the client and serdes only
 * (integration tests use the real Apicurio registry). Binds 127.0.0.1 on a free port under the
 * base path {@code /ccompat}; records every request; can be scripted to fail, demand basic auth,
 * refuse registrations or answer like Apicurio.
 */
final class FakeSchemaRegistry implements AutoCloseable {
  private final ObjectMapper json = new ObjectMapper();
  private final HttpServer server;
  private final String scheme;
  private final Map<String, List<Integer>> subjects = new HashMap<>();
  private final Map<Integer, String> schemas = new HashMap<>();
  private final Map<String, Integer> idsByText = new HashMap<>();
  private final Map<Integer, String> foreignTypes = new HashMap<>();
  private final Map<String, String> compatibility = new HashMap<>();
  private final List<String> requests = Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger failuresLeft = new AtomicInteger();
  private volatile int failureStatus = 503;
  private volatile String requiredAuthorization;
  private volatile boolean refuseRegistrations;
  private volatile boolean apicurioStyle;
  private volatile String lastAuthorization;
  private volatile String lastContentType;
  private volatile String lastBody;
  private int nextId = 1;

  FakeSchemaRegistry() throws IOException {
    this(null);
  }

  /** Serves HTTPS with {@code tls} (server certificate for 127.0.0.1) when not null, plain HTTP otherwise. */
  FakeSchemaRegistry(javax.net.ssl.SSLContext tls) throws IOException {
    InetSocketAddress addr = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    if (tls == null) {
      server = HttpServer.create(addr, 0);
    } else {
      com.sun.net.httpserver.HttpsServer https = com.sun.net.httpserver.HttpsServer.create(addr, 0);
      https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(tls));
      server = https;
    }
    scheme = tls == null ? "http" : "https";
    server.createContext("/ccompat", this::handle);
    server.start();
  }

  /** Base URL of the Confluent API, e.g. http://127.0.0.1:PORT/ccompat (https when serving TLS). */
  String url() {
    return scheme + "://127.0.0.1:" + server.getAddress().getPort() + "/ccompat";
  }

  int port() {
    return server.getAddress().getPort();
  }

  /** "METHOD /path" of every request received, in order. */
  List<String> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  long count(String methodAndPathPrefix) {
    return requests().stream().filter(r -> r.startsWith(methodAndPathPrefix)).count();
  }

  /** The next {@code n} requests answer {@code status} with a Confluent error body. */
  /** Stores a schema of another format (e.g. PROTOBUF) under {@code id}: GET /schemas/ids answers with its schemaType. */
  synchronized void putForeignSchema(int id, String schemaType, String text) {
    schemas.put(id, text);
    foreignTypes.put(id, schemaType);
  }

  void failNext(int n, int status) {
    failureStatus = status;
    failuresLeft.set(n);
  }

  void requireAuthorization(String header) {
    requiredAuthorization = header;
  }

  void refuseRegistrations(boolean refuse) {
    refuseRegistrations = refuse;
  }

  /** Missing-subject compatibility checks answer 40402 and results carry "reason" (like Apicurio 2.5). */
  void apicurioStyle(boolean on) {
    apicurioStyle = on;
  }

  String lastAuthorization() {
    return lastAuthorization;
  }

  String lastContentType() {
    return lastContentType;
  }

  String lastBody() {
    return lastBody;
  }

  synchronized String compatibilityOf(String subjectOrGlobal) {
    return compatibility.get(subjectOrGlobal);
  }

  /** Registers directly (bypassing HTTP), returning the id. */
  synchronized int preRegister(String subject, Schema schema) {
    return registerText(subject, schema.toString());
  }

  private synchronized int registerText(String subject, String text) {
    Integer id = idsByText.get(text);
    if (id == null) {
      id = nextId++;
      idsByText.put(text, id);
      schemas.put(id, text);
    }
    List<Integer> versions = subjects.computeIfAbsent(subject, s -> new ArrayList<>());
    if (!versions.contains(id)) {
      versions.add(id);
    }
    return id;
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getRawPath().substring("/ccompat".length());
      String method = ex.getRequestMethod();
      requests.add(method + " " + path);
      lastAuthorization = ex.getRequestHeaders().getFirst("Authorization");
      lastContentType = ex.getRequestHeaders().getFirst("Content-Type");
      String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      lastBody = body;
      if (requiredAuthorization != null && !requiredAuthorization.equals(lastAuthorization)) {
        send(ex, 401, error(40101, "Unauthorized"));
        return;
      }
      if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        send(ex, failureStatus, error(failureStatus == 503 ? 50003 : failureStatus * 100 + 1, "scripted failure"));
        return;
      }
      route(ex, method, path, body);
    } catch (RuntimeException e) {
      send(ex, 500, error(50001, e.toString()));
    }
  }

  private synchronized void route(HttpExchange ex, String method, String path, String body) throws IOException {
    String[] seg = path.split("/");
    // seg[0] is "" (path starts with '/')
    if (method.equals("POST") && seg.length == 4 && seg[1].equals("subjects") && seg[3].equals("versions")) {
      String subject = decode(seg[2]);
      String text = json.readTree(body).get("schema").asText();
      new Schema.Parser().parse(text);
      if (refuseRegistrations) {
        send(ex, 409, error(409, "Schema being registered is incompatible with an earlier schema for subject \"" + subject + "\""));
        return;
      }
      send(ex, 200, json.createObjectNode().put("id", registerText(subject, text)));
    } else if (method.equals("POST") && seg.length == 3 && seg[1].equals("subjects")) {
      String subject = decode(seg[2]);
      String text = json.readTree(body).get("schema").asText();
      List<Integer> versions = subjects.get(subject);
      if (versions == null) {
        send(ex, 404, error(40401, "Subject '" + subject + "' not found."));
        return;
      }
      Integer id = idsByText.get(text);
      if (id == null || !versions.contains(id)) {
        send(ex, 404, error(40403, "Schema not found"));
        return;
      }
      send(ex, 200, version(subject, versions.indexOf(id) + 1, id));
    } else if (method.equals("GET") && seg.length == 4 && seg[1].equals("schemas") && seg[2].equals("ids")) {
      String text = schemas.get(Integer.parseInt(seg[3]));
      if (text == null) {
        send(ex, 404, error(40403, "Schema " + seg[3] + " not found"));
        return;
      }
      var answer = json.createObjectNode().put("schema", text);
      String type = foreignTypes.get(Integer.parseInt(seg[3]));
      if (type != null) {
        answer.put("schemaType", type);
      }
      send(ex, 200, answer);
    } else if (method.equals("GET") && seg.length == 5 && seg[1].equals("subjects") && seg[4].equals("latest")) {
      String subject = decode(seg[2]);
      List<Integer> versions = subjects.get(subject);
      if (versions == null) {
        send(ex, 404, error(40401, "Subject '" + subject + "' not found."));
        return;
      }
      send(ex, 200, version(subject, versions.size(), versions.get(versions.size() - 1)));
    } else if (method.equals("POST") && seg.length == 6 && seg[1].equals("compatibility")) {
      String subject = decode(seg[3]);
      List<Integer> versions = subjects.get(subject);
      if (versions == null) {
        send(ex, 404, apicurioStyle ? error(40402, "No version 'latest' found for subject " + subject)
            : error(40401, "Subject '" + subject + "' not found."));
        return;
      }
      Schema candidate = new Schema.Parser().parse(json.readTree(body).get("schema").asText());
      Schema latest = new Schema.Parser().parse(schemas.get(versions.get(versions.size() - 1)));
      var result = SchemaCompatibility.checkReaderWriterCompatibility(candidate, latest);
      boolean ok = result.getType() == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE;
      ObjectNode answer = json.createObjectNode().put("is_compatible", ok);
      if (!ok) {
        if (apicurioStyle) {
          answer.put("reason", result.getDescription());
        } else {
          answer.putArray("messages").add(result.getDescription());
        }
      }
      send(ex, 200, answer);
    } else if (method.equals("PUT") && seg.length >= 2 && seg[1].equals("config")) {
      String level = json.readTree(body).get("compatibility").asText();
      compatibility.put(seg.length == 3 ? decode(seg[2]) : "", level);
      send(ex, 200, json.createObjectNode().put("compatibility", level));
    } else {
      send(ex, 404, error(404, "no route " + method + " " + path));
    }
  }

  private ObjectNode version(String subject, int version, int id) {
    return json.createObjectNode().put("subject", subject).put("version", version).put("id", id)
        .put("schema", schemas.get(id));
  }

  private ObjectNode error(int code, String message) {
    return json.createObjectNode().put("error_code", code).put("message", message);
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  private void send(HttpExchange ex, int status, JsonNode body) throws IOException {
    byte[] bytes = json.writeValueAsBytes(body);
    ex.getResponseHeaders().set("Content-Type", SchemaRegistryClient.CONTENT_TYPE);
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
