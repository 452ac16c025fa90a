package io.rewardstream.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of the {@code ./rewardstream} launcher. Each concern adds its subcommand here. Every command reports a
 * failure the same way ({@link CliErrors}): one {@code error: ...} line on stderr with the cause chain, a non-zero
 * exit code (2 usage/configuration, 1 otherwise), and the stack trace only with {@code --verbose}.
 */
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
                ProduceCommand.class,
                ConsumeCommand.class,
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Accepted by every command (inherited); read from the raw arguments by {@link #commandLine}. */
    @CommandLine.Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "On an error, also print the stack trace (demo: also the components' INFO logs).")
    boolean verboseOption;

    private static volatile boolean verbose;

    /** Whether the running command was given {@code --verbose}. */
    static boolean verbose() {
        return verbose;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** The configured command line (error style, case-insensitive enums); used by {@link #main} and tests. */
    static CommandLine commandLine(String... args) {
        verbose = java.util.Arrays.asList(args).contains("--verbose");
        CliErrors errors = new CliErrors(verbose);
        return new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true)
                .setExecutionExceptionHandler(errors).setParameterExceptionHandler(errors);
    }

    /** Runs one command and returns its exit code (does not exit the JVM). */
    public static int execute(String... args) {
        return commandLine(args).execute(args);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }
}
