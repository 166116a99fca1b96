package qwen4j.api;

/**
 * A generated token's log-probability (natural log, under the model's distribution before sampling settings,
 * after a response format's mask) and, when asked for, the most likely tokens at that step.
 *
 * @param id          the token chosen
 * @param logprob     its log-probability
 * @param topIds      the most likely tokens, most likely first ({@link GenerationParams#logprobs()} of them)
 * @param topLogprobs their log-probabilities
 */
public record TokenLogprob(int id, float logprob, int[] topIds, float[] topLogprobs) {}
