package qwen4j.bench;

import java.util.Arrays;
import java.util.function.Consumer;
import qwen4j.generate.Greedy;
import qwen4j.model.LayerWeights;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Qwen2Weights;
import qwen4j.model.Session;

/**
 * Measures prefill (pp) and decode (tg) speed of a model, llama-bench style: one warm-up run
 * (reported on its own: it carries the JIT's compile time), then {@code runs} measured runs whose
 * median and spread are reported.
 */
public final class Bench {
    /** What to run: p prompt tokens, n generated tokens, after {@code depth} tokens already in the cache. */
    public record Spec(int promptTokens, int genTokens, int depth, int runs) {}

    /** One measured configuration. Times are per token; spreads are (max - min) / median. */
    public record Result(double ppTokensPerS, double ppSpread, double tgSPerToken, double tgSpread,
                         double warmupFirstTokenMs, double warmupTgSPerToken, long weightBytesPerToken) {
        public double tgTokensPerS() { return 1 / tgSPerToken; }

        public double achievedGbS() { return weightBytesPerToken / tgSPerToken / 1e9; }
    }

    private Bench() {}

    /** Bytes of weights one decode step reads: every layer matrix and the output matrix. */
    public static long weightBytesPerToken(Qwen2Weights w) {
        long sum = w.output().byteSize();
        for (LayerWeights l : w.layers()) {
            sum += l.wq().byteSize() + l.wk().byteSize() + l.wv().byteSize() + l.wo().byteSize()
                    + l.wGate().byteSize() + l.wUp().byteSize() + l.wDown().byteSize();
        }
        return sum;
    }

    /**
     * Matrix flops (2 per multiply-add) of one prompt token in a batched prefill: every layer
     * product. Left out: the output product (run for the last token of a block only) and attention
     * scores (which grow with the context).
     */
    public static double flopsPerToken(qwen4j.model.Qwen2Config c) {
        double h = c.hiddenSize(), kv = c.kvDim(), f = c.intermediateSize();
        double layer = h * h * 2 + h * kv * 2 + 3 * h * f;
        return 2 * c.numLayers() * layer;
    }

    public static Result run(Qwen2Model model, Qwen2Weights weights, Spec spec, Consumer<String> progress) {
        int ctx = spec.depth() + spec.promptTokens() + spec.genTokens() + 1;
        int vocab = Math.min(model.config().vocabSize(), 151643);
        int[] prompt = new int[spec.promptTokens()];
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        for (int i = 0; i < prompt.length; i++) prompt[i] = rnd.nextInt(vocab);

        // the context of a depth > 0 test goes through the normal forward pass once; each run starts after it
        Session s = model.newSession(ctx);
        if (spec.depth() > 0) {
            int[] context = new int[spec.depth()];
            for (int i = 0; i < context.length; i++) context[i] = rnd.nextInt(vocab);
            progress.accept("filling the cache with " + context.length + " tokens");
            model.prefill(s, context);
        }
        double[] pp = new double[spec.runs()];
        double[] tg = new double[spec.runs()];
        double warmFirstMs = 0, warmTg = 0;
        for (int run = -1; run < spec.runs(); run++) {
            progress.accept(run < 0 ? "warm-up run" : "run " + (run + 1) + "/" + spec.runs());
            s.truncate(spec.depth());
            long t0 = System.nanoTime();
            float[] logits = prompt.length == 0 ? null : model.prefill(s, prompt);
            long t1 = System.nanoTime();
            int next = prompt.length == 0 ? 0 : Greedy.argmax(logits, vocab);
            long firstDecode = 0;
            for (int i = 0; i < spec.genTokens(); i++) {
                long ts = System.nanoTime();
                logits = model.forward(s, next);
                if (i == 0) firstDecode = System.nanoTime() - ts;
                next = Greedy.argmax(logits, vocab);
            }
            long t2 = System.nanoTime();
            double ppRate = prompt.length == 0 ? 0 : prompt.length / ((t1 - t0) / 1e9);
            double tgPer = spec.genTokens() == 0 ? 0 : (t2 - t1) / 1e9 / spec.genTokens();
            if (run < 0) {
                warmFirstMs = ((t1 - t0) + firstDecode) / 1e6;
                warmTg = tgPer;
            } else {
                pp[run] = ppRate;
                tg[run] = tgPer;
            }
        }
        return new Result(median(pp), spread(pp), median(tg), spread(tg), warmFirstMs, warmTg,
                weightBytesPerToken(weights));
    }

    static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        int n = s.length;
        return n == 0 ? 0 : n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static double spread(double[] a) {
        double m = median(a);
        if (a.length == 0 || m == 0) return 0;
        return (Arrays.stream(a).max().getAsDouble() - Arrays.stream(a).min().getAsDouble()) / m;
    }
}
