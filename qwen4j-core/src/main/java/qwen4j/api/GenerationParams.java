package qwen4j.api;

import java.util.List;
import qwen4j.Qwen4jException;

/**
 * How to generate: token budget, sampling, stop strings and the output's format. Immutable; build with {@link #builder()}.
 * The defaults are greedy decoding (temperature 0) of at most 256 tokens, no stop strings.
 */
public final class GenerationParams {
    private final int maxTokens;
    private final float temperature;
    private final int topK;
    private final float topP;
    private final float minP;
    private final float repeatPenalty;
    private final int repeatLastN;
    private final float presencePenalty;
    private final float frequencyPenalty;
    private final long seed;
    private final List<String> stop;
    private final ResponseFormat responseFormat;
    private final int logprobs;

    private GenerationParams(Builder b) {
        maxTokens = b.maxTokens;
        temperature = b.temperature;
        topK = b.topK;
        topP = b.topP;
        minP = b.minP;
        repeatPenalty = b.repeatPenalty;
        repeatLastN = b.repeatLastN;
        presencePenalty = b.presencePenalty;
        frequencyPenalty = b.frequencyPenalty;
        seed = b.seed;
        stop = List.copyOf(b.stop);
        responseFormat = b.responseFormat;
        logprobs = b.logprobs;
        if (logprobs < -1 || logprobs > 20) throw new Qwen4jException("logprobs must be -1 (off) or 0..20, got " + logprobs);
        for (String s : stop) if (s.isEmpty()) throw new Qwen4jException("a stop string may not be empty");
        if (!(temperature >= 0) || !Float.isFinite(temperature)) throw new Qwen4jException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new Qwen4jException("topK must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new Qwen4jException("topP must be in (0, 1], got " + topP);
        if (!(minP >= 0 && minP <= 1)) throw new Qwen4jException("minP must be in [0, 1], got " + minP);
        if (!(repeatPenalty > 0) || !Float.isFinite(repeatPenalty)) throw new Qwen4jException("repeatPenalty must be > 0, got " + repeatPenalty);
        if (repeatLastN < -1) throw new Qwen4jException("repeatLastN must be -1 or more, got " + repeatLastN);
        if (!Float.isFinite(presencePenalty)) throw new Qwen4jException("presencePenalty must be finite");
        if (!Float.isFinite(frequencyPenalty)) throw new Qwen4jException("frequencyPenalty must be finite");
    }

    /** Greedy decoding of at most 256 tokens. */
    public static GenerationParams defaults() { return builder().build(); }

    /** A builder starting from the defaults. */
    public static Builder builder() { return new Builder(); }

    /** A builder starting from these values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.maxTokens = maxTokens;
        b.temperature = temperature;
        b.topK = topK;
        b.topP = topP;
        b.minP = minP;
        b.repeatPenalty = repeatPenalty;
        b.repeatLastN = repeatLastN;
        b.presencePenalty = presencePenalty;
        b.frequencyPenalty = frequencyPenalty;
        b.seed = seed;
        b.stop = stop;
        b.responseFormat = responseFormat;
        b.logprobs = logprobs;
        return b;
    }

    /** Most tokens to generate; negative: until end-of-sequence or the end of the context. */
    public int maxTokens() { return maxTokens; }

    /** Sampling temperature; 0 is greedy. */
    public float temperature() { return temperature; }

    /** Keep only the k most likely tokens (0: off). */
    public int topK() { return topK; }

    /** Nucleus sampling threshold (1: off). */
    public float topP() { return topP; }

    /** Keep tokens at least this times as likely as the best (0: off). */
    public float minP() { return minP; }

    /** Repetition penalty over the last {@link #repeatLastN()} tokens (1: off). */
    public float repeatPenalty() { return repeatPenalty; }

    /** How many recent tokens (prompt included) the penalties look at: -1 the whole context, 0 none (default 64). */
    public int repeatLastN() { return repeatLastN; }

    /** Subtracted from the logit of every token already seen (0: off). */
    public float presencePenalty() { return presencePenalty; }

    /** Subtracted per occurrence of a token already seen (0: off). */
    public float frequencyPenalty() { return frequencyPenalty; }

    /** Random seed: same seed, prompt and parameters give the same text. */
    public long seed() { return seed; }

    /** Strings that end generation; the text stops before the first one. */
    public List<String> stop() { return stop; }

    /** The language the output is held to (JSON, a JSON Schema, a grammar), or null: free text. */
    public ResponseFormat responseFormat() { return responseFormat; }

    /**
     * Log-probabilities of the generated tokens: -1 (the default) none; 0 each chosen token's; n (up to 20) also the
     * n most likely tokens at each step. They come in {@link Completion#logprobs()} and {@link TokenListener#onLogprob}.
     */
    public int logprobs() { return logprobs; }

    /** A one-line summary, e.g. {@code temp 0.70, top-k 20, ...} or {@code greedy}. */
    @Override
    public String toString() { return qwen4j.generate.SamplerSettings.of(this).toString(); }

    /** Builds {@link GenerationParams}; setters return the builder. */
    public static final class Builder {
        private int maxTokens = 256;
        private float temperature = 0f;
        private int topK = 0;
        private float topP = 1f;
        private float minP = 0f;
        private float repeatPenalty = 1f;
        private int repeatLastN = 64;
        private float presencePenalty = 0f;
        private float frequencyPenalty = 0f;
        private long seed = 0;
        private List<String> stop = List.of();
        private ResponseFormat responseFormat;
        private int logprobs = -1;

        private Builder() {}

        /** See {@link GenerationParams#maxTokens()}. */
        public Builder maxTokens(int n) { maxTokens = n; return this; }

        /** See {@link GenerationParams#temperature()}. */
        public Builder temperature(double t) { temperature = (float) t; return this; }

        /** See {@link GenerationParams#topK()}. */
        public Builder topK(int k) { topK = k; return this; }

        /** See {@link GenerationParams#topP()}. */
        public Builder topP(double p) { topP = (float) p; return this; }

        /** See {@link GenerationParams#minP()}. */
        public Builder minP(double p) { minP = (float) p; return this; }

        /** See {@link GenerationParams#repeatPenalty()}. */
        public Builder repeatPenalty(double p) { repeatPenalty = (float) p; return this; }

        /** See {@link GenerationParams#repeatLastN()}. */
        public Builder repeatLastN(int n) { repeatLastN = n; return this; }

        /** See {@link GenerationParams#presencePenalty()}. */
        public Builder presencePenalty(double p) { presencePenalty = (float) p; return this; }

        /** See {@link GenerationParams#frequencyPenalty()}. */
        public Builder frequencyPenalty(double p) { frequencyPenalty = (float) p; return this; }

        /** See {@link GenerationParams#seed()}. */
        public Builder seed(long s) { seed = s; return this; }

        /** See {@link GenerationParams#stop()}. */
        public Builder stop(List<String> strings) { stop = strings == null ? List.of() : List.copyOf(strings); return this; }

        /** See {@link GenerationParams#responseFormat()}; null for free text. */
        public Builder responseFormat(ResponseFormat format) { responseFormat = format; return this; }

        /** See {@link GenerationParams#logprobs()}. */
        public Builder logprobs(int topN) { logprobs = topN; return this; }

        /** The parameters; throws {@link Qwen4jException} naming a value out of range. */
        public GenerationParams build() { return new GenerationParams(this); }
    }
}
