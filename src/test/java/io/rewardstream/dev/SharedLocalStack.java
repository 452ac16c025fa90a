package io.rewardstream.dev;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension giving tests ONE {@link LocalStack} per test run (JVM), started lazily on first use and closed
 * when the run ends (it lives in the root {@link ExtensionContext} store).
 *
 * <pre>{@code
 * @ExtendWith(SharedLocalStack.class)
 * class MyIT {
 *     @BeforeAll static void setUp(LocalStack stack) { ... }
 *     @Test void shouldX(LocalStack stack) { ... }
 * }
 * }</pre>
 *
 * <p>{@link #get()} gives the same stack to code that cannot take a parameter; if no test context has registered
 * the stack yet it starts it and closes it from a JVM shutdown hook instead.
 */
public final class SharedLocalStack implements ParameterResolver {

    private static final Object LOCK = new Object();
    private static volatile LocalStack stack;
    private static Exception failure;

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == LocalStack.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        ExtensionContext.Store store = extensionContext.getRoot().getStore(ExtensionContext.Namespace.GLOBAL);
        Closer closer = store.getOrComputeIfAbsent(Closer.class, k -> new Closer(), Closer.class);
        return closer.stack();
    }

    /**
     * The shared stack, started on first call.
     *
     * @throws IllegalStateException if it cannot start
     */
    public static LocalStack get() {
        LocalStack s = stack;
        if (s != null) {
            return s;
        }
        synchronized (LOCK) {
            if (failure != null) {
                // Fail every later test fast instead of retrying a slow start that already failed.
                throw new IllegalStateException("LocalStack failed to start earlier in this run: "
                        + failure.getMessage(), failure);
            }
            if (stack == null) {
                try {
                    stack = LocalStack.start();
                } catch (Exception e) {
                    failure = e;
                    throw new IllegalStateException("LocalStack failed to start: " + e.getMessage(), e);
                }
                LocalStack started = stack;
                // Closed by the root store at the end of the run; this hook covers get() used outside JUnit.
                Runtime.getRuntime().addShutdownHook(new Thread(started::close, "shared-localstack-close"));
            }
            return stack;
        }
    }

    /** Registered once in the root store: JUnit closes it when the whole run ends. */
    private static final class Closer implements ExtensionContext.Store.CloseableResource {
        LocalStack stack() {
            try {
                return get();
            } catch (IllegalStateException e) {
                throw new ParameterResolutionException(e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            synchronized (LOCK) {
                if (stack != null) {
                    stack.close();
                    stack = null;
                }
            }
        }
    }
}
