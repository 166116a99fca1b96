package qwen4j.api;

import java.util.List;

/**
 * The result of {@link Qwen#chat}.
 *
 * @param content      the answer's text; when it called tools, the text before the first call (trimmed)
 * @param toolCalls    the tool calls it made (empty: none)
 * @param rawText      everything the model wrote, {@code <tool_call>} blocks included
 * @param finishReason {@link FinishReason#TOOL_CALLS} when there are tool calls, else as for generate
 * @param usage        prompt (the rendered conversation) and completion token counts
 */
public record ChatResult(String content, List<ToolCall> toolCalls, String rawText, FinishReason finishReason, Usage usage) {
    /** Copies the list. */
    public ChatResult {
        toolCalls = List.copyOf(toolCalls);
    }

    /** Whether the model asked for tool calls. */
    public boolean hasToolCalls() { return !toolCalls.isEmpty(); }
}
