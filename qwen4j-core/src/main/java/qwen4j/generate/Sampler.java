package qwen4j.generate;

import java.util.ArrayList;
import java.util.List;

/**
 * Picks the next token from logits with a llama.cpp-like chain: penalties, top-k, top-p, min-p,
 * temperature, then a seeded draw; temperature 0 is greedy (after penalties, if any). Only ids below
 * {@code vocabLimit} are ever picked (padding rows of the embedding never are). All buffers are allocated
 * once; {@link #sample} allocates nothing. Not thread-safe: one per generation stream.
 */
public final class Sampler {
    private final SamplerSettings settings;
    private final int vocabLimit;
    private final Candidates candidates;
    private final SamplerStage.Penalties penalties;
    private final SamplerStage[] chain;
    private long rngState;

    /** {@code contextSize} bounds the penalty window when {@code repeatLastN} is -1. */
    public Sampler(SamplerSettings settings, int vocabLimit, int contextSize) {
        this.settings = settings.validate();
        this.vocabLimit = vocabLimit;
        this.candidates = new Candidates(vocabLimit);
        int lastN = settings.repeatLastN() < 0 ? contextSize : settings.repeatLastN();
        this.penalties = settings.hasPenalties()
                ? new SamplerStage.Penalties(settings.repeatPenalty(), settings.presencePenalty(),
                        settings.frequencyPenalty(), lastN, vocabLimit)
                : null;
        List<SamplerStage> stages = new ArrayList<>();
        if (penalties != null) stages.add(penalties);
        if (!settings.isGreedy()) {
            if (settings.topK() > 0) stages.add(new SamplerStage.TopK(settings.topK()));
            if (settings.topP() < 1f) stages.add(new SamplerStage.TopP(settings.topP()));
            if (settings.minP() > 0f) stages.add(new SamplerStage.MinP(settings.minP()));
            stages.add(new SamplerStage.Temperature(settings.temperature()));
        }
        this.chain = stages.toArray(SamplerStage[]::new);
        this.rngState = settings.seed();
    }

    public SamplerSettings settings() { return settings; }

    public List<SamplerStage> stages() { return List.of(chain); }

    /** Records a token (prompt or generated) for the penalty window. */
    public void accept(int id) {
        if (penalties != null) penalties.accept(id);
    }

    public void acceptAll(int[] ids) {
        if (penalties != null) for (int id : ids) penalties.accept(id);
    }

    /** Forgets the penalty window (a new conversation). */
    public void resetHistory() {
        if (penalties != null) penalties.reset();
    }

    /** Picks the next id; does not {@link #accept} it. */
    public int sample(float[] logits) {
        if (chain.length == 0) return Greedy.argmax(logits, vocabLimit);
        apply(logits);
        Candidates c = candidates;
        if (settings.isGreedy()) {
            int best = 0;
            for (int i = 1; i < c.size; i++) if (c.logits[i] > c.logits[best]) best = i;
            return c.ids[best];
        }
        c.softmax();
        double r = nextDouble();
        double cum = 0;
        for (int i = 0; i < c.size; i++) {
            cum += c.probs[i];
            if (r < cum) return c.ids[i];
        }
        // rounding: the sum fell just short of r; take the last candidate that has any probability
        // (a constraint leaves -inf logits, whose probability is exactly 0, at the end)
        for (int i = c.size - 1; i > 0; i--) if (c.probs[i] > 0f) return c.ids[i];
        return c.ids[0];
    }

    /** Runs the chain without drawing; {@link #candidates()} then shows what survived (tests, logprobs). */
    public Candidates apply(float[] logits) {
        // penalties index candidates by id, so they need every id; otherwise masked ids can go
        if (penalties == null) candidates.resetFinite(logits, Math.min(vocabLimit, logits.length));
        else candidates.reset(logits, Math.min(vocabLimit, logits.length));
        for (SamplerStage s : chain) s.apply(candidates);
        return candidates;
    }

    public Candidates candidates() { return candidates; }

    /** Uniform in [0, 1): SplitMix64, fully determined by the seed. */
    double nextDouble() {
        long z = (rngState += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }
}
