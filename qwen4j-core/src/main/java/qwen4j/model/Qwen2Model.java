package qwen4j.model;

import qwen4j.Qwen4jException;
import qwen4j.tensor.FloatKernels;
import qwen4j.tensor.FloatOps;
import qwen4j.tensor.WorkerPool;

/**
 * The Qwen2 decoder. {@link #forward} is the whole model for one token, top to bottom:
 *
 * <pre>
 * x = embed[token]
 * for each layer:
 *     h = rmsnorm(x) ; q,k,v = h Wq + bq, h Wk + bk, h Wv + bv ; rope(q, k) ; cache k, v
 *     x += attention(q, K, V) Wo
 *     h = rmsnorm(x) ; x += (silu(h Wgate) * (h Wup)) Wdown
 * logits = rmsnorm(x) Wout
 * </pre>
 *
 * Activations and accumulation are float32; weights are read in their stored type by the
 * kernels behind {@link qwen4j.tensor.Matrix}. Threads split the rows of every product (q/k/v in
 * one dispatch, gate/up in one) and the heads of attention. A step allocates nothing.
 */
public final class Qwen2Model implements AutoCloseable {
    private final Qwen2Config config;
    private final Qwen2Weights weights;
    private final Options options;
    private final WorkerPool pool;
    private final FloatKernels ops;
    private final Rope rope;
    private final int maxContext;
    private final AttentionTask attentionTask = new AttentionTask();
    private final BatchAttentionTask batchAttentionTask = new BatchAttentionTask();
    /** Tokens per output product when every block token's logits are wanted (bounds that scratch). */
    static final int LOGIT_TOKENS = 16;
    private float[] logitRows, logitIn; // [LOGIT_TOKENS * vocab], [LOGIT_TOKENS * hidden], on first use

    /** Receives the logits of block token {@code index} (the array is reused after the call). */
    @FunctionalInterface
    public interface LogitsSink {
        void accept(int index, float[] logits);
    }

    public Qwen2Model(Qwen2Config config, Qwen2Weights weights, Options options, int maxContext) {
        this.config = config;
        this.weights = weights;
        this.options = options;
        this.maxContext = maxContext;
        this.pool = new WorkerPool(options.threads());
        this.ops = FloatOps.of(options.kernels());
        this.rope = new Rope(options.rope(), config.headDim(), config.ropeTheta(), maxContext);
    }

    public Qwen2Config config() { return config; }

    public Qwen2Weights weights() { return weights; }

    public Options options() { return options; }

    public int maxContext() { return maxContext; }

    /** A fresh conversation state with room for {@code ctx} tokens (at most the model's max context). */
    public Session newSession(int ctx) {
        if (ctx < 1 || ctx > maxContext) {
            throw new Qwen4jException("context " + ctx + " is outside 1.." + maxContext);
        }
        return new Session(config, ctx, options, ops);
    }

    /** Runs one token through the model at the session's next position; returns the logits. */
    public float[] forward(Session s, int token) {
        int pos = s.position;
        if (pos >= s.capacity()) {
            throw new Qwen4jException("context is full: " + s.capacity() + " tokens (raise --ctx)");
        }
        if (token < 0 || token >= config.vocabSize()) {
            throw new Qwen4jException("token id " + token + " is outside the vocabulary 0.." + (config.vocabSize() - 1));
        }
        Qwen2Config c = config;
        int hidden = c.hiddenSize(), kvDim = c.kvDim(), ffn = c.intermediateSize();
        float eps = c.rmsNormEps();
        weights.tokenEmbedding().row(token, s.x, 0);

        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights w = weights.layers()[l];

            // attention block
            ops.rmsnorm(s.xb, s.x, w.attnNorm(), eps, hidden);
            pool.matvec3(w.wq(), s.q, w.wk(), s.k, w.wv(), s.v, s.xb);
            ops.add(w.bq(), 0, s.q, 0, hidden);
            ops.add(w.bk(), 0, s.k, 0, kvDim);
            ops.add(w.bv(), 0, s.v, 0, kvDim);
            rope.apply(s.q, 0, c.numHeads(), pos);
            rope.apply(s.k, 0, c.numKvHeads(), pos);
            s.cache.store(l, pos, s.k, s.v, 1);
            // split by KV head: the query heads sharing one stay together (Attention.attend reads
            // their cached keys and values once)
            attentionTask.set(s, l, pos, c.numHeads() / c.numKvHeads());
            pool.parallelFor(c.numKvHeads(), attentionTask);
            pool.matvec(w.wo(), s.attnOut, s.xb2);
            ops.add(s.xb2, 0, s.x, 0, hidden);

            // feed-forward block (SwiGLU)
            ops.rmsnorm(s.xb, s.x, w.ffnNorm(), eps, hidden);
            pool.matvec2(w.wGate(), s.gate, w.wUp(), s.up, s.xb);
            ops.swiglu(s.gate, s.up, ffn);
            pool.matvec(w.wDown(), s.gate, s.xb2);
            ops.add(s.xb2, 0, s.x, 0, hidden);
        }

