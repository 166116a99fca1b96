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

    public double prefillTokensPerSecond() {
        return prefillNanos == 0 ? 0 : promptIds.length / (prefillNanos / 1e9);
    }

    public double decodeSecondsPerToken() {
        if (decodeNanos.length == 0) return 0;
        long sum = 0;
        for (long t : decodeNanos) sum += t;
        return sum / 1e9 / decodeNanos.length;
    }

    public double decodeTokensPerSecond() {
        double s = decodeSecondsPerToken();
        return s == 0 ? 0 : 1 / s;
    }
}
