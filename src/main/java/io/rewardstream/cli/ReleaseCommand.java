package io.rewardstream.cli;

import io.rewardstream.avro.ModelRelease;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.release.ReleasePublisher;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;

/** {@code release publish}: publishes an exported model directory as a (signed) release. */
@Command(name = "release",
        mixinStandardHelpOptions = true,
        description = "Model releases.",
        subcommands = {ReleaseCommand.Publish.class})
public final class ReleaseCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "publish", mixinStandardHelpOptions = true,
            description = {"Publish an exported model (SavedModel + rewardstream-model.json) as a release: check its "
                    + "digests, move it atomically to <model-root>/<name>/v<version> (a model already there is used "
                    + "as is), sign and send the release.",
                    "Rollback: re-publish an installed older version with --rollback (scorers need "
                            + "release.allow.rollback=true)."})
    static final class Publish implements Callable<Integer> {
        @Option(names = "--model-dir", required = true, paramLabel = "DIR", description = "Exported model directory.")
        Path modelDir;

        @Option(names = "--model-root", required = true, paramLabel = "ROOT",
                description = "Model root shared with the scorers (their model.root).")
        Path modelRoot;

        @Option(names = "--version", required = true, paramLabel = "N",
                description = "Release version; must equal the manifest's version.")
        long version;

        @Option(names = "--key", paramLabel = "FILE", description = "Ed25519 private key (PKCS#8 PEM or DER).")
        Path key;

        @Option(names = "--key-id", paramLabel = "ID",
                description = "Key id the scorers know the public key by (default: the key file name without extension).")
        String keyId;

        @Option(names = "--unsigned", description = "Publish WITHOUT a signature (local development only).")
        boolean unsigned;

        @Option(names = "--rollback", description = "Mark the release as an explicit rollback.")
        boolean rollback;

        @Option(names = "--parent-version", paramLabel = "N",
                description = "Version it was fine-tuned from (default: the manifest's).")
        Long parentVersion;

        @Option(names = "--topic", defaultValue = ReleasePublisher.DEFAULT_TOPIC, paramLabel = "TOPIC",
                description = "Release topic (default: ${DEFAULT-VALUE}).")
        String topic;

        @Option(names = "--bootstrap-servers", required = true, paramLabel = "HOST:PORT")
        String bootstrapServers;

        @Option(names = "--schema-registry-url", required = true, paramLabel = "URL")
        String schemaRegistryUrl;

        @Option(names = "--command-config", paramLabel = "FILE",
                description = "Producer / registry client properties (security settings etc.).")
        Path commandConfig;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            if ((key == null) == !unsigned) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "give exactly one of --key FILE or --unsigned");
            }
            ModelManifest manifest = ModelLoader.verifyFiles(modelDir, true);
            if (manifest.version() != version) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--version " + version
                        + " differs from the manifest's version " + manifest.version() + " in " + modelDir);
            }
            Map<String, Object> client = new HashMap<>();
            if (commandConfig != null) {
                Properties p = new Properties();
                try (InputStream in = Files.newInputStream(commandConfig)) {
                    p.load(in);
                }
                p.forEach((k, v) -> client.put(k.toString(), v));
            }
            client.put("bootstrap.servers", bootstrapServers);
            client.put("schema.registry.url", schemaRegistryUrl);
            try (ReleasePublisher publisher = ReleasePublisher.create(modelRoot, key, keyId, client, topic)) {
                ModelRelease r = publisher.publish(modelDir, parentVersion, null, rollback);
                System.out.printf("published %s:%d at %s (%s%s) to %s%n", r.getModelName(), r.getVersion(),
                        r.getLocation(), r.getSignature() == null ? "UNSIGNED" : "signed by " + r.getSigningKeyId(),
                        r.getRollback() ? ", rollback" : "", topic);
            }
            return 0;
        }
    }
}
