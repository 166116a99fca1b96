package qwen4j.model;

import qwen4j.Qwen4jException;
import qwen4j.tensor.FloatKernels;
import qwen4j.tensor.FloatOps;
import qwen4j.tensor.WorkerPool;

/**
 * The Qwen2 decoder. {@link #forward(Batch, LogitsSink)} is the whole model for a batch of tokens,
 * each of some sequence at some position, top to bottom:
 *
 * <pre>
 * x = embed[token]                                   (one row per batch token)
 * for each layer:
 *     h = rmsnorm(x) ; q,k,v = h Wq + bq, h Wk + bk, h Wv + bv ; rope(q, k) at each token's position
 *     cache k, v in each token's sequence
 *     x += attention(q, K, V of the token's sequence, positions 0..pos) Wo
 *     h = rmsnorm(x) ; x += (silu(h Wgate) * (h Wup)) Wdown
 * logits = rmsnorm(x) Wout                           (for the tokens that want them)
 * </pre>
 *
 * Decode of N sequences is a batch of N tokens, a prompt block one of N tokens of one sequence, and
 * they mix. Products run as matrix-vector products for a single token and as matrix-matrix products
 * (each weight read once for all tokens) for more. Activations and accumulation are float32;
 * weights are read in their stored type by the kernels behind {@link qwen4j.tensor.Matrix}. Threads
 * split the rows of every product (q/k/v in one dispatch, gate/up in one) and the KV heads of
 * attention. A step allocates nothing once the scratch has grown to the batch size.
 *
 * <p>One thread drives a model at a time (its scratch and worker pool are its own).
 */
public final class Qwen2Model implements AutoCloseable {
    private final Qwen2Config config;
    private final Qwen2Weights weights;
    private final Options options;
    private final WorkerPool pool;
    private final FloatKernels ops;
    private final Rope rope;
    private final Attention attention;
    private final int maxContext;
    private final AttentionTask attentionTask = new AttentionTask();
    /** Tokens per output product when several tokens' logits are wanted (bounds that scratch). */
    static final int LOGIT_TOKENS = 16;

    static {
        qwen4j.tensor.JitDirectives.install(); // before any kernel is hot enough to compile
    }
    private Scratch scratch;
    private final float[] scores; // [heads * ctx], attention scratch (threads split KV heads: disjoint rows)
    private float[] logitRows, logitIn; // [LOGIT_TOKENS * vocab], [LOGIT_TOKENS * hidden], on first use
    private final int[] wanted = new int[LOGIT_TOKENS];

