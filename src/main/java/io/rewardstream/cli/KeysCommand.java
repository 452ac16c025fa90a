package io.rewardstream.cli;

import io.rewardstream.release.KeyFiles;
import io.rewardstream.release.ReleaseSigning;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;

/** {@code keys generate}: creates the Ed25519 key pair that signs model releases. */
@Command(name = "keys",
        mixinStandardHelpOptions = true,
        description = "Release-signing keys (Ed25519).",
        subcommands = {KeysCommand.Generate.class})
public final class KeysCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = {"Write <id>.key (PKCS#8 PEM, mode 600: keep it with the retraining job only) and <id>.pub "
                    + "(X.509 PEM: copy it into every scorer's release.public.keys.dir).",
                    "Existing files are never overwritten."})
    static final class Generate implements Callable<Integer> {
        private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write the keys to.")
        Path out;

        @Option(names = "--id", defaultValue = "release", paramLabel = "NAME",
                description = "Key id = file name without extension (default: ${DEFAULT-VALUE}).")
        String id;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            if (!ID.matcher(id).matches()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--id '" + id + "' must match "
                        + ID.pattern());
            }
            Path key = out.resolve(id + ".key");
            Path pub = out.resolve(id + ".pub");
            for (Path p : new Path[]{key, pub}) {
                if (Files.exists(p)) {
                    System.err.println("refusing to overwrite " + p);
                    return 1;
                }
            }
            KeyPair kp = ReleaseSigning.generateKeyPair();
            KeyFiles.writePrivate(key, kp.getPrivate());
            KeyFiles.writePublic(pub, kp.getPublic());
            String fp = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(kp.getPublic().getEncoded()));
            System.out.println("private key " + key + " (mode 600)");
            System.out.println("public key  " + pub);
            System.out.println("key id      " + id);
            System.out.println("fingerprint SHA256:" + fp);
            return 0;
        }
    }
}
