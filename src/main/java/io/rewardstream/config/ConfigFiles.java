package io.rewardstream.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The layering every service configuration shares: documented defaults from a classpath resource, overlaid with a
 * deployment properties file, overlaid with flags. Stateless and thread-safe.
 */
public final class ConfigFiles {
    private ConfigFiles() {
    }

    /**
     * A classpath properties resource, values trimmed, sorted by key.
     *
     * @throws IllegalStateException when the resource is missing
     * @throws UncheckedIOException  when it cannot be read
     */
    public static Map<String, String> classpathDefaults(String resource) {
        Properties p = new Properties();
        try (InputStream in = ConfigFiles.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("classpath resource " + resource + " is missing");
            }
            p.load(new InputStreamReader(in, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, String> m = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k).trim()));
        return m;
    }

    /**
     * A properties file as a map in the file's key order (values as written).
     *
     * @param what names the file in the error, e.g. "scorer config"
     * @throws UncheckedIOException naming the file when it cannot be read
     */
    public static Map<String, String> read(Path file, String what) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + what + " " + file + ": " + e.getMessage(), e);
        }
        Map<String, String> m = new LinkedHashMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        return m;
    }

    /** {@code base} overlaid with the non-null values of {@code props} (as trimmed Strings), sorted by key. */
    public static Map<String, String> overlay(Map<String, String> base, Map<String, ?> props) {
        Map<String, String> m = new TreeMap<>(base);
        props.forEach((k, v) -> {
            if (v != null) {
                m.put(k, v.toString().trim());
            }
        });
        return m;
    }

    /** The entries whose key {@code keep} accepts, sorted by key (e.g. the keys handed on to Kafka clients). */
    public static Map<String, Object> select(Map<String, String> m, Predicate<String> keep) {
        Map<String, Object> out = new TreeMap<>();
        m.forEach((k, v) -> {
            if (keep.test(k)) {
                out.put(k, v);
            }
        });
        return out;
    }
}