    /** Receives the logits of batch token {@code index} (the array is reused after the call). */
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
        this.attention = new Attention(config.numHeads(), config.numKvHeads(), config.headDim(), maxContext, options.mask(),
                options.attention(), ops);
        this.scores = new float[Math.multiplyExact(config.numHeads(), attention.scoresLength())];
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
        return new Session(config, ctx, options);
    }

    /** A pool of KV blocks for sequences of this model ({@code blocks} of {@value KvCache#BLOCK} positions). */
    public KvCache newCache(int blocks, boolean prefixCaching) {
        return new KvCache(config.numLayers(), config.kvDim(), options.kv(), blocks, prefixCaching);
    }

    /** An empty sequence in {@code cache} with room for {@code ctx} tokens (at most the model's max context). */
    public Sequence newSequence(KvCache cache, int ctx) {
        if (ctx < 1 || ctx > maxContext) {
            throw new Qwen4jException("context " + ctx + " is outside 1.." + maxContext);
        }
        return new Sequence(cache, ctx, config.vocabSize());
    }

    /** Runs one token through the model at the session's next position; returns the logits. */
    public float[] forward(Session s, int token) {
        Batch b = s.batch.clear();
        b.add(s.sequence, token, true);
        forward(b, null);
        return s.sequence.logits;
    }

    /**
     * Prefills {@code tokens} as the options say: one token per step (SEQUENTIAL) or prompt blocks of
     * at most {@code options.ubatch()} tokens (BATCHED). Returns the logits of the last token.
     */
    public float[] prefill(Session s, int[] tokens) {
        return prefill(s, tokens, null);
    }

    /** As {@link #prefill(Session, int[])}; {@code all}, if not null, gets every token's logits (index into tokens). */
    public float[] prefill(Session s, int[] tokens, LogitsSink all) {
        if (tokens.length == 0) throw new Qwen4jException("nothing to prefill: no tokens");
        int block = options.prompt() == Options.Prompt.SEQUENTIAL ? 1 : options.ubatch();
        for (int off = 0; off < tokens.length; off += block) {
            int len = Math.min(block, tokens.length - off);
            Batch b = s.batch(len).clear();
            for (int i = 0; i < len; i++) b.add(s.sequence, tokens[off + i], all != null || off + i == tokens.length - 1);
            int base = off;
            forward(b, all == null ? null : (i, l) -> all.accept(base + i, l));
        }
        return s.sequence.logits;
    }

    /**
     * One step over every token of {@code b}, in one pass over the weights. Each token is cached at
     * its position in its sequence; each token added with logits wanted gets them in its sequence's
     * {@link Sequence#logits()} (and, if {@code sink} is not null, passed to it with the token's batch
     * index; for several of one sequence, the sequence keeps the last). Blocks for the new positions
     * are taken first: when the cache is full, {@link KvCache.Full} is thrown before anything changes.
     */
    public void forward(Batch b, LogitsSink sink) {
        int n = b.size;
        if (n < 1) throw new Qwen4jException("an empty batch: nothing to run");
        Qwen2Config c = config;
        int hidden = c.hiddenSize(), kvDim = c.kvDim(), ffn = c.intermediateSize();
        float eps = c.rmsNormEps();
        for (int t = 0; t < n; t++) {
            int token = b.tokens[t];
            if (token < 0 || token >= c.vocabSize()) {
                throw new Qwen4jException("token id " + token + " is outside the vocabulary 0.." + (c.vocabSize() - 1));
            }
            Sequence seq = b.sequences[t];
            if (seq.cache.layers() != c.numLayers() || seq.cache.kvDim() != kvDim) {
                throw new Qwen4jException("the sequence's KV cache was made for another model shape");
            }
            if (b.positions[t] >= seq.capacity()) {
                throw new Qwen4jException("context is full: " + seq.capacity() + " tokens (raise --ctx)");
            }
        }
        for (int t = 0; t < n; t++) b.sequences[t].reserve(b.positions[t]); // may throw KvCache.Full: nothing written yet
        Scratch w = scratch(n);
        for (int t = 0; t < n; t++) weights.tokenEmbedding().row(b.tokens[t], w.x, t * hidden);

        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights lw = weights.layers()[l];

            // attention block
            rmsnormRows(w.xb, w.x, lw.attnNorm(), eps, hidden, n);
            if (n == 1) pool.matvec3(lw.wq(), w.q, lw.wk(), w.k, lw.wv(), w.v, w.xb);
            else pool.matmul3(lw.wq(), w.q, lw.wk(), w.k, lw.wv(), w.v, w.xb, n);
            for (int t = 0; t < n; t++) {
                int pos = b.positions[t];
                ops.add(lw.bq(), 0, w.q, t * hidden, hidden);
                ops.add(lw.bk(), 0, w.k, t * kvDim, kvDim);
                ops.add(lw.bv(), 0, w.v, t * kvDim, kvDim);
                rope.apply(w.q, t * hidden, c.numHeads(), pos);
                rope.apply(w.k, t * kvDim, c.numKvHeads(), pos);
                Sequence seq = b.sequences[t];
                seq.cache.store(l, seq.blocks[pos / KvCache.BLOCK], pos % KvCache.BLOCK, w.k, t * kvDim, w.v, t * kvDim);
            }
            // split by KV head: the query heads sharing one stay together (Attention.attend reads
            // their cached keys and values once per token)
            attentionTask.set(b, w, l, hidden);
            pool.parallelFor(c.numKvHeads(), attentionTask);
            project(lw.wo(), w.attnOut, w.xb2, n);
            ops.add(w.xb2, 0, w.x, 0, n * hidden);

            // feed-forward block (SwiGLU)
            rmsnormRows(w.xb, w.x, lw.ffnNorm(), eps, hidden, n);
            if (n == 1) pool.matvec2(lw.wGate(), w.gate, lw.wUp(), w.up, w.xb);
            else pool.matmul2(lw.wGate(), w.gate, lw.wUp(), w.up, w.xb, n);
            ops.swiglu(w.gate, w.up, n * ffn);
            project(lw.wDown(), w.gate, w.xb2, n);
            ops.add(w.xb2, 0, w.x, 0, n * hidden);
        }

        for (int t = 0; t < n; t++) b.sequences[t].wrote(b.positions[t], b.tokens[t]);
        logits(b, w, sink);
    }

    private void project(qwen4j.tensor.Matrix m, float[] x, float[] out, int n) {
        if (n == 1) pool.matvec(m, x, out);
        else pool.matmul(m, x, n, out);
    }

    private void rmsnormRows(float[] out, float[] x, float[] weight, float eps, int hidden, int n) {
        for (int t = 0; t < n; t++) ops.rmsnorm(out, t * hidden, x, t * hidden, weight, eps, hidden);
    }

    /** The wanted tokens' logits, up to LOGIT_TOKENS per output product (a matvec for a single one). */
    private void logits(Batch b, Scratch w, LogitsSink sink) {
        int hidden = config.hiddenSize(), vocab = config.vocabSize();
        float eps = config.rmsNormEps();
        float[] norm = weights.outputNorm();
        int t = 0;
        while (t < b.size) {
            int k = 0;
            for (; t < b.size && k < LOGIT_TOKENS; t++) if (b.logits[t]) wanted[k++] = t;
            if (k == 1) {
                int i = wanted[0];
                Sequence seq = b.sequences[i];
                ops.rmsnorm(w.xb, 0, w.x, i * hidden, norm, eps, hidden);
                pool.matvec(weights.output(), w.xb, seq.logits);
                if (sink != null) sink.accept(i, seq.logits);
            } else if (k > 1) {
                if (logitRows == null) {
                    logitRows = new float[LOGIT_TOKENS * vocab];
                    logitIn = new float[LOGIT_TOKENS * hidden];
                }
                for (int j = 0; j < k; j++) ops.rmsnorm(logitIn, j * hidden, w.x, wanted[j] * hidden, norm, eps, hidden);
                pool.matmul(weights.output(), logitIn, k, logitRows);
                for (int j = 0; j < k; j++) {
                    Sequence seq = b.sequences[wanted[j]];
                    System.arraycopy(logitRows, j * vocab, seq.logits, 0, vocab);
                    if (sink != null) sink.accept(wanted[j], seq.logits);
                }
            }
        }
    }

    /** Scratch with room for n batch tokens (grown, never shrunk). */
    private Scratch scratch(int n) {
        if (scratch == null || scratch.capacity < n) scratch = new Scratch(config, Math.max(n, scratch == null ? 1 : scratch.capacity));
        return scratch;
    }

    /** The forward pass's activations, one row per batch token ([tokens * hidden] etc., row-major). */
    static final class Scratch {
        final int capacity;
        final float[] x, xb, xb2, q, k, v, attnOut, gate, up;

        Scratch(Qwen2Config c, int n) {
            capacity = n;
            int hidden = Math.multiplyExact(n, c.hiddenSize()), kv = Math.multiplyExact(n, c.kvDim());
            int ffn = Math.multiplyExact(n, c.intermediateSize());
            x = new float[hidden];
            xb = new float[hidden];
            xb2 = new float[hidden];
            q = new float[hidden];
            k = new float[kv];
            v = new float[kv];
            attnOut = new float[hidden];
            gate = new float[ffn];
            up = new float[ffn];
        }
    }

    /** Attention of every batch token over a range of KV heads; one reusable instance so a step allocates nothing. */
    private final class AttentionTask implements WorkerPool.RangeTask {
        private Batch b;
        private Scratch w;
        private int layer, hidden;

        void set(Batch b, Scratch w, int layer, int hidden) {
            this.b = b;
            this.w = w;
            this.layer = layer;
            this.hidden = hidden;
        }

        @Override
        public void run(int kvFrom, int kvTo) {
            for (int g = kvFrom; g < kvTo; g++) {
                for (int t = 0; t < b.size; t++) {
                    attention.attend(w.q, t * hidden, b.sequences[t], layer, b.positions[t], scores, w.attnOut, t * hidden, g);
                }
            }
        }
    }

    @Override
    public void close() {
        pool.close();
    }
}
