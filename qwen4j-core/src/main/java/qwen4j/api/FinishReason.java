package qwen4j.api;

/** Why a generation ended. */
public enum FinishReason {
    /** The model wrote an end-of-sequence token, or a stop string appeared. */
    STOP,
    /** The token budget ({@link GenerationParams#maxTokens()}) or the end of the context was reached. */
    LENGTH,
    /** A chat answer ended with one or more tool calls ({@link ChatResult#toolCalls()}). */
    TOOL_CALLS,
    /** The handle was closed while generating. */
    CANCELLED
}
