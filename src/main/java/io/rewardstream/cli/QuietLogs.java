package io.rewardstream.cli;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.config.Configurator;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Lowers the components' log levels while a command whose output is its own summary runs (demo, bench), and puts
 * the previous levels back on close, so a command run inside another program (a test) does not silence it.
 */
final class QuietLogs implements AutoCloseable {
    private final Map<String, Level> previous = new LinkedHashMap<>();

    private QuietLogs() {
    }

    static QuietLogs apply() {
        QuietLogs q = new QuietLogs();
        q.set("io.rewardstream", Level.ERROR);
        q.set("org.apache.kafka", Level.ERROR);
        q.set("kafka", Level.OFF);   // the embedded broker (its logs are about clients, which report their own errors)
        return q;
    }

    private void set(String logger, Level level) {
        previous.put(logger, LogManager.getLogger(logger).getLevel());
        Configurator.setLevel(logger, level);
    }

    @Override
    public void close() {
        previous.forEach(Configurator::setLevel);
    }
}