        ops.rmsnorm(s.xb, s.x, weights.outputNorm(), eps, hidden);
        pool.matvec(weights.output(), s.xb, s.logits);
        s.position = pos + 1;
        return s.logits;
    }

    /**
     * Prefills {@code tokens} as the options say: one {@link #forward} per token (SEQUENTIAL) or
     * {@link #forwardBatch} blocks of at most {@code options.batch()} tokens (BATCHED). Returns the
     * logits of the last token.
     */
    public float[] prefill(Session s, int[] tokens) {
        return prefill(s, tokens, null);
    }

    /** As {@link #prefill(Session, int[])}; {@code all}, if not null, gets every token's logits (index into tokens). */
    public float[] prefill(Session s, int[] tokens, LogitsSink all) {
        if (tokens.length == 0) throw new Qwen4jException("nothing to prefill: no tokens");
        float[] logits = null;
        if (options.prompt() == Options.Prompt.SEQUENTIAL) {
            for (int i = 0; i < tokens.length; i++) {
                logits = forward(s, tokens[i]);
                if (all != null) all.accept(i, logits);
            }
            return logits;
        }
        for (int off = 0; off < tokens.length; off += options.batch()) {
            int len = Math.min(options.batch(), tokens.length - off);
            int base = off;
            logits = forwardBatch(s, tokens, off, len, all == null ? null : (i, l) -> all.accept(base + i, l));
        }
        return logits;
    }

    /** Runs tokens[off .. off + len) through the model as one block; returns the last token's logits. */
    public float[] forwardBatch(Session s, int[] tokens, int off, int len) {
        return forwardBatch(s, tokens, off, len, null);
    }

    /**
     * The block tokens[off .. off + len) at the session's next positions, as a (tokens x hidden)
     * matrix through each layer: the same model as {@link #forward}, with matrix-matrix products
     * that read each weight once per block. Returns the last token's logits; {@code all}, if not
     * null, also receives every block token's logits (index 0..len-1), computed {@value #LOGIT_TOKENS}
     * tokens at a time.
     */
    public float[] forwardBatch(Session s, int[] tokens, int off, int len, LogitsSink all) {
        int pos = s.position;
        java.util.Objects.checkFromIndexSize(off, len, tokens.length);
        if (len < 1) throw new Qwen4jException("forwardBatch needs at least one token");
        if (pos + len > s.capacity()) {
            throw new Qwen4jException("context is full: " + s.capacity() + " tokens (raise --ctx)");
        }
        Qwen2Config c = config;
        int hidden = c.hiddenSize(), kvDim = c.kvDim(), ffn = c.intermediateSize();
        float eps = c.rmsNormEps();
        Session.Batch b = s.batch(len);
        for (int t = 0; t < len; t++) {
            int token = tokens[off + t];
            if (token < 0 || token >= c.vocabSize()) {
                throw new Qwen4jException("token id " + token + " is outside the vocabulary 0.." + (c.vocabSize() - 1));
            }
            weights.tokenEmbedding().row(token, b.x, t * hidden);
        }

        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights w = weights.layers()[l];

            // attention block
            rmsnormRows(b.xb, b.x, w.attnNorm(), eps, hidden, len);
            pool.matmul3(w.wq(), b.q, w.wk(), b.k, w.wv(), b.v, b.xb, len);
            for (int t = 0; t < len; t++) {
                ops.add(w.bq(), 0, b.q, t * hidden, hidden);
                ops.add(w.bk(), 0, b.k, t * kvDim, kvDim);
                ops.add(w.bv(), 0, b.v, t * kvDim, kvDim);
                rope.apply(b.q, t * hidden, c.numHeads(), pos + t);
                rope.apply(b.k, t * kvDim, c.numKvHeads(), pos + t);
            }
            s.cache.store(l, pos, b.k, b.v, len);
            batchAttentionTask.set(s, b, l, pos, len);
            pool.parallelFor(c.numHeads(), batchAttentionTask);
            pool.matmul(w.wo(), b.attnOut, len, b.xb2);
            ops.add(b.xb2, 0, b.x, 0, len * hidden);

            // feed-forward block (SwiGLU)
            rmsnormRows(b.xb, b.x, w.ffnNorm(), eps, hidden, len);
            pool.matmul2(w.wGate(), b.gate, w.wUp(), b.up, b.xb, len);
            ops.swiglu(b.gate, b.up, len * ffn);
            pool.matmul(w.wDown(), b.gate, len, b.xb2);
            ops.add(b.xb2, 0, b.x, 0, len * hidden);
        }

        s.position = pos + len;
        if (all == null) {
            ops.rmsnorm(s.xb, 0, b.x, (len - 1) * hidden, weights.outputNorm(), eps, hidden);
            pool.matvec(weights.output(), s.xb, s.logits);
        } else {
            allLogits(s, b, len, all);
        }
        return s.logits;
    }

    private void rmsnormRows(float[] out, float[] x, float[] weight, float eps, int hidden, int n) {
        for (int t = 0; t < n; t++) ops.rmsnorm(out, t * hidden, x, t * hidden, weight, eps, hidden);
    }

    /** Every block token's logits, LOGIT_TOKENS tokens per output product; the last stay in s.logits. */
    private void allLogits(Session s, Session.Batch b, int len, LogitsSink all) {
        int hidden = config.hiddenSize(), vocab = config.vocabSize();
        if (logitRows == null) {
            logitRows = new float[LOGIT_TOKENS * vocab];
            logitIn = new float[LOGIT_TOKENS * hidden];
        }
        for (int t0 = 0; t0 < len; t0 += LOGIT_TOKENS) {
            int n = Math.min(LOGIT_TOKENS, len - t0);
            rmsnormRowsFrom(b.x, t0, n, hidden);
            pool.matmul(weights.output(), logitIn, n, logitRows);
            for (int i = 0; i < n; i++) {
                System.arraycopy(logitRows, i * vocab, s.logits, 0, vocab);
                all.accept(t0 + i, s.logits);
            }
        }
    }

    private void rmsnormRowsFrom(float[] x, int t0, int n, int hidden) {
        for (int i = 0; i < n; i++) {
            ops.rmsnorm(logitIn, i * hidden, x, (t0 + i) * hidden, weights.outputNorm(), config.rmsNormEps(), hidden);
        }
    }

    /** Attention of every block token over a range of heads; reusable, so a block allocates nothing. */
    private static final class BatchAttentionTask implements WorkerPool.RangeTask {
        private Session s;
        private Session.Batch b;
        private int layer, pos, n;

        void set(Session s, Session.Batch b, int layer, int pos, int n) {
            this.s = s;
            this.b = b;
            this.layer = layer;
            this.pos = pos;
            this.n = n;
        }

        @Override
        public void run(int from, int to) {
            KvCache c = s.cache;
            if (c.type == KvCache.Type.F32) {
                s.attention.attendBatch(b.q, c.keys[layer], c.values[layer], pos, n, s.scores, b.attnOut, from, to);
            } else {
                s.attention.attendHalf(b.q, c.keys16[layer], c.values16[layer], c.type == KvCache.Type.F16, pos, n,
                        s.scores, b.attnOut, from, to);
            }
        }
    }

    /** Attention over a range of KV heads (their query heads); one reusable instance so a step allocates nothing. */
    private static final class AttentionTask implements WorkerPool.RangeTask {
        private Session s;
        private int layer, pos, group;

        void set(Session s, int layer, int pos, int group) {
            this.s = s;
            this.layer = layer;
            this.pos = pos;
            this.group = group;
        }

        @Override
        public void run(int kvFrom, int kvTo) {
            int from = kvFrom * group, to = kvTo * group;
            KvCache c = s.cache;
            if (c.type == KvCache.Type.F32) {
                s.attention.attend(s.q, c.keys[layer], c.values[layer], pos, s.scores, s.attnOut, from, to);
            } else {
                s.attention.attendHalf(s.q, c.keys16[layer], c.values16[layer], c.type == KvCache.Type.F16, pos, 1,
                        s.scores, s.attnOut, from, to);
            }
        }
    }

    @Override
    public void close() {
        pool.close();
    }
}
