package qwen4j.model;

import qwen4j.Qwen4jException;
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
 * kernels behind {@link qwen4j.tensor.Matrix}. Threads split the rows of every product.
 */
public final class Qwen2Model implements AutoCloseable {
    private final Qwen2Config config;
    private final Qwen2Weights weights;
    private final Options options;
    private final WorkerPool pool;
    private final Rope rope;
    private final int maxContext;

    public Qwen2Model(Qwen2Config config, Qwen2Weights weights, Options options, int maxContext) {
        this.config = config;
        this.weights = weights;
        this.options = options;
        this.maxContext = maxContext;
        this.pool = new WorkerPool(options.threads());
        this.rope = new Rope(options.rope(), config.headDim(), config.ropeTheta(), maxContext);
    }

    public Qwen2Config config() { return config; }

    public Options options() { return options; }

    public int maxContext() { return maxContext; }

    /** A fresh conversation state with room for {@code ctx} tokens (at most the model's max context). */
    public Session newSession(int ctx) {
        if (ctx < 1 || ctx > maxContext) {
            throw new Qwen4jException("context " + ctx + " is outside 1.." + maxContext);
        }
        return new Session(config, ctx, options.mask());
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
        int kvDim = c.kvDim();
        weights.tokenEmbedding().row(token, s.x, 0);

        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights w = weights.layers()[l];
            float[] keys = s.cache.keys[l], values = s.cache.values[l];

            // attention block
            rmsnorm(s.xb, s.x, w.attnNorm(), c.rmsNormEps());
            pool.matvec(w.wq(), s.xb, s.q);
            pool.matvec(w.wk(), s.xb, s.k);
            pool.matvec(w.wv(), s.xb, s.v);
            addInPlace(s.q, w.bq());
            addInPlace(s.k, w.bk());
            addInPlace(s.v, w.bv());
            rope.apply(s.q, 0, c.numHeads(), pos);
            rope.apply(s.k, 0, c.numKvHeads(), pos);
            System.arraycopy(s.k, 0, keys, pos * kvDim, kvDim);
            System.arraycopy(s.v, 0, values, pos * kvDim, kvDim);
            s.attention.attend(s.q, keys, values, pos, s.scores, s.attnOut, 0, c.numHeads());
            pool.matvec(w.wo(), s.attnOut, s.xb2);
            addInPlace(s.x, s.xb2);

            // feed-forward block (SwiGLU)
            rmsnorm(s.xb, s.x, w.ffnNorm(), c.rmsNormEps());
            pool.matvec(w.wGate(), s.xb, s.gate);
            pool.matvec(w.wUp(), s.xb, s.up);
            for (int i = 0; i < s.gate.length; i++) {
                float g = s.gate[i];
                s.gate[i] = g / (1f + (float) Math.exp(-g)) * s.up[i];
            }
            pool.matvec(w.wDown(), s.gate, s.xb2);
            addInPlace(s.x, s.xb2);
        }

        rmsnorm(s.xb, s.x, weights.outputNorm(), c.rmsNormEps());
        pool.matvec(weights.output(), s.xb, s.logits);
        s.position = pos + 1;
        return s.logits;
    }

    static void rmsnorm(float[] out, float[] x, float[] weight, float eps) {
        float ss = 0f;
        for (float v : x) ss += v * v;
        float inv = (float) (1.0 / Math.sqrt(ss / x.length + eps));
        for (int i = 0; i < x.length; i++) out[i] = weight[i] * (x[i] * inv);
    }

    private static void addInPlace(float[] y, float[] x) {
        for (int i = 0; i < y.length; i++) y[i] += x[i];
    }

    @Override
    public void close() {
        pool.close();
    }
}
