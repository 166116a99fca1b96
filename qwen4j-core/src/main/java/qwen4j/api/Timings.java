package qwen4j.api;

/**
 * How long a generation took.
 *
 * @param promptTokens tokens prefilled
 * @param prefillNanos time to run the prompt through the model (it gives the first token)
 * @param decodeNanos  one entry per decode step (each step yields one more token)
 * @param firstTokenNanos from the call to its first token: waiting for a place among the sequences decoded
 *                        together, then the prefill
 */
public record Timings(int promptTokens, long prefillNanos, long[] decodeNanos, long firstTokenNanos) {
    /** No timings (a result made by hand). */
    public static final Timings NONE = new Timings(0, 0, new long[0]);

    /** Timings of a call that did not wait. */
    public Timings(int promptTokens, long prefillNanos, long[] decodeNanos) {
        this(promptTokens, prefillNanos, decodeNanos, prefillNanos);
    }

    /** Prompt tokens per second of prefill (0 when nothing was timed). */
    public double prefillTokensPerSecond() { return prefillNanos == 0 ? 0 : promptTokens / (prefillNanos / 1e9); }

    /** Mean seconds per decode step (0 without steps). */
    public double decodeSecondsPerToken() {
        if (decodeNanos.length == 0) return 0;
        long sum = 0;
        for (long t : decodeNanos) sum += t;
        return sum / 1e9 / decodeNanos.length;
    }

    /** Decode steps per second (0 without steps). */
    public double decodeTokensPerSecond() {
        double s = decodeSecondsPerToken();
        return s == 0 ? 0 : 1 / s;
    }
}
