package io.rewardstream.schema;

import java.io.IOException;

/**
 * Public handle on the FAKE in-memory registry ({@link FakeSchemaRegistry}) for unit tests in other packages (the
 * topology's TopologyTestDriver tests). Binds 127.0.0.1 on a free port; close it after the test.
 */
public final class FakeSchemaRegistryServer implements AutoCloseable {
    private final FakeSchemaRegistry fake;

    public FakeSchemaRegistryServer() throws IOException {
        fake = new FakeSchemaRegistry();
    }

    /** Confluent API base URL for {@code schema.registry.url}. */
    public String url() {
        return fake.url();
    }

    /** The next {@code n} requests answer {@code status}. */
    public void failNext(int n, int status) {
        fake.failNext(n, status);
    }

    @Override
    public void close() {
        fake.close();
    }
}
