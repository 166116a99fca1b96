package qwen4j.model;

/**
 * One conversation with a model, the single-sequence way: a {@link Sequence} in a KV cache of its
 * own (room for {@code ctx} positions, no prefix sharing, freed with the session) and the reusable {@link Batch} its steps
 * go through. Many sequences in one forward pass use {@link Qwen2Model#forward(Batch, Qwen2Model.LogitsSink)}
 * with a shared {@link KvCache} instead.
 */
public final class Session {
    final KvCache cache;
    final Sequence sequence;
    Batch batch = new Batch(1);

    Session(Qwen2Config c, int ctx, Options options) {
        cache = new KvCache(c.numLayers(), c.kvDim(), options.kv(), KvCache.blocksFor(ctx), false, false);
        sequence = new Sequence(cache, ctx, c.vocabSize());
    }

    /** The step batch with room for at least n tokens. */
    Batch batch(int n) {
        if (batch.capacity() < n) batch = new Batch(n);
        return batch;
    }

    /** Tokens already processed (the position the next token will take). */
    public int position() { return sequence.length(); }

    public int capacity() { return sequence.capacity(); }

    /** Forgets everything after the first {@code n} tokens. */
    public void truncate(int n) {
        if (n < 0 || n > position()) throw new IllegalArgumentException("cannot truncate to " + n + " of " + position());
        sequence.truncate(n);
    }

    /** The KV cache (its type and size). */
    public KvCache cache() { return cache; }

    /** The sequence this session runs. */
    public Sequence sequence() { return sequence; }

    /** Logits of the last forward step (valid until the next step). */
    public float[] logits() { return sequence.logits(); }

}
