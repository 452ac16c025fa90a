package io.rewardstream.topology;

import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.internals.CachedStateStore;
import org.apache.kafka.streams.state.internals.WrappedStateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;

/**
 * Makes Streams' record cache drop short-lived keys: a key put and deleted between two commits is written neither to
 * the store nor to its changelog.
 *
 * <p>Why: a rollout is put into {@code rollout-buffer} on arrival and deleted when its batch is scored; a group is
 * put into {@code group-members} and deleted when it completes. Written through, that is two changelog records per
 * rollout for nothing, since a crash before the commit replays the input anyway. Streams' caching layer already has
 * this optimization ("if this key did not exist in underlying store and also not in the cache, we can skip ... writing
 * to underlying store") but applies it only when a cache flush listener is set, which the DSL does for KTables and the
 * Processor API cannot. This builder sets a no-op listener on the cache layer.
 *
 * <p>Correctness under exactly_once_v2: the cache is flushed into the store and its changelog in the task's
 * pre-commit, inside the same transaction as the outputs and the input offsets (StreamTask.prepareCommit ->
 * flushCache -> RecordCollector.flush), so what the changelog holds at every commit is exactly the store's content.
 *
 * <p>Uses {@code org.apache.kafka.streams.state.internals} (CachedStateStore, WrappedStateStore): checked against Kafka
 * Streams 4.3; if a later version hides them, {@link #of} logs a warning and the store simply writes through
 * (correct, just more records). The write count is measured by {@code ./rewardstream bench} (records_per_rollout).
 */
final class WriteCoalescing {
    private static final Logger LOG = LoggerFactory.getLogger(WriteCoalescing.class);

    private WriteCoalescing() {
    }

    static <S extends StateStore> StoreBuilder<S> of(StoreBuilder<S> delegate) {
        return new StoreBuilder<>() {
            @Override
            public StoreBuilder<S> withCachingEnabled() {
                delegate.withCachingEnabled();
                return this;
            }

            @Override
            public StoreBuilder<S> withCachingDisabled() {
                delegate.withCachingDisabled();
                return this;
            }

            @Override
            public StoreBuilder<S> withLoggingEnabled(Map<String, String> config) {
                delegate.withLoggingEnabled(config);
                return this;
            }

            @Override
            public StoreBuilder<S> withLoggingDisabled() {
                delegate.withLoggingDisabled();
                return this;
            }

            @Override
            public S build() {
                S store = delegate.build();
                if (!dropShortLivedKeys(store)) {
                    LOG.warn("store {}: no record cache found to coalesce writes; it writes through", store.name());
                }
                return store;
            }

            @Override
            public Map<String, String> logConfig() {
                return delegate.logConfig();
            }

            @Override
            public boolean loggingEnabled() {
                return delegate.loggingEnabled();
            }

            @Override
            public String name() {
                return delegate.name();
            }
        };
    }

    /** Sets a no-op flush listener on the first caching layer under {@code store}; false when there is none. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static boolean dropShortLivedKeys(StateStore store) {
        try {
            StateStore s = store;
            while (s instanceof WrappedStateStore<?, ?, ?> w) {
                StateStore inner = w.wrapped();
                if (inner instanceof CachedStateStore<?, ?> cached) {
                    return ((CachedStateStore) cached).setFlushListener(record -> { }, false);
                }
                s = inner;
            }
            return false;
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("cannot set a cache flush listener on {}: {}", store.name(), e.toString());
            return false;
        }
    }
}
