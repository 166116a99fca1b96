package qwen4j.cli;

import java.util.List;
import picocli.CommandLine.Option;
import qwen4j.api.GenerationParams;

/** Sampling flags shared by generate and chat (and later the server); null = not given. */
final class SamplingOptions {
    @Option(names = "--temp", paramLabel = "T",
            description = "Temperature; 0 = greedy. Giving T > 0 turns sampling on (other stages from the model's defaults).")
    Float temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "Keep the K most likely tokens (0 = off).")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus: keep the smallest set with probability >= P (1 = off).")
    Float topP;

    @Option(names = "--min-p", paramLabel = "P", description = "Keep tokens with probability >= P x the top one (0 = off).")
    Float minP;

    @Option(names = "--repeat-penalty", paramLabel = "X", description = "Repetition penalty over the last --repeat-last-n tokens (1 = off).")
    Float repeatPenalty;

    @Option(names = "--repeat-last-n", paramLabel = "N", description = "Tokens the penalties look back over (default 64 for flags, the whole context for generation_config; -1 = context, 0 = off).")
    Integer repeatLastN;

    @Option(names = "--presence-penalty", paramLabel = "X", description = "Subtract X from every token seen in the window (0 = off).")
    Float presencePenalty;

    @Option(names = "--frequency-penalty", paramLabel = "X", description = "Subtract X per occurrence in the window (0 = off).")
    Float frequencyPenalty;

    @Option(names = "--seed", paramLabel = "N", description = "RNG seed (default: random, printed); same seed + prompt = same output.")
    Long seed;

    @Option(names = "--stop", paramLabel = "STR", description = "Stop before this text (repeatable); it is not printed.")
    List<String> stop;

    /**
     * The sampling to use: {@code modelDefaults} when {@code sampleByDefault} or {@code --temp} > 0 was given,
     * greedy otherwise; every flag given overrides.
     */
    GenerationParams resolve(GenerationParams modelDefaults, boolean sampleByDefault) {
        boolean sample = temperature != null ? temperature > 0 : sampleByDefault;
        GenerationParams.Builder s = (sample ? modelDefaults : GenerationParams.defaults()).toBuilder();
        if (temperature != null) s.temperature(temperature);
        if (topK != null) s.topK(topK);
        if (topP != null) s.topP(topP);
        if (minP != null) s.minP(minP);
        if (repeatPenalty != null) s.repeatPenalty(repeatPenalty);
        if (presencePenalty != null) s.presencePenalty(presencePenalty);
        if (frequencyPenalty != null) s.frequencyPenalty(frequencyPenalty);
        // a penalty given as a flag looks back 64 tokens, whatever the base (greedy, generation_config
        // with its whole-context window, llama.cpp's): --temp must not change the window
        boolean penaltyFlag = repeatPenalty != null || presencePenalty != null || frequencyPenalty != null;
        if (repeatLastN != null) s.repeatLastN(repeatLastN);
        else if (penaltyFlag) s.repeatLastN(DEFAULT_WINDOW);
        s.seed(seed != null ? seed : System.nanoTime() ^ 0x5DEECE66DL);
        return s.build();
    }

    /** The penalty window of greedy decoding and of penalty flags. */
    private static final int DEFAULT_WINDOW = GenerationParams.defaults().repeatLastN();

    List<String> stopStrings() { return stop == null ? List.of() : stop; }

    /** The same flags, to override per prompt (--batch-file lines). */
    SamplingOptions copy() {
        SamplingOptions c = new SamplingOptions();
        c.temperature = temperature;
        c.topK = topK;
        c.topP = topP;
        c.minP = minP;
        c.repeatPenalty = repeatPenalty;
        c.repeatLastN = repeatLastN;
        c.presencePenalty = presencePenalty;
        c.frequencyPenalty = frequencyPenalty;
        c.seed = seed;
        c.stop = stop;
        return c;
    }
}
