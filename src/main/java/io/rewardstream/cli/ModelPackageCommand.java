package io.rewardstream.cli;

import io.rewardstream.scoring.ModelLoadException;
import io.rewardstream.scoring.ModelPackager;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

/**
 * {@code rewardstream model package DIR --name N --version V --tokenizer T [--vocab-size N]}: checks a SavedModel
 * exported elsewhere against scoring/MODEL_CONTRACT.md and writes its manifest ({@link ModelPackager}).
 * Exit 0 when packaged, 1 when the model breaks the contract, 2 on bad options.
 */
@Command(name = "package",
        description = "Check a SavedModel exported elsewhere (Keras, tf.Module) against the model contract "
                + "(signature, dtypes, a test call on a dummy batch) and write its manifest with SHA-256 digests.")
final class ModelPackageCommand implements Callable<Integer> {
    // no mixinStandardHelpOptions: its -V/--version would clash with the model's --version
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    @Parameters(index = "0", description = "SavedModel directory (saved_model.pb, variables/); the manifest is written into it.")
    Path dir;

    @Option(names = "--name", required = true, description = "Model family, e.g. my-rm; rewards carry name:version.")
    String name;

    @Option(names = "--version", required = true, description = "Version within the family (>= 0).")
    long version;

    @Option(names = "--tokenizer", required = true, description = "ids | bytes | hf | wordpiece (MODEL_CONTRACT.md section 5).")
    String tokenizer;

    @Option(names = "--vocab-size", description = "Vocabulary size (required for ids; derived for bytes, hf, wordpiece).")
    Integer vocabSize;

    @Option(names = "--tokenizer-file", description = "tokenizer.json / vocab.txt, relative to DIR (default tokenizer.json, assets/vocab.txt).")
    String tokenizerFile;

    @Option(names = "--max-seq-len", defaultValue = "512", description = "Longest input in tokens (default: ${DEFAULT-VALUE}).")
    int maxSeqLen;

    @Option(names = "--pad-id", defaultValue = "0", description = "Padding id (default: ${DEFAULT-VALUE}).")
    int padId;

    @Option(names = "--force", description = "Replace an existing manifest.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        return ModelCommand.guarded(() -> {
            try {
                ModelPackager.Result r = ModelPackager.pack(new ModelPackager.Request(dir, name, version, tokenizer,
                        vocabSize, tokenizerFile, maxSeqLen, padId, force));
                System.out.printf("packaged %s in %s: tokenizer %s, vocab_size %d, max_seq_len %d, %d files digested "
                                + "(%s); dummy-batch rewards %s; devices %s%n", r.manifest().modelVersion(), dir,
                        r.manifest().tokenizer(), r.manifest().vocabSize(), r.manifest().maxSeqLen(),
                        r.manifest().files().size(), String.join(", ", new java.util.TreeSet<>(r.manifest().files().keySet())),
                        Arrays.toString(r.dummyRewards()), r.devices());
                return 0;
            } catch (ModelLoadException e) {
                System.err.println("error: model refused (" + e.reason() + "): " + e.getMessage());
                return 1;
            }
        });
    }
}
