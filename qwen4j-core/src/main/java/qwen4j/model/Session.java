package qwen4j.model;

/**
 * The mutable state of one conversation with a model: KV cache, position, and every scratch
 * buffer the forward pass needs, all allocated once so that a decode step allocates nothing.
 */
public final class Session {
    final KvCache cache;
    final Attention attention;
    int position; // number of tokens already in the cache

    final float[] x, xb, xb2;       // residual stream and normed copies [hidden]
    final float[] q, k, v;          // projections [hidden], [kvDim], [kvDim]
    final float[] attnOut;          // [hidden]
    final float[] gate, up;         // [intermediate]
    final float[] scores;           // [heads * ctx]
    final float[] logits;           // [vocab]
    private final Qwen2Config config;
    private Batch batch;             // scratch of the batched forward, allocated on first use

    Session(Qwen2Config c, int ctx, Options options, qwen4j.tensor.FloatKernels ops) {
        cache = new KvCache(c.numLayers(), ctx, c.kvDim(), options.kv());
        attention = new Attention(c.numHeads(), c.numKvHeads(), c.headDim(), ctx, options.mask(), options.attention(), ops);
        x = new float[c.hiddenSize()];
        xb = new float[c.hiddenSize()];
        xb2 = new float[c.hiddenSize()];
        q = new float[c.hiddenSize()];
        k = new float[c.kvDim()];
        v = new float[c.kvDim()];
        attnOut = new float[c.hiddenSize()];
        gate = new float[c.intermediateSize()];
        up = new float[c.intermediateSize()];
        scores = new float[Math.multiplyExact(c.numHeads(), ctx)];
        logits = new float[c.vocabSize()];
        config = c;
    }

    /**
     * Scratch of {@link Qwen2Model#forwardBatch}: the same buffers as a step's, one row per block
     * token ([tokens * hidden] etc., row-major). Allocated once, for the largest block seen.
     */
    static final class Batch {
        final int capacity;
        final float[] x, xb, xb2, q, k, v, attnOut, gate, up;

        Batch(Qwen2Config c, int n) {
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

    /** Batch scratch with room for at least n tokens. */
    Batch batch(int n) {
        if (batch == null || batch.capacity < n) batch = new Batch(config, n);
        return batch;
    }

    /** Tokens already processed (the position the next token will take). */
    public int position() { return position; }

    public int capacity() { return cache.capacity(); }

    /** Forgets everything after the first {@code n} tokens (the cache beyond is simply overwritten). */
    public void truncate(int n) {
        if (n < 0 || n > position) throw new IllegalArgumentException("cannot truncate to " + n + " of " + position);
        position = n;
    }

    /**
     * For benchmarks: pretends {@code depth} tokens were already processed by filling the KV cache
     * with random values, so decode speed at a long context can be measured without a long prefill.
     */
    public void fillForBenchmark(int depth, long seed) {
        if (depth < 0 || depth >= capacity()) throw new IllegalArgumentException("depth " + depth + " outside the context");
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        int n = depth * cache.kvDim();
        for (int l = 0; l < cache.layers(); l++) {
            for (int i = 0; i < n; i++) cache.set(l, i, (float) r.nextGaussian(), (float) r.nextGaussian());
        }
        position = depth;
    }

    /** The KV cache (its type and size). */
    public KvCache cache() { return cache; }

    /** Logits of the last forward step (valid until the next step). */
    public float[] logits() { return logits; }
}
