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
        return new Session(config, ctx, options.mask(), ops);
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
            float[] keys = s.cache.keys[l], values = s.cache.values[l];

            // attention block
            ops.rmsnorm(s.xb, s.x, w.attnNorm(), eps, hidden);
            pool.matvec3(w.wq(), s.q, w.wk(), s.k, w.wv(), s.v, s.xb);
            ops.add(w.bq(), 0, s.q, 0, hidden);
            ops.add(w.bk(), 0, s.k, 0, kvDim);
            ops.add(w.bv(), 0, s.v, 0, kvDim);
            rope.apply(s.q, 0, c.numHeads(), pos);
            rope.apply(s.k, 0, c.numKvHeads(), pos);
            System.arraycopy(s.k, 0, keys, pos * kvDim, kvDim);
            System.arraycopy(s.v, 0, values, pos * kvDim, kvDim);
            attentionTask.set(s, keys, values, pos);
            pool.parallelFor(c.numHeads(), attentionTask);
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

    /** Attention over a range of heads; one reusable instance so a step allocates nothing. */
    private static final class AttentionTask implements WorkerPool.RangeTask {
        private Session s;
        private float[] keys, values;
        private int pos;

        void set(Session s, float[] keys, float[] values, int pos) {
            this.s = s;
            this.keys = keys;
            this.values = values;
            this.pos = pos;
        }

        @Override
        public void run(int from, int to) {
            s.attention.attend(s.q, keys, values, pos, s.scores, s.attnOut, from, to);
        }
    }

    @Override
    public void close() {
        pool.close();
    }
}
