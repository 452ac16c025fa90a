package io.rewardstream.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Loads preference pairs from JSON Lines. Stateless and thread-safe. Three shapes per line are accepted:
 * <ol>
 *   <li>{@code {"prompt": "...", "chosen": "...", "rejected": "..."}} (optional {@code "margin"} >= 0 and
 *       {@code "id"}).</li>
 *   <li>HH-RLHF style {@code {"chosen": "<transcript>", "rejected": "<transcript>"}}: the prompt is the
 *       common prefix of both transcripts up to and including the last {@code "Assistant:"} marker they
 *       share; without such a marker it is the longest common prefix cut back to a whitespace boundary;
 *       when nothing is shared the prompt is empty and each whole text is the response.</li>
 *   <li>Chat messages {@code {"chosen": [{"role": ..., "content": ...}, ...], "rejected": [...]}}: the
 *       prompt is every message before the last assistant message, rendered one {@code role: content}
 *       line each; the response is the content of that last assistant message. Both conversations must
 *       agree before it.</li>
 * </ol>
 * A line that is not valid JSON or lacks a field is skipped and reported with its 1-based line number and
 * the reason; the other lines still load. Ids default to a SHA-256 of the content, so the held-out split
 * does not depend on line order.
 */
public final class PreferenceJsonl {
    private static final Logger LOG = LoggerFactory.getLogger(PreferenceJsonl.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ASSISTANT = "Assistant:";

    private PreferenceJsonl() {
    }

    /** A rejected line: 1-based line number and why. */
    public record LineError(int line, String reason) {
        @Override
        public String toString() {
            return "line " + line + ": " + reason;
        }
    }

    /** Loaded pairs and rejected lines. */
    public record LoadResult(List<PreferenceExample> examples, List<LineError> errors) {
        public LoadResult {
            examples = List.copyOf(examples);
            errors = List.copyOf(errors);
        }
    }

    /** @throws IOException when the file cannot be read (malformed lines are not exceptions) */
    public static LoadResult load(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            LoadResult res = load(r);
            if (!res.errors().isEmpty()) {
                LOG.warn("{}: {} line(s) rejected, {} pair(s) loaded; first: {}", file, res.errors().size(),
                        res.examples().size(), res.errors().get(0));
            }
            return res;
        }
    }

