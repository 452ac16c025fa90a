package io.rewardstream.testing;

import java.util.HashSet;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Test helper: counts {@code java.net.http} clients by their threads. Every client runs one selector thread
 * ({@code HttpClient-<n>-SelectorManager}) from its construction, so the selector threads a piece of code starts are
 * the HTTP clients (for this project: schema-registry clients) it made. Stateless.
 */
public final class HttpClientThreads {
    private HttpClientThreads() {
    }

    /** The ids of the live java.net.http selector threads. */
    public static Set<Long> selectorThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("HttpClient-") && t.getName().endsWith("-SelectorManager"))
                .map(Thread::getId).collect(Collectors.toCollection(HashSet::new));
    }
}
