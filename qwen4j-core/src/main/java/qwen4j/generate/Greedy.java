package qwen4j.generate;

/** Picks the largest logit among the first {@code limit} ids (ids past the tokenizer are padding rows). */
public final class Greedy {
    private Greedy() {}

    public static int argmax(float[] logits, int limit) {
        int best = 0;
        float bestValue = Float.NEGATIVE_INFINITY;
        int n = Math.min(limit, logits.length);
        for (int i = 0; i < n; i++) {
            if (logits[i] > bestValue) {
                bestValue = logits[i];
                best = i;
            }
        }
        return best;
    }
}
