package io.rewardstream.dev;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local development stack: an in-process KRaft Kafka broker ({@link EmbeddedKafka}) and an Apicurio schema
 * registry child process ({@link ApicurioRegistry}), both on 127.0.0.1, started in parallel.
 *
 * <p>No topics are created here (the {@code dev-stack} CLI provisions them). Ownership: the caller must
 * {@link #close()} the stack; it stops both parts. Thread-safe; {@link #close()} is idempotent.
 */
public final class LocalStack implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LocalStack.class);

    private final EmbeddedKafka kafka;
    private final ApicurioRegistry registry;
    private final long startupMillis;
    private volatile boolean closed;

    private LocalStack(EmbeddedKafka kafka, ApicurioRegistry registry, long startupMillis) {
        this.kafka = kafka;
        this.registry = registry;
        this.startupMillis = startupMillis;
    }

    /**
     * Starts broker and registry in parallel and returns once both are ready (registry compatibility BACKWARD).
     *
     * @throws Exception the first failure of either part; whichever part did start is closed again
     */
    public static LocalStack start() throws Exception {
        long t0 = System.nanoTime();
        CompletableFuture<ApicurioRegistry> registry = CompletableFuture.supplyAsync(() -> {
            try {
                return ApicurioRegistry.start();
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        });
        EmbeddedKafka kafka;
        try {
            kafka = EmbeddedKafka.start();
        } catch (Exception | Error e) {
            registry.thenAccept(ApicurioRegistry::close);
            try {
                registry.join();
            } catch (CompletionException ignored) {
                // The broker failure is the one reported.
            }
            throw e;
        }
        try {
            ApicurioRegistry r = registry.get();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            log.info("LocalStack ready in {} ms: kafka {} registry {}", ms, kafka.bootstrapServers(),
                    r.confluentApiUrl());
            return new LocalStack(kafka, r, ms);
        } catch (ExecutionException e) {
            kafka.close();
            Throwable cause = e.getCause() instanceof CompletionException && e.getCause().getCause() != null
                    ? e.getCause().getCause() : e.getCause();
            if (cause instanceof Exception ex) {
                throw ex;
            }
            throw e;
        } catch (InterruptedException e) {
            kafka.close();
            registry.thenAccept(ApicurioRegistry::close);
            throw e;
        }
    }

    /** {@code 127.0.0.1:<port>} of the broker. */
    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    /** {@code http://127.0.0.1:<port>/apis/ccompat/v7}, the Confluent-compatible registry API. */
    public String schemaRegistryUrl() {
        return registry.confluentApiUrl();
    }

    /** Wall-clock time {@link #start()} took, in milliseconds. */
    public long startupMillis() {
        return startupMillis;
    }

    /** The registry child process (for checks that nothing is left behind). */
    public ProcessHandle registryProcess() {
        return registry.processHandle();
    }

    /** Stops registry and broker. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            registry.close();
        } finally {
            kafka.close();
        }
    }
}
