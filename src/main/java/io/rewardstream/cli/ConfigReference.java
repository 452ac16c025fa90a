package io.rewardstream.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Generates the configuration reference ({@code topology/CONFIGURATION.md}) from the default configuration files
 * the code itself loads ({@code topology/scorer.properties}, {@code topology/retrain.properties}): every key, its
 * default and the comment above it. A test checks the committed reference against this output, so the docs cannot
 * drift from the defaults. Stateless; thread-safe.
 */
public final class ConfigReference {

    /** The documented configuration files: classpath resource and heading. */
    public static final List<String[]> SOURCES = List.of(
            new String[]{"topology/scorer.properties", "Streaming scorer (`rewardstream score`)"},
            new String[]{"topology/retrain.properties", "Retraining job (`rewardstream retrain`)"},
            new String[]{"topology/gateway.properties", "Reward gateway (`rewardstream gateway`)"});

    private static final Pattern KEY_LINE = Pattern.compile("^(#)?([A-Za-z][A-Za-z0-9_.\\-]*)=(.*)$");
    private static final Pattern RULE = Pattern.compile("^#\\s*-{3,}\\s*(.*?)\\s*-*\\s*$");

    /** One documented key. {@code optional} keys are shown commented out in the file (no default applied). */
    public record Entry(String section, String key, String defaultValue, boolean optional, String meaning) {
    }

    private ConfigReference() {
    }

    /** Parses one properties file's text into entries, in file order. */
    public static List<Entry> parse(String text) {
        List<Entry> out = new ArrayList<>();
        List<String> comment = new ArrayList<>();
        String section = "";
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            Matcher rule = RULE.matcher(line);
            if (rule.matches()) {
                comment.clear();
                if (!rule.group(1).isEmpty()) {
                    section = rule.group(1);              // "# --- Title ------"
                } else if (i + 2 < lines.length && RULE.matcher(lines[i + 2].strip()).matches()
                        && lines[i + 1].strip().startsWith("#")) {
                    section = lines[i + 1].strip().substring(1).strip();   // banner: rule / title / rule
                    i += 2;
                }
                continue;
            }
            Matcher key = KEY_LINE.matcher(line);
            if (key.matches() && (key.group(1) == null || key.group(2).contains("."))) {
                out.add(new Entry(section, key.group(2), key.group(3).strip(), key.group(1) != null,
                        String.join(" ", comment).strip()));
                // the comment block above documents the whole run of keys right below it
                continue;
            }
            if (line.startsWith("#")) {
                if (lastWasKey(lines, i)) {
                    comment.clear();                      // a comment after a key starts the next block
                }
                comment.add(line.substring(1).strip());
            } else if (line.isEmpty()) {
                comment.clear();
            }
        }
        return out;
    }

    private static boolean lastWasKey(String[] lines, int i) {
        if (i == 0) {
            return false;
        }
        Matcher m = KEY_LINE.matcher(lines[i - 1].strip());
        return m.matches() && (m.group(1) == null || m.group(2).contains("."));
    }

    /** The whole reference as Markdown. */
    public static String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("# Configuration reference\n\n")
                .append("Generated from the default configuration files the code loads; do not edit by hand.\n")
                .append("Regenerate with `./rewardstream config reference --out topology/CONFIGURATION.md`.\n")
                .append("Every key can be set in a `--config FILE` properties file or with `--set key=value`;\n")
                .append("a bad value stops start-up with the key's name. An unknown key under the scorer's own prefixes\n")
                .append("(`scoring.`, `model.`, `release.`, `batch.` except Kafka's own, `validation.`, `rewards.`,\n")
                .append("`shutdown.timeout.`) or `retrain.` stops start-up too. A key shown as *(not set)* has no default\n")
                .append("(its meaning says whether it is required).\n");
        for (String[] source : SOURCES) {
            md.append("\n## ").append(source[1]).append("\n\nDefaults: `").append(source[0]).append("`.\n");
            String section = null;
            for (Entry e : parse(read(source[0]))) {
                if (!e.section().equals(section)) {
                    section = e.section();
                    md.append("\n### ").append(section.isEmpty() ? "General" : section).append("\n\n")
                            .append("| key | default | meaning |\n| --- | --- | --- |\n");
                }
                String def = e.optional() ? "*(not set)* e.g. `" + e.defaultValue() + "`"
                        : e.defaultValue().isEmpty() ? "*(empty)*" : "`" + e.defaultValue() + "`";
                md.append("| `").append(e.key()).append("` | ").append(def.replace("|", "\\|")).append(" | ")
                        .append(e.meaning().replace("|", "\\|")).append(" |\n");
            }
        }
        return md.toString();
    }

    /** Reads a classpath resource as UTF-8. @throws UncheckedIOException when it is missing */
    public static String read(String resource) {
        try (InputStream in = ConfigReference.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("classpath resource missing: " + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
