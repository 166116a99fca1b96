package qwen4j.api;

import qwen4j.Qwen4jException;

/**
 * How to load a model: threads, context length, KV cache type, kernels. Immutable; build with {@link #builder()}.
 */
public final class LoadOptions {
    /** Element type of the KV cache. */
    public enum KvCacheType {
        /** float32: exact. */
        F32,
        /** IEEE half: half the memory, each cached value rounded. */
        F16,
        /** bfloat16: half the memory, each cached value rounded. */
        BF16
    }

    /** Kernel implementation. */
    public enum Kernels {
        /** Vector API kernels (the default). */
        SIMD,
        /** Plain reference loops. */
        SCALAR
    }

    private final int threads;
    private final int contextLength;
    private final KvCacheType kvCache;
    private final Kernels kernels;
    private final int ubatch;

    private LoadOptions(Builder b) {
        if (b.threads < 1) throw new Qwen4jException("threads must be at least 1, got " + b.threads);
        if (b.contextLength < 1) throw new Qwen4jException("contextLength must be at least 1, got " + b.contextLength);
        if (b.ubatch < 1) throw new Qwen4jException("ubatch must be at least 1, got " + b.ubatch);
        threads = b.threads;
        contextLength = b.contextLength;
        kvCache = java.util.Objects.requireNonNull(b.kvCache, "kvCache");
        kernels = java.util.Objects.requireNonNull(b.kernels, "kernels");
        ubatch = b.ubatch;
    }

    /** All processors, 4096 tokens of context, float32 KV cache, SIMD kernels. */
    public static LoadOptions defaults() { return builder().build(); }

    /** A builder starting from the defaults. */
    public static Builder builder() { return new Builder(); }

    /** Worker threads for the matrix products and attention. */
    public int threads() { return threads; }

    /** Context length in tokens (capped at the model's own). */
    public int contextLength() { return contextLength; }

    /** KV cache element type. */
    public KvCacheType kvCache() { return kvCache; }

    /** Kernel implementation. */
    public Kernels kernels() { return kernels; }

    /** Prompt tokens per prefill block (one matrix-matrix step; "batch" would mean sequences). */
    public int ubatch() { return ubatch; }

    /** Builds {@link LoadOptions}; setters return the builder. */
    public static final class Builder {
        private int threads = Runtime.getRuntime().availableProcessors();
        private int contextLength = 4096;
        private KvCacheType kvCache = KvCacheType.F32;
        private Kernels kernels = Kernels.SIMD;
        private int ubatch = qwen4j.model.Options.DEFAULT_UBATCH;

        private Builder() {}

        /** See {@link LoadOptions#threads()}. */
        public Builder threads(int n) { threads = n; return this; }

        /** See {@link LoadOptions#contextLength()}. */
        public Builder contextLength(int n) { contextLength = n; return this; }

        /** See {@link LoadOptions#kvCache()}. */
        public Builder kvCache(KvCacheType t) { kvCache = t; return this; }

        /** See {@link LoadOptions#kernels()}. */
        public Builder kernels(Kernels k) { kernels = k; return this; }

        /** See {@link LoadOptions#ubatch()}. */
        public Builder ubatch(int n) { ubatch = n; return this; }

        /** The options; throws {@link Qwen4jException} naming a value out of range. */
        public LoadOptions build() { return new LoadOptions(this); }
    }
}
