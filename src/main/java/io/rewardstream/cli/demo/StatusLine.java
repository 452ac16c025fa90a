package io.rewardstream.cli.demo;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar for long runs on stderr: {@code [#####.....] rollouts in 1200/5000 | rewards out 1100 | model
 * builtin-small:1 | 812/s}. On a terminal it redraws in place at most 10 times a second; otherwise it prints a line
 * whenever another 10% is done or 5 s have passed. Not thread-safe: call from one thread.
 */
public final class StatusLine {
    private final PrintStream out;
    private final boolean tty;
    private final boolean enabled;
    private long lastDraw;
    private int lastDecile = -1;
    private boolean dirty;

    public StatusLine(PrintStream out, boolean tty, boolean enabled) {
        this.out = out;
        this.tty = tty;
        this.enabled = enabled;
    }

    /** On stderr, in-place when a console is attached. */
    public static StatusLine stderr(boolean enabled) {
        return new StatusLine(System.err, System.console() != null, enabled);
    }

    /** Draws the bar if it is due (or {@code force}). */
    public void update(long in, long total, long out, String model, double perSecond, String phase, boolean force) {
        if (!enabled) {
            return;
        }
        long now = System.nanoTime();
        int decile = total <= 0 ? 0 : (int) (10 * Math.min(out, total) / total);
        boolean due = tty ? now - lastDraw > 100_000_000L : decile != lastDecile || now - lastDraw > 5_000_000_000L;
        if (!due && !force) {
            return;
        }
        lastDraw = now;
        lastDecile = decile;
        String line = render(in, total, out, model, perSecond, phase);
        if (tty) {
            this.out.print("\r" + line + "\u001b[K");
            dirty = true;
        } else {
            this.out.println(line);
        }
        this.out.flush();
    }

    /** Prints a message on its own line, keeping the bar below it on a terminal. */
    public void println(String msg) {
        if (!enabled) {
            return;
        }
        if (tty && dirty) {
            out.print("\r\u001b[K");
            dirty = false;
        }
        out.println(msg);
        out.flush();
        lastDraw = 0;
    }

    /** Ends the in-place line. */
    public void finish() {
        if (enabled && tty && dirty) {
            out.println();
            dirty = false;
        }
    }

    static String render(long in, long total, long out, String model, double perSecond, String phase) {
        int width = 20;
        int filled = total <= 0 ? 0 : (int) Math.round(width * Math.min(1.0, (double) out / total));
        return String.format(Locale.ROOT, "[%s%s] rollouts in %d/%d | rewards out %d | model %s | %.0f/s%s",
                "#".repeat(filled), ".".repeat(width - filled), in, total, out, model == null ? "-" : model, perSecond,
                phase == null || phase.isEmpty() ? "" : " | " + phase);
    }
}
