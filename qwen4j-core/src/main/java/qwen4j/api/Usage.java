package qwen4j.api;

/**
 * Token counts of one call.
 *
 * @param promptTokens     tokens of the prompt (for chat: the rendered conversation)
 * @param completionTokens tokens generated, the end-of-sequence token included
 * @param cachedTokens     prompt tokens whose keys and values came from the KV cache (an earlier call's
 *                         prompt or answer began the same way), so their prefill was skipped
 */
public record Usage(int promptTokens, int completionTokens, int cachedTokens) {
    /** Counts without cache use. */
    public Usage(int promptTokens, int completionTokens) { this(promptTokens, completionTokens, 0); }

    /** Prompt plus completion tokens. */
    public int totalTokens() { return promptTokens + completionTokens; }
}
