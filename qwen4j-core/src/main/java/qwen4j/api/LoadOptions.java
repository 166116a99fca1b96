package qwen4j.api;

import qwen4j.Qwen4jException;

/**
 * How to load a model: threads, context length, KV cache type, kernels, quantization on load. Immutable; build
 * with {@link #builder()}.
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

    /** A type float weights are quantized to on load. */
    public enum Quantization {
        /** 8-bit blocks of 32 (about 1.06 bytes a weight). */
        Q8_0,
        /** 4-bit blocks of 32 (about 0.56 bytes a weight). */
        Q4_0
    }

    /** How the prompt goes through the model. */
    public enum PromptMode {
        /** In blocks of {@link #ubatch()} tokens, as matrix-matrix products (the default). */
        BATCHED,
        /** One token at a time (slower; a reference for the batched path). */
        SEQUENTIAL
    }

    /** Precision of attention scores and softmax. */
    public enum AttentionPrecision {
        /** float32 (the default). */
        F32,
        /** Rounded to bfloat16, as bf16 frameworks compute it. */
        BF16
    }

    /** Receives the progress of quantizing on load: bytes done out of a total. */
    @FunctionalInterface
    public interface Progress {
        void update(long done, long total);
    }

    private final int threads;
    private final int contextLength;
    private final KvCacheType kvCache;
    private final Kernels kernels;
    private final int ubatch;
    private final Quantization quantize;
    private final Progress progress;
    private final PromptMode promptMode;
    private final AttentionPrecision attention;
    private final boolean hugePages;
    private final int parallel;

    private LoadOptions(Builder b) {
        if (b.threads < 1) throw new Qwen4jException("threads must be at least 1, got " + b.threads);
        if (b.contextLength < 1) throw new Qwen4jException("contextLength must be at least 1, got " + b.contextLength);
        if (b.ubatch < 1) throw new Qwen4jException("ubatch must be at least 1, got " + b.ubatch);
        if (b.parallel < 1) throw new Qwen4jException("parallel must be at least 1, got " + b.parallel);
        threads = b.threads;
        contextLength = b.contextLength;
        kvCache = java.util.Objects.requireNonNull(b.kvCache, "kvCache");
        kernels = java.util.Objects.requireNonNull(b.kernels, "kernels");
        ubatch = b.ubatch;
        quantize = b.quantize;
        progress = b.progress;
        promptMode = java.util.Objects.requireNonNull(b.promptMode, "promptMode");
        attention = java.util.Objects.requireNonNull(b.attention, "attentionPrecision");
        hugePages = b.hugePages;
        parallel = b.parallel;
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

    /** The type float matrices are quantized to on load, or null (the file's types are used as they are). */
    public Quantization quantize() { return quantize; }

    /** Told the progress of {@link #quantize()}; never called when nothing needs quantizing. Null: not told. */
    public Progress quantizeProgress() { return progress; }

    /** How the prompt goes through the model. */
    public PromptMode promptMode() { return promptMode; }

    /** Precision of attention scores and softmax. */
    public AttentionPrecision attentionPrecision() { return attention; }

    /**
     * Whether the weight matrices are copied once into 2 MB-page memory (Linux; elsewhere ordinary memory)
     * instead of being used in place from the file mapping: more memory and a slower load, but no TLB
     * misses on 4 KB pages and no weights evicted from the page cache under memory pressure.
     */
    public boolean hugePages() { return hugePages; }

    /**
     * Sequences decoded together, in one pass over the weights per step: calls made at the same time from
     * different threads share the model this way (up to this many at once; more wait their turn). Each holds
     * KV cache room for a whole context.
     */
    public int parallel() { return parallel; }

    /** Builds {@link LoadOptions}; setters return the builder. */
    public static final class Builder {
        private int threads = Runtime.getRuntime().availableProcessors();
        private int contextLength = 4096;
        private KvCacheType kvCache = KvCacheType.F32;
        private Kernels kernels = Kernels.SIMD;
        private int ubatch = qwen4j.model.Options.DEFAULT_UBATCH;
        private Quantization quantize;
        private Progress progress;
        private PromptMode promptMode = PromptMode.BATCHED;
        private AttentionPrecision attention = AttentionPrecision.F32;
        private boolean hugePages;
        private int parallel = 1;

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

        /** See {@link LoadOptions#quantize()}; null for none. */
        public Builder quantize(Quantization q) { quantize = q; return this; }

        /** See {@link LoadOptions#quantizeProgress()}. */
        public Builder quantizeProgress(Progress p) { progress = p; return this; }

        /** See {@link LoadOptions#promptMode()}. */
        public Builder promptMode(PromptMode m) { promptMode = m; return this; }

        /** See {@link LoadOptions#attentionPrecision()}. */
        public Builder attentionPrecision(AttentionPrecision a) { attention = a; return this; }

        /** See {@link LoadOptions#hugePages()}. */
        public Builder hugePages(boolean on) { hugePages = on; return this; }

        /** See {@link LoadOptions#parallel()}. */
        public Builder parallel(int n) { parallel = n; return this; }

        /** The options; throws {@link Qwen4jException} naming a value out of range. */
        public LoadOptions build() { return new LoadOptions(this); }
    }
}
