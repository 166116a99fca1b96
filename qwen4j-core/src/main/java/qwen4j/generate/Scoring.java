package qwen4j.generate;

import java.util.ArrayList;
import java.util.List;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Session;

/**
 * Teacher-forced scoring: feed a token sequence and, after each token, record the
 * log-probability of the actual next token and the largest logits. Entry i is the prediction made
 * after token i; the last entry predicts past the input ({@code nextId} = -1).
 */
public final class Scoring {
    private Scoring() {}

    public record Position(int index, int nextId, double logprob, int[] topIds, float[] topLogits) {}

    public record Result(List<Position> positions, double perplexity) {}

    public static Result score(Qwen2Model model, Session session, int[] ids, int topK, int vocabLimit) {
        List<Position> positions = new ArrayList<>(ids.length);
        double[] nll = {0};
        int[] scored = {0};
        if (ids.length == 0) return new Result(positions, Double.NaN);
        // the prompt goes through as the model's options say (batched blocks or token by token);
        // each token's logits arrive here in order
        model.prefill(session, ids, (i, logits) -> {
            int next = i + 1 < ids.length ? ids[i + 1] : -1;
            double lp = Double.NaN;
            if (next >= 0) {
                lp = logSoftmaxAt(logits, vocabLimit, next);
                nll[0] -= lp;
                scored[0]++;
            }
            int[] top = topK(logits, vocabLimit, topK);
            float[] topLogits = new float[top.length];
            for (int j = 0; j < top.length; j++) topLogits[j] = logits[top[j]];
            positions.add(new Position(i, next, lp, top, topLogits));
        });
        double ppl = scored[0] == 0 ? Double.NaN : Math.exp(nll[0] / scored[0]);
        return new Result(positions, ppl);
    }

    /** log softmax(logits[0..limit))[id], computed in double for a stable sum. */
    static double logSoftmaxAt(float[] logits, int limit, int id) {
        return logits[id] - logSumExp(logits, limit);
    }

    /** log sum exp(logits[0..limit)), in double (the max subtracted first): the log softmax's normalizer. */
    static double logSumExp(float[] logits, int limit) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < limit; i++) max = Math.max(max, logits[i]);
        double sum = 0;
        for (int i = 0; i < limit; i++) sum += Math.exp(logits[i] - max);
        return max + Math.log(sum);
    }

    /** Ids of the k largest logits, largest first (ties: smaller id first). */
    public static int[] topK(float[] logits, int limit, int k) {
        k = Math.min(k, limit);
        if (k <= 0) return new int[0]; // k = 0 (perplexity's default --top) asks for none
        int[] best = new int[k];
        int size = 0;
        for (int i = 0; i < limit; i++) {
            float v = logits[i];
            if (size == k && !(v > logits[best[k - 1]])) continue;
            int j = size < k ? size++ : k - 1;
            while (j > 0 && v > logits[best[j - 1]]) {
                best[j] = best[j - 1];
                j--;
            }
            best[j] = i;
        }
        return best;
    }
}
