package qwen4j.api;

/**
 * The result of {@link Qwen#generate}.
 *
 * @param text         the generated text (never contains a stop string)
 * @param tokenIds     the generated token ids (an end-of-sequence id included)
 * @param finishReason why generation ended
 * @param usage        prompt and completion token counts
 * @param stopReason   why, in more detail: {@code eos}, {@code stop} (a stop string), {@code length} (the token
 *                     budget), {@code context} (the context is full) or {@code cancelled}
 * @param timings      how long prefill and each decode step took
 * @param logprobs     each generated token's log-probability, when {@link GenerationParams#logprobs()} asked for
 *                     them (else empty)
 */
public record Completion(String text, int[] tokenIds, FinishReason finishReason, Usage usage, String stopReason,
                         Timings timings, java.util.List<TokenLogprob> logprobs) {
    /** Copies the list. */
    public Completion {
        logprobs = logprobs == null ? java.util.List.of() : java.util.List.copyOf(logprobs);
    }

    /** A completion without log-probabilities. */
    public Completion(String text, int[] tokenIds, FinishReason finishReason, Usage usage, String stopReason, Timings timings) {
        this(text, tokenIds, finishReason, usage, stopReason, timings, java.util.List.of());
    }

    /** A completion made by hand (a test double): the stop reason follows {@code finishReason}, no timings. */
    public Completion(String text, int[] tokenIds, FinishReason finishReason, Usage usage) {
        this(text, tokenIds, finishReason, usage, finishReason.name().toLowerCase(java.util.Locale.ROOT), Timings.NONE,
                java.util.List.of());
    }
}
