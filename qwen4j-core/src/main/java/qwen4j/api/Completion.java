package qwen4j.api;

/**
 * The result of {@link Qwen#generate}.
 *
 * @param text         the generated text (never contains a stop string)
 * @param tokenIds     the generated token ids (an end-of-sequence id included)
 * @param finishReason why generation ended
 * @param usage        prompt and completion token counts
 */
public record Completion(String text, int[] tokenIds, FinishReason finishReason, Usage usage) {}
