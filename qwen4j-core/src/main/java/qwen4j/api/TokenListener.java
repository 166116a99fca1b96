package qwen4j.api;

/**
 * Receives a streamed generation: text deltas in order, then exactly one of {@link #onComplete} or
 * {@link #onError}. Called on the model's thread: a slow listener slows every generation of the handle. An exception
 * thrown from {@link #onToken} or {@link #cancelled} ends this generation with it (the others go on).
 */
@FunctionalInterface
public interface TokenListener {
    /** The next piece of text (complete characters; joined, the pieces are the final text). */
    void onToken(String delta);

    /**
     * A generated token's log-probability, when {@link GenerationParams#logprobs()} asks for them: told for every
     * token, before the text it is part of.
     */
    default void onLogprob(TokenLogprob logprob) {}

    /** Generation finished; {@code completion} holds the whole text and the counts. */
    default void onComplete(Completion completion) {}

    /** Generation failed; nothing more follows. */
    default void onError(Throwable error) {}

    /** Asked between steps: true stops the generation, which ends with {@link FinishReason#CANCELLED}. */
    default boolean cancelled() { return false; }
}
