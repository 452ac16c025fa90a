package io.rewardstream.cli;

import picocli.CommandLine;

import java.io.FileNotFoundException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The one error style of every command: {@code error: <message>; <cause>; <cause>...} on one stderr line and a
 * non-zero exit code (2 for a usage or configuration error, 1 for anything else); the stack trace follows only with
 * {@code --verbose}. Stateless; thread-safe.
 */
final class CliErrors implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {
    static final int USAGE = 2;
    static final int FAILURE = 1;

    private final boolean verbose;

    CliErrors(boolean verbose) {
        this.verbose = verbose;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        err.println("error: " + oneLine(ex));
        if (verbose) {
            ex.printStackTrace(err);
        }
        err.flush();
        return isUsage(ex) ? USAGE : FAILURE;
    }

    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("error: " + oneLine(ex));
        err.println("usage: " + cmd.getCommandSpec().qualifiedName() + " --help");
        if (verbose) {
            ex.printStackTrace(err);
        }
        err.flush();
        return USAGE;
    }

    /** A usage or configuration error: the user gave something wrong, not the system failing. */
    static boolean isUsage(Throwable t) {
        return t instanceof CommandLine.ParameterException || t instanceof IllegalArgumentException
                || t instanceof UsageException;
    }

    /**
     * The message and its causes on one line, each message once (wrappers often repeat their cause's text), with
     * the file-system exceptions that carry only a path turned into a sentence.
     */
    static String oneLine(Throwable top) {
        List<String> parts = new ArrayList<>();
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable t = top; t != null && seen.put(t, Boolean.TRUE) == null; t = t.getCause()) {
            if (isWrapper(t) && t.getCause() != null) {
                continue;
            }
            String m = describe(t);
            if (m == null || m.isBlank()) {
                continue;
            }
            boolean dup = false;
            for (String p : parts) {
                if (p.contains(m)) {
                    dup = true;
                    break;
                }
            }
            if (!dup) {
                parts.add(m);
            }
        }
        if (parts.isEmpty()) {
            parts.add(top.getClass().getSimpleName());
        }
        return String.join("; ", parts).replaceAll("\\s*\\R\\s*", " ");
    }

    private static boolean isWrapper(Throwable t) {
        return t instanceof ExecutionException || t instanceof CompletionException
                || t instanceof CommandLine.ExecutionException || t instanceof UncheckedIOException
                && t.getMessage() != null && t.getCause() != null && t.getMessage().equals(t.getCause().toString());
    }

    private static String describe(Throwable t) {
        String m = t.getMessage();
        if (t instanceof NoSuchFileException e) {
            return "no such file or directory: " + e.getFile() + (e.getReason() == null ? "" : " (" + e.getReason() + ")");
        }
        if (t instanceof AccessDeniedException e) {
            return "permission denied: " + e.getFile();
        }
        if (t instanceof FileAlreadyExistsException e) {
            return "already exists: " + e.getFile();
        }
        if (t instanceof NotDirectoryException e) {
            return "not a directory: " + e.getFile();
        }
        if (t instanceof FileNotFoundException) {
            return m;
        }
        if (m == null || m.isBlank()) {
            return t.getClass().getSimpleName();
        }
        // a Kafka or TensorFlow message without context reads better with its type when it is a one-word message
        return m.indexOf(' ') < 0 ? t.getClass().getSimpleName() + ": " + m : m;
    }

    /** Thrown by commands for a bad argument or configuration value (exit code 2, no stack trace). */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }

        UsageException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
