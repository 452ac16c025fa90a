package io.rewardstream.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code ./rewardstream} launcher. Each concern adds its subcommand here. */
@Command(name = "rewardstream",
        mixinStandardHelpOptions = true,
        version = "rewardstream 0.1.0",
        description = "Kafka Streams reward scoring and continuous reward-model retraining for RL on language models.",
        subcommands = {
                CommandLine.HelpCommand.class,
                DevStackCommand.class,
                TopicsCommand.class,
                ShapeCommand.class,
                KeysCommand.class,
                ReleaseCommand.class,
                ScoreCommand.class,
                ModelCommand.class,
                ConfigCommand.class,
                DemoCommand.class,
                BenchCommand.class,
                GatewayCommand.class,
                RetrainCommand.class,
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        int code = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
        System.exit(code);
    }
}
