package qwen4j.generate;

/**
 * What one generation produced and how long it took.
 *
 * @param promptIds    the prompt as token ids
 * @param ids          generated ids (the stop token, if any, included)
 * @param text         the generated text
 * @param prefillNanos time to run the prompt through the model (gives the first token)
 * @param decodeNanos  one entry per decode step (each step yields one more token)
 * @param stopReason   "eos", "length" or "context"
 */
public record Generation(int[] promptIds, int[] ids, String text, long prefillNanos, long[] decodeNanos,
                         String stopReason) {

    /** These timings as the public API's record, which holds the rate arithmetic. */
    public qwen4j.api.Timings timings() { return new qwen4j.api.Timings(promptIds.length, prefillNanos, decodeNanos); }

    public double prefillTokensPerSecond() { return timings().prefillTokensPerSecond(); }

    public double decodeSecondsPerToken() { return timings().decodeSecondsPerToken(); }

    public double decodeTokensPerSecond() { return timings().decodeTokensPerSecond(); }
}
