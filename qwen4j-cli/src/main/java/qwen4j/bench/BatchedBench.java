package qwen4j.bench;

import java.util.Arrays;
import java.util.SplittableRandom;
import qwen4j.model.Batch;
import qwen4j.model.KvCache;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Sequence;

/**
 * Throughput with N sequences decoded together, as llama.cpp's llama-batched-bench measures it: N
 * prompts of {@code promptTokens} prefilled (prompt blocks of up to ubatch tokens, sequences packed
 * together), then {@code genTokens} steps that each decode one token of every sequence in one pass.
 */
public final class BatchedBench {
    private BatchedBench() {}

    /**
     * Medians over the runs (after one warm-up run).
     *
     * @param ppSeconds prefill time of all N prompts
     * @param tgSeconds time of the genTokens decode steps
     */
    public record Result(int parallel, int promptTokens, int genTokens, double ppSeconds, double tgSeconds) {
        public double ppTokensPerS() { return ppSeconds == 0 ? 0 : (double) parallel * promptTokens / ppSeconds; }

        public double tgTokensPerSTotal() { return (double) parallel * genTokens / tgSeconds; }

        public double tgTokensPerSPerSeq() { return tgTokensPerSTotal() / parallel; }
    }

    public static Result run(Qwen2Model m, int parallel, int promptTokens, int genTokens, int runs) {
        int ctx = promptTokens + genTokens + 1;
        int vocab = m.config().vocabSize();
        double[] pp = new double[runs], tg = new double[runs];
        try (KvCache cache = m.newCache(parallel * KvCache.blocksFor(ctx), false)) {
            Batch batch = new Batch(Math.max(parallel, m.options().ubatch()));
            SplittableRandom r = new SplittableRandom(7);
            for (int run = -1; run < runs; run++) {
                Sequence[] seqs = new Sequence[parallel];
                for (int s = 0; s < parallel; s++) seqs[s] = m.newSequence(cache, ctx);
                long t0 = System.nanoTime();
                if (promptTokens > 0) {
                    // prompt blocks of up to ubatch tokens, filled sequence after sequence
                    for (int s = 0; s < parallel; s++) {
                        for (int i = 0; i < promptTokens; i++) {
                            if (batch.size() == batch.capacity()) {
                                m.forward(batch, null);
                                batch.clear();
                            }
                            batch.add(seqs[s], r.nextInt(vocab), i == promptTokens - 1);
                        }
                    }
                    if (batch.size() > 0) m.forward(batch, null);
                    batch.clear();
                } else {
                    for (Sequence s : seqs) batch.add(s, r.nextInt(vocab), true);
                    m.forward(batch, null);
                    batch.clear();
                }
                long t1 = System.nanoTime();
                for (int step = 0; step < genTokens; step++) {
                    batch.clear();
                    for (Sequence s : seqs) batch.add(s, argmax(s.logits()), true);
                    m.forward(batch, null);
                }
                long t2 = System.nanoTime();
                batch.clear();
                for (Sequence s : seqs) s.release();
                if (run >= 0) {
                    pp[run] = promptTokens == 0 ? 0 : (t1 - t0) / 1e9;
                    tg[run] = (t2 - t1) / 1e9;
                }
            }
        }
        return new Result(parallel, promptTokens, genTokens, median(pp), median(tg));
    }

    private static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
        return best;
    }

    private static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
