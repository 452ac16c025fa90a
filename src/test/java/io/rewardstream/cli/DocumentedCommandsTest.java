package io.rewardstream.cli;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every command line the docs show still parses: {@code rewardstream ...} / {@code ./rewardstream ...} /
 * {@code "$RS" ...} in the fenced code blocks and the inline code of README.md, ops/RUNBOOK.md and
 * schemas/README.md. Synopses (with {@code [optional]}, {@code a|b} or {@code …}) are skipped; {@code <placeholders>}
 * become {@code 1}. Parsing only: nothing runs.
 */
class DocumentedCommandsTest {
    static final List<String> DOCS = List.of("README.md", "ops/RUNBOOK.md", "schemas/README.md");
    private static final Pattern FENCE = Pattern.compile("```[a-z]*\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern INLINE = Pattern.compile("`([^`\\n]*(?:\\n[^`\\n]*)?)`");
    private static final Pattern START = Pattern.compile("^\\s*(?:\\$\\s+)?(?:\\./rewardstream|rewardstream|\"\\$RS\"|\\$RS)(?=\\s|$)");

    /** A documented command: where it is and its arguments (after the program name). */
    record Documented(String where, String text, List<String> args) {
    }

    static List<Documented> commands() throws IOException {
        List<Documented> out = new ArrayList<>();
        for (String doc : DOCS) {
            String text = Files.readString(Path.of(doc));
            Matcher f = FENCE.matcher(text);
            StringBuilder prose = new StringBuilder();
            int last = 0;
            while (f.find()) {
                prose.append(text, last, f.start());
                last = f.end();
                String block = f.group(1).replaceAll("\\\\\\n\\s*", " ");
                for (String line : block.split("\\n")) {
                    add(out, doc + " (code block)", line, false);
                }
            }
            prose.append(text.substring(last));
            Matcher i = INLINE.matcher(prose);
            while (i.find()) {
                add(out, doc + " (inline)", i.group(1).replaceAll("\\s+", " "), true);
            }
        }
        return out;
    }

    private static void add(List<Documented> out, String where, String line, boolean inline) {
        Matcher s = START.matcher(line);
        if (!s.find()) {
            return;
        }
        String cmd = line.substring(s.end()).trim();
        if (inline && (cmd.contains("[") || cmd.contains("|") || cmd.contains("…") || cmd.contains("..."))) {
            return;   // a synopsis, not a command line
        }
        cmd = cmd.replaceAll("<[^<>]*>", "1");
        List<String> args = shellWords(cmd);
        out.add(new Documented(where, line.trim(), args));
    }

    /** Words of a shell command up to its end (comment, redirection, pipe, background, separator). */
    static List<String> shellWords(String s) {
        List<String> words = new ArrayList<>();
        StringBuilder w = null;
        char quote = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                } else {
                    w.append(c);
                }
                continue;
            }
            if (c == '\'' || c == '"') {
                quote = c;
                if (w == null) {
                    w = new StringBuilder();
                }
                continue;
            }
            if (Character.isWhitespace(c)) {
                if (w != null) {
                    words.add(w.toString());
                    w = null;
                }
                continue;
            }
            if ((c == '#' && w == null) || c == '>' || c == '|' || c == '&' || c == ';') {
                break;
            }
            if (w == null) {
                w = new StringBuilder();
            }
            w.append(c);
        }
        if (w != null) {
            words.add(w.toString());
        }
        return words;
    }

    @TestFactory
    Stream<DynamicTest> shouldParseEveryDocumentedCommandLine() throws IOException {
        List<Documented> all = commands();
        assertThat(all).as("documented command lines found").hasSizeGreaterThan(25);
        return all.stream().map(d -> DynamicTest.dynamicTest(d.where() + ": " + d.text(), () -> {
            String[] args = d.args().toArray(String[]::new);
            CommandLine cl = Main.commandLine(args);
            try {
                cl.parseArgs(args);
            } catch (CommandLine.ParameterException e) {
                throw new AssertionError(d.where() + ": `" + d.text() + "` no longer parses: " + e.getMessage(), e);
            }
        }));
    }

    @Test
    void shouldFindTheCommandsOfEachDocAndFailOnABrokenOne() throws IOException {
        List<Documented> all = commands();
        for (String doc : List.of("README.md", "ops/RUNBOOK.md")) {
            assertThat(all).as(doc).anyMatch(d -> d.where().startsWith(doc));
        }
        assertThat(all).anyMatch(d -> d.args().size() > 2 && d.args().get(0).equals("consume"));
        assertThat(shellWords("produce rollouts --input \"my file.jsonl\" > out.txt # comment"))
                .containsExactly("produce", "rollouts", "--input", "my file.jsonl");
        String[] broken = {"score", "--no-such-flag"};
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Main.commandLine(broken).parseArgs(broken))
                .isInstanceOf(CommandLine.ParameterException.class);
    }
}
