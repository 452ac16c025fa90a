package io.rewardstream.scoring;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The application's current reward model, hot-swappable while batches are in flight. Thread-safe.
 *
 * <p>Each batch runs inside a {@link Lease}: {@code try (Lease l = holder.acquire()) { l.model().score(b); }}.
 * {@link #swap} installs a new model at once (new leases get it) and closes the old one only when its last
 * lease is released, on the thread that releases it. The holder owns every model given to it.
 */
public final class ModelHolder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelHolder.class);

    /** A model plus its reference count; the holder's own reference counts as one. */
    private static final class Entry {
        final RewardModel model;
        final AtomicInteger refs = new AtomicInteger(1);

        Entry(RewardModel model) {
            this.model = model;
        }

        boolean retain() {
            for (int r = refs.get(); r > 0; r = refs.get()) {
                if (refs.compareAndSet(r, r + 1)) {
                    return true;
                }
            }
            return false; // already fully released: the caller re-reads the current entry
        }

        void release() {
            int left = refs.decrementAndGet();
            if (left == 0) {
                LOG.info("closing model {} (last lease released)", model.modelVersion());
                model.close();
            } else if (left < 0) {
                throw new IllegalStateException("model " + model.modelVersion() + " released too often");
            }
        }
    }

    /** Use of one model around one batch (or plan). Close it exactly when the work is done; idempotent. */
    public static final class Lease implements AutoCloseable {
        private final Entry entry;
        private final AtomicBoolean released = new AtomicBoolean();

        private Lease(Entry entry) {
            this.entry = entry;
        }

        /** The leased model; valid until this lease is closed. */
        public RewardModel model() {
            if (released.get()) {
                throw new IllegalStateException("lease already closed");
            }
            return entry.model;
        }

        @Override
        public void close() {
            if (released.compareAndSet(false, true)) {
                entry.release();
            }
        }
    }

    /** Sentinels: no model installed yet / holder closed. Never retained or released. */
    private static final Entry EMPTY = new Entry(null);
    private static final Entry CLOSED = new Entry(null);

    /** Thrown by {@link #acquire()} and {@link #modelVersion()} before the first model is installed. */
    public static final class NoModelException extends IllegalStateException {
        NoModelException() {
            super("no model installed yet (awaiting the first release)");
        }
    }

    private final AtomicReference<Entry> current;

    /** An empty holder: {@link #acquire()} throws {@link NoModelException} until the first {@link #swap}. */
    public ModelHolder() {
        current = new AtomicReference<>(EMPTY);
    }

    /** @param initial the first model; owned by the holder from now on */
    public ModelHolder(RewardModel initial) {
        current = new AtomicReference<>(new Entry(Objects.requireNonNull(initial, "initial")));
    }

    /** Whether no model has been installed yet. */
    public boolean isEmpty() {
        return current.get() == EMPTY;
    }

    /**
     * Leases the current model.
     *
     * @throws NoModelException      before the first model is installed
     * @throws IllegalStateException when the holder is closed
     */
    public Lease acquire() {
        while (true) {
            Entry e = current.get();
            check(e);
            if (e.retain()) {
                return new Lease(e);
            }
        }
    }

    private static void check(Entry e) {
        if (e == CLOSED) {
            throw new IllegalStateException("model holder is closed");
        }
        if (e == EMPTY) {
            throw new NoModelException();
        }
    }

    /**
     * Version of the current model (may change right after the call).
     *
     * @throws NoModelException      before the first model is installed
     * @throws IllegalStateException when the holder is closed
     */
    public String modelVersion() {
        Entry e = current.get();
        check(e);
        return e.model.modelVersion();
    }

    /**
     * Installs {@code next}; the previous model (if any) is closed once its last lease is released.
     *
     * @throws IllegalStateException when the holder is closed ({@code next} is closed too)
     */
    public void swap(RewardModel next) {
        Objects.requireNonNull(next, "next");
        Entry fresh = new Entry(next);
        while (true) {
            Entry old = current.get();
            if (old == CLOSED) {
                next.close();
                throw new IllegalStateException("model holder is closed; " + next.modelVersion() + " not installed");
            }
            if (current.compareAndSet(old, fresh)) {
                if (old == EMPTY) {
                    LOG.info("installed first model {}", next.modelVersion());
                } else {
                    LOG.info("swapped model {} -> {}", old.model.modelVersion(), next.modelVersion());
                    old.release();
                }
                return;
            }
        }
    }

    /** Stops handing out leases; the current model closes once its last lease is released. Idempotent. */
    @Override
    public void close() {
        Entry old = current.getAndSet(CLOSED);
        if (old != CLOSED && old != EMPTY) {
            old.release();
        }
    }
}
