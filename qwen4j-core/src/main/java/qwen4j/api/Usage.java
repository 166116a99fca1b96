package qwen4j.api;

/**
 * Token counts of one call.
 *
 * @param promptTokens     tokens of the prompt (for chat: the rendered conversation)
 * @param completionTokens tokens generated, the end-of-sequence token included
 */
public record Usage(int promptTokens, int completionTokens) {
    /** Prompt plus completion tokens. */
    public int totalTokens() { return promptTokens + completionTokens; }
}
