package qwen4j.cli;

import java.io.PrintWriter;
import java.util.Locale;
import qwen4j.format.Progress;

/** A one-line progress bar on stderr, redrawn (with \r) when the percentage changes. */
final class ProgressBar implements Progress {
    private static final int WIDTH = 30;
    private final PrintWriter err;
    private final String label;
    private int shown = -1;

    ProgressBar(PrintWriter err, String label) {
        this.err = err;
        this.label = label;
    }

    /** Whether anything was reported. */
    synchronized boolean used() {
        return shown >= 0;
    }

    @Override
    public synchronized void update(long done, long total) {
        int pct = total <= 0 ? 100 : (int) Math.min(100, done * 100 / total);
        if (pct == shown) return;
        shown = pct;
        int fill = pct * WIDTH / 100;
        err.printf(Locale.ROOT, "\r%s [%s%s] %3d%% %,.0f/%,.0f MB", label, "#".repeat(fill), ".".repeat(WIDTH - fill), pct,
                done / 1e6, total / 1e6);
        if (pct == 100) err.println();
        err.flush();
    }
}
