package qwen4j.generate;

/**
 * Sampling parameters, llama.cpp semantics. {@code temperature <= 0} is greedy (after penalties).
 *
 * @param temperature      logits are divided by it before the final draw; 0 = greedy
 * @param topK             keep the k most likely ids (0 = off)
 * @param topP             keep the smallest most-likely prefix whose probability reaches p (1 = off)
 * @param minP             keep ids with probability >= minP * the top probability (0 = off)
 * @param repeatPenalty    llama.cpp/CTRL repetition penalty over the last {@code repeatLastN} tokens (1 = off)
 * @param repeatLastN      how many recent tokens (prompt included) penalties look at; -1 = the whole context, 0 = off
 * @param presencePenalty  subtracted once from the logit of every id seen in that window (0 = off)
 * @param frequencyPenalty subtracted per occurrence in that window (0 = off)
 * @param seed             RNG seed; same seed + prompt + settings = same output
 */
public record SamplerSettings(float temperature, int topK, float topP, float minP, float repeatPenalty,
                              int repeatLastN, float presencePenalty, float frequencyPenalty, long seed) {

    public static final int DEFAULT_REPEAT_LAST_N = 64;

    /** Greedy decoding, no penalties: what {@code generate} does without sampling flags. */
    public static SamplerSettings greedy() {
        return new SamplerSettings(0f, 0, 1f, 0f, 1f, DEFAULT_REPEAT_LAST_N, 0f, 0f, 0);
    }

    /** llama.cpp's defaults (for models that ship no generation_config.json). */
    public static SamplerSettings llamaCppDefaults() {
        return new SamplerSettings(0.8f, 40, 0.95f, 0.05f, 1f, DEFAULT_REPEAT_LAST_N, 0f, 0f, 0);
    }

    /**
     * Defaults from a model's generation_config.json, transformers' semantics: fields it leaves out take
     * transformers' defaults (temperature 1, top_k 50, top_p 1, repetition_penalty 1), do_sample false is
     * greedy, and the repetition penalty looks at the whole context (repeat-last-n -1) as transformers does.
     */
    public static SamplerSettings fromGenerationConfig(qwen4j.format.GenerationConfig g) {
        if (Boolean.FALSE.equals(g.doSample())) {
            return greedy().withRepeatPenalty(g.repetitionPenalty() == null ? 1f : g.repetitionPenalty().floatValue())
                    .withRepeatLastN(-1);
        }
        return new SamplerSettings(
                g.temperature() == null ? 1f : g.temperature().floatValue(),
                g.topK() == null ? 50 : g.topK(),
                g.topP() == null ? 1f : g.topP().floatValue(),
                g.minP() == null ? 0f : g.minP().floatValue(),
                g.repetitionPenalty() == null ? 1f : g.repetitionPenalty().floatValue(),
                -1, 0f, 0f, 0);
    }

    /** The model's defaults: its generation_config.json if it has one (HF folders), else llama.cpp's. */
    public static SamplerSettings forModel(qwen4j.format.LoadedModel files) {
        return files.hfFolder().flatMap(qwen4j.format.GenerationConfig::read)
                .map(SamplerSettings::fromGenerationConfig)
                .orElseGet(SamplerSettings::llamaCppDefaults);
    }

    /** The sampling part of the public API's parameters. */
    public static SamplerSettings of(qwen4j.api.GenerationParams p) {
        return new SamplerSettings(p.temperature(), p.topK(), p.topP(), p.minP(), p.repeatPenalty(), p.repeatLastN(),
                p.presencePenalty(), p.frequencyPenalty(), p.seed());
    }

    /** These settings as the public API's parameters (the other fields at their defaults). */
    public qwen4j.api.GenerationParams toParams() {
        return qwen4j.api.GenerationParams.builder().temperature(temperature).topK(topK).topP(topP).minP(minP)
                .repeatPenalty(repeatPenalty).repeatLastN(repeatLastN).presencePenalty(presencePenalty)
                .frequencyPenalty(frequencyPenalty).seed(seed).build();
    }

    public boolean isGreedy() { return !(temperature > 0); }

    public boolean hasPenalties() {
        return repeatLastN != 0 && (repeatPenalty != 1f || presencePenalty != 0f || frequencyPenalty != 0f);
    }

    public SamplerSettings withTemperature(float v) { return new SamplerSettings(v, topK, topP, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty, seed); }

    public SamplerSettings withTopK(int v) { return new SamplerSettings(temperature, v, topP, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty, seed); }

    public SamplerSettings withTopP(float v) { return new SamplerSettings(temperature, topK, v, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty, seed); }

    public SamplerSettings withMinP(float v) { return new SamplerSettings(temperature, topK, topP, v, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty, seed); }

    public SamplerSettings withRepeatPenalty(float v) { return new SamplerSettings(temperature, topK, topP, minP, v, repeatLastN, presencePenalty, frequencyPenalty, seed); }

    public SamplerSettings withRepeatLastN(int v) { return new SamplerSettings(temperature, topK, topP, minP, repeatPenalty, v, presencePenalty, frequencyPenalty, seed); }

    public SamplerSettings withPresencePenalty(float v) { return new SamplerSettings(temperature, topK, topP, minP, repeatPenalty, repeatLastN, v, frequencyPenalty, seed); }

    public SamplerSettings withFrequencyPenalty(float v) { return new SamplerSettings(temperature, topK, topP, minP, repeatPenalty, repeatLastN, presencePenalty, v, seed); }

    public SamplerSettings withSeed(long v) { return new SamplerSettings(temperature, topK, topP, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty, v); }

    /** Checks ranges; throws {@link qwen4j.Qwen4jException} with the flag name on a bad value. */
    public SamplerSettings validate() {
        check(!(temperature < 0) && Float.isFinite(temperature), "--temp must be >= 0, got " + temperature);
        check(topK >= 0, "--top-k must be >= 0, got " + topK);
        check(topP > 0 && topP <= 1, "--top-p must be in (0, 1], got " + topP);
        check(minP >= 0 && minP <= 1, "--min-p must be in [0, 1], got " + minP);
        check(repeatPenalty > 0 && Float.isFinite(repeatPenalty), "--repeat-penalty must be > 0, got " + repeatPenalty);
        check(repeatLastN >= -1, "--repeat-last-n must be -1 or more, got " + repeatLastN);
        check(Float.isFinite(presencePenalty), "--presence-penalty must be finite");
        check(Float.isFinite(frequencyPenalty), "--frequency-penalty must be finite");
        return this;
    }

    private static void check(boolean ok, String message) {
        if (!ok) throw new qwen4j.Qwen4jException(message);
    }

    @Override
    public String toString() {
        if (isGreedy()) {
            return hasPenalties() ? String.format("greedy, repeat-penalty %.2f/%d, presence %.2f, frequency %.2f",
                    repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty) : "greedy";
        }
        return String.format("temp %.2f, top-k %d, top-p %.2f, min-p %.2f, repeat-penalty %.2f/%d, presence %.2f, frequency %.2f, seed %d",
                temperature, topK, topP, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty, seed);
    }
}
