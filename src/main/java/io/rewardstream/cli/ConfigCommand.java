package io.rewardstream.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code rewardstream config reference}: prints (or writes) the configuration reference generated from the code. */
@Command(name = "config", mixinStandardHelpOptions = true,
        description = "Configuration tools.",
        subcommands = {ConfigCommand.Reference.class})
public final class ConfigCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "reference", mixinStandardHelpOptions = true,
            description = "Prints every configuration key with its default and meaning (Markdown), generated from "
                    + "the default configuration files the code loads.")
    static final class Reference implements Callable<Integer> {
        @Option(names = "--out", description = "Write to this file instead of stdout.")
        Path out;

        @Override
        public Integer call() throws Exception {
            String md = ConfigReference.markdown();
            if (out == null) {
                System.out.print(md);
            } else {
                Files.writeString(out, md, StandardCharsets.UTF_8);
                System.err.println("wrote " + out);
            }
            return 0;
        }
    }
}
