package io.rewardstream.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.rewardstream.dev.LocalStack;
import io.rewardstream.topology.TopicProvisioner;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code dev-stack}: runs a local Kafka broker and Apicurio registry on 127.0.0.1, creates the default topics and
 * prints {@code KAFKA_BOOTSTRAP=...} and {@code SCHEMA_REGISTRY_URL=...} on stdout once ready; runs until
 * interrupted (Ctrl-C / SIGTERM), then stops both.
 */
@Command(name = "dev-stack",
        mixinStandardHelpOptions = true,
        description = {"Run a local Kafka broker (in-process KRaft) and an Apicurio schema registry on 127.0.0.1, "
                + "create the default topics, and print two lines once ready:",
                "  KAFKA_BOOTSTRAP=127.0.0.1:<port>",
                "  SCHEMA_REGISTRY_URL=http://127.0.0.1:<port>/apis/ccompat/v7",
                "Runs until interrupted. Progress goes to stderr."})
public final class DevStackCommand implements Callable<Integer> {

    @Option(names = "--ready-file", paramLabel = "PATH",
            description = "Also write the two lines to PATH (atomically, once ready; deleted on shutdown).")
    Path readyFile;

    @Mixin
    TopicOptions topics;

    @Override
    public Integer call() throws Exception {
        TopicProvisioner provisioner = topics.provisioner(); // validate the spec before starting anything
        System.err.println("dev-stack: starting Kafka and the schema registry...");
        LocalStack stack = LocalStack.start();
        CountDownLatch closed = new CountDownLatch(1);
        Thread hook = new Thread(() -> shutdown(stack, closed), "dev-stack-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            System.err.printf("dev-stack: started in %d ms, creating topics...%n", stack.startupMillis());
            try (Admin admin = TopicOptions.admin(stack.bootstrapServers(), null)) {
                System.err.println("dev-stack: topics " + provisioner.createAll(admin).summary());
            }
            String lines = "KAFKA_BOOTSTRAP=" + stack.bootstrapServers() + System.lineSeparator()
                    + "SCHEMA_REGISTRY_URL=" + stack.schemaRegistryUrl() + System.lineSeparator();
            PrintStream out = System.out;
            out.print(lines);
            out.flush();
            if (readyFile != null) {
                writeAtomically(readyFile, lines);
            }
            System.err.println("dev-stack: ready; Ctrl-C to stop");
        } catch (Exception | Error e) {
            Runtime.getRuntime().removeShutdownHook(hook);
            shutdown(stack, closed);
            throw e;
        }
        try {
            new CountDownLatch(1).await(); // until interrupted or the JVM exits (the hook then closes the stack)
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        shutdown(stack, closed);
        return 0;
    }

    private synchronized void shutdown(LocalStack stack, CountDownLatch closed) {
        if (closed.getCount() == 0) {
            return;
        }
        System.err.println("dev-stack: stopping...");
        if (readyFile != null) {
            try {
                Files.deleteIfExists(readyFile);
            } catch (IOException e) {
                System.err.println("dev-stack: could not delete " + readyFile + ": " + e);
            }
        }
        stack.close();
        closed.countDown();
        System.err.println("dev-stack: stopped");
    }

    static void writeAtomically(Path target, String content) throws IOException {
        Path abs = target.toAbsolutePath();
        if (abs.getParent() != null) {
            Files.createDirectories(abs.getParent());
        }
        Path tmp = Files.createTempFile(abs.getParent(), abs.getFileName().toString(), ".tmp");
        try {
            Files.writeString(tmp, content, StandardCharsets.UTF_8);
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
