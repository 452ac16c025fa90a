package io.rewardstream.training;

import java.io.PrintStream;

/**
 * Text progress bar on stderr: {@code [#####.....] step 120/400 loss 0.41}. Redraws in place on a
 * terminal; otherwise prints a line every 10%. Not thread-safe.
 */
final class ProgressBar {
    private final PrintStream out;
    private final int total;
    private final boolean enabled;
    private final boolean tty;
    private int lastDecile = -1;
    private long lastDraw;

    ProgressBar(int total, boolean enabled) {
        this.out = System.err;
        this.total = total;
        this.enabled = enabled;
        this.tty = System.console() != null;
    }

    void update(int step, double loss) {
        update(step, loss, "");
    }

    /** {@link #update(int, double)} with {@code extra} appended to the line (e.g. throughput). */
    void update(int step, double loss, String extra) {
        if (!enabled) {
            return;
        }
        int decile = (int) (10L * step / total);
        long now = System.nanoTime();
        String line = render(step, total, loss) + extra;
        if (tty) {
            if (step == total || now - lastDraw > 100_000_000L) {
                out.print("\r" + line);
                lastDraw = now;
                if (step == total) {
                    out.println();
                }
            }
        } else if (decile != lastDecile) {
            lastDecile = decile;
            out.println(line);
        }
    }

    /** Clears the in-place bar before another line is printed. */
    void interrupt() {
        if (enabled && tty) {
            out.print("\r");
            out.flush();
        }
    }

    void println(String s) {
        if (enabled) {
            interrupt();
            out.println(s);
        }
    }

    static String render(int step, int total, double loss) {
        int width = 20;
        int filled = (int) Math.round(width * (double) step / total);
        return "[" + "#".repeat(filled) + ".".repeat(width - filled) + "] step " + step + "/" + total
                + String.format(" loss %.4f", loss);
    }
}
