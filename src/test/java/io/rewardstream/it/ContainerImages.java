package io.rewardstream.it;

import com.github.dockerjava.api.DockerClient;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.images.builder.ImageFromDockerfile;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.stream.Stream;

/**
 * The CPU image of the container ITs, built ONCE per JVM from {@code docker/Dockerfile} (target {@code prebuilt}: the
 * jars of this build, {@code target/classes} plus every jar of {@code target/classpath.txt}) on the local Debian base
 * image that {@code .ci/run} makes with debootstrap ({@value #DEFAULT_BASE}, or {@code REWARDSTREAM_BASE_IMAGE}). The
 * engine runs with {@code --bridge=none}: the build and every container use the host network, so the containers reach
 * the test's broker and registry on 127.0.0.1.
 *
 * <p>{@link #assumeEngineAndBaseImage()} skips the calling test (with the reason) where no Docker engine answers or
 * the base image is missing. The image is kept (tag {@value #IMAGE}) so that a later run reuses its layers.
 */
final class ContainerImages {
    static final String DEFAULT_BASE = "rewardstream/debian:bookworm";
    static final String IMAGE = "rewardstream/it:cpu";
    private static String built;

    private ContainerImages() {
    }

    static String baseImage() {
        String env = System.getenv("REWARDSTREAM_BASE_IMAGE");
        return env == null || env.isBlank() ? DEFAULT_BASE : env;
    }

    /** Skips the test unless a Docker engine answers and holds the base image. */
    static void assumeEngineAndBaseImage() {
        Assumptions.assumeTrue(DockerClientFactory.instance().isDockerAvailable(),
                "no Docker engine answers (start one as .ci/run does: dockerd --bridge=none --iptables=false)");
        DockerClient client = DockerClientFactory.instance().client();
        boolean present;
        try {
            client.inspectImageCmd(baseImage()).exec();
            present = true;
        } catch (RuntimeException e) {
            present = false;
        }
        Assumptions.assumeTrue(present, "base image " + baseImage() + " is not in the Docker engine (no image "
                + "registry is reachable here; .ci/run builds it with debootstrap, see docker/README.md)");
    }

    /** Builds the image on first use (about 30 s cold, a few seconds with cached layers); returns its tag. */
    static synchronized String cpuImage() throws IOException {
        if (built != null) {
            return built;
        }
        Path root = Path.of("").toAbsolutePath();
        Path classpath = root.resolve("target/classpath.txt");
        if (!Files.isRegularFile(classpath)) {
            throw new IllegalStateException(classpath + " is missing: run the package phase first");
        }
        long t0 = System.nanoTime();
        // a fixed name and no delete-on-exit: the next build reuses the cached apt and jar layers
        ImageFromDockerfile image = new ImageFromDockerfile(IMAGE, false)
                .withFileFromPath("Dockerfile", root.resolve("docker/Dockerfile"))
                .withFileFromPath("docker/prebuilt.txt", root.resolve("docker/prebuilt.txt"))
                .withFileFromPath("topology", root.resolve("topology"))
                .withFileFromPath("target/classes", root.resolve("target/classes"))
                .withBuildArg("RUNTIME_IMAGE", baseImage())
                .withBuildArg("BUILD_IMAGE", baseImage())
                .withTarget("prebuilt")
                .withBuildImageCmdModifier(cmd -> cmd.withNetworkMode("host"));
        for (String jar : Files.readString(classpath, StandardCharsets.UTF_8).trim().split(java.io.File.pathSeparator)) {
            Path p = Path.of(jar);
            image.withFileFromPath("target/lib/" + p.getFileName(), p);
        }
        built = image.get();
        System.out.printf("[containers] built %s from docker/Dockerfile (target prebuilt, base %s) in %.1f s%n", built,
                baseImage(), (System.nanoTime() - t0) / 1e9);
        return built;
    }

    /**
     * A container of the CPU image on the host network running the CLI with {@code args}, with a 1 GB heap and its
     * output on this JVM's stdout prefixed with {@code name}. Not started.
     */
    @SuppressWarnings("resource")
    static GenericContainer<?> cli(String name, String... args) throws IOException {
        // TensorFlow's native libraries (~650 MB) are unpacked once into a cache shared by the ITs' containers
        // (JavaCPP locks it for concurrent JVMs) instead of once per container start
        Path cache = Files.createDirectories(Path.of("target", "it-work", "container-javacpp-cache").toAbsolutePath());
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxrwxrwx"));
        return new GenericContainer<>(cpuImage())
                .withFileSystemBind(cache.toString(), "/home/rewardstream/.javacpp/cache", BindMode.READ_WRITE)
                // built locally: never ask a registry (Testcontainers' image cache may predate the build)
                .withImagePullPolicy(image -> false)
                .withNetworkMode("host")
                .withEnv("JAVA_TOOL_OPTIONS", "-Xmx1g -XX:+UseSerialGC "
                        + "-Dorg.bytedeco.javacpp.cachedir=/home/rewardstream/.javacpp/cache")
                .withCommand(args)
                .withLogConsumer(f -> {
                    if (!f.getUtf8String().isEmpty()) {
                        System.out.print("[" + name + "] " + f.getUtf8String());
                    }
                })
                .withStartupTimeout(Duration.ofMinutes(3));
    }

    /** Makes a host directory tree readable (and, if {@code writable}, writable) by the image's user 10001. */
    static Path openUp(Path dir, boolean writable) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                boolean d = Files.isDirectory(p);
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(
                        d ? (writable ? "rwxrwxrwx" : "rwxr-xr-x") : (writable ? "rw-rw-rw-" : "rw-r--r--")));
            }
        }
        return dir;
    }
}