    public static LoadResult load(Reader reader) throws IOException {
        List<PreferenceExample> out = new ArrayList<>();
        List<LineError> errors = new ArrayList<>();
        BufferedReader br = reader instanceof BufferedReader b ? b : new BufferedReader(reader);
        int lineNo = 0;
        for (String line; (line = br.readLine()) != null; ) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            try {
                out.add(parse(line));
            } catch (IllegalArgumentException | IOException e) {
                String reason = e instanceof IOException ? "invalid JSON: " + firstLine(e.getMessage()) : e.getMessage();
                errors.add(new LineError(lineNo, reason));
            }
        }
        return new LoadResult(out, errors);
    }

    /** Parses one line. @throws IllegalArgumentException naming the problem, IOException for bad JSON */
    public static PreferenceExample parse(String line) throws IOException {
        JsonNode n = JSON.readTree(line);
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        JsonNode c = n.get("chosen");
        JsonNode r = n.get("rejected");
        if (c == null || c.isNull()) {
            throw new IllegalArgumentException("missing field 'chosen'");
        }
        if (r == null || r.isNull()) {
            throw new IllegalArgumentException("missing field 'rejected'");
        }
        double margin = 0;
        JsonNode m = n.get("margin");
        if (m != null && !m.isNull()) {
            if (!m.isNumber() || !Double.isFinite(m.asDouble()) || m.asDouble() < 0) {
                throw new IllegalArgumentException("'margin' must be a number >= 0, got " + m);
            }
            margin = m.asDouble();
        }
        String prompt;
        String chosen;
        String rejected;
        if (c.isArray() || r.isArray()) {
            if (!c.isArray() || !r.isArray()) {
                throw new IllegalArgumentException("'chosen' and 'rejected' must both be message lists or both strings");
            }
            Chat cc = chat(c, "chosen");
            Chat rc = chat(r, "rejected");
            if (!cc.prompt().equals(rc.prompt())) {
                throw new IllegalArgumentException("'chosen' and 'rejected' conversations differ before the last assistant message");
            }
            prompt = explicitPrompt(n, cc.prompt());
            chosen = cc.response();
            rejected = rc.response();
        } else if (c.isTextual() && r.isTextual()) {
            JsonNode p = n.get("prompt");
            if (p != null && !p.isNull()) {
                prompt = explicitPrompt(n, "");
                chosen = c.asText();
                rejected = r.asText();
            } else {
                String[] split = splitTranscripts(c.asText(), r.asText());
                prompt = split[0];
                chosen = split[1];
                rejected = split[2];
            }
        } else {
            throw new IllegalArgumentException("'chosen' and 'rejected' must be strings or message lists");
        }
        if (chosen.isEmpty() || rejected.isEmpty()) {
            throw new IllegalArgumentException("empty " + (chosen.isEmpty() ? "chosen" : "rejected") + " response");
        }
        JsonNode id = n.hasNonNull("id") ? n.get("id") : n.get("pair_id");
        String pairId = id != null && !id.isNull() ? id.asText() : "sha256:" + sha256(prompt + "\u0000" + chosen + "\u0000" + rejected);
        return new PreferenceExample(pairId, prompt, chosen, rejected, margin);
    }

    private static String explicitPrompt(JsonNode n, String fallback) {
        JsonNode p = n.get("prompt");
        if (p == null || p.isNull()) {
            return fallback;
        }
        if (p.isTextual()) {
            return p.asText() + fallback;
        }
        if (p.isArray()) {
            return render(p, p.size(), "prompt") + fallback;
        }
        throw new IllegalArgumentException("'prompt' must be a string or a message list");
    }

    private record Chat(String prompt, String response) {
    }

    private static Chat chat(JsonNode msgs, String field) {
        int last = -1;
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            if (!m.isObject() || !m.hasNonNull("role") || !m.hasNonNull("content")) {
                throw new IllegalArgumentException("'" + field + "'[" + i + "] needs string 'role' and 'content'");
            }
            if ("assistant".equals(m.get("role").asText())) {
                last = i;
            }
        }
        if (last < 0) {
            throw new IllegalArgumentException("'" + field + "' has no assistant message");
        }
        return new Chat(render(msgs, last, field), msgs.get(last).get("content").asText());
    }

    private static String render(JsonNode msgs, int upTo, String field) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < upTo; i++) {
            JsonNode m = msgs.get(i);
            if (!m.isObject() || !m.hasNonNull("role") || !m.hasNonNull("content")) {
                throw new IllegalArgumentException("'" + field + "'[" + i + "] needs string 'role' and 'content'");
            }
            sb.append(m.get("role").asText()).append(": ").append(m.get("content").asText()).append('\n');
        }
        return sb.toString();
    }

    /** [prompt, chosenResponse, rejectedResponse] of two HH-RLHF transcripts (see class doc). */
    static String[] splitTranscripts(String chosen, String rejected) {
        int common = 0;
        int max = Math.min(chosen.length(), rejected.length());
        while (common < max && chosen.charAt(common) == rejected.charAt(common)) {
            common++;
        }
        String shared = chosen.substring(0, common);
        int marker = shared.lastIndexOf(ASSISTANT);
        int cut;
        if (marker >= 0) {
            cut = marker + ASSISTANT.length();
        } else {
            cut = common;
            while (cut > 0 && cut < max && !Character.isWhitespace(chosen.charAt(cut - 1))) {
                cut--;
            }
        }
        String c = chosen.substring(cut).strip();
        String r = rejected.substring(cut).strip();
        if (c.isEmpty() || r.isEmpty()) {
            return new String[]{"", chosen, rejected};
        }
        return new String[]{chosen.substring(0, cut), c, r};
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)))
                    .substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
