package qwen4j.api;

import java.util.List;
import java.util.Objects;

/**
 * One message of a conversation.
 *
 * @param role      "system", "user", "assistant" or "tool"
 * @param content   its text (empty for an assistant message that only calls tools)
 * @param toolCalls for an assistant message: the tools it called (empty otherwise)
 * @param name      for a tool message: the tool's name (may be null; Qwen's template does not show it)
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls, String name) {
    /** Checks the role and copies the list. */
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        content = content == null ? "" : content;
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    /** A system message. */
    public static ChatMessage system(String text) { return new ChatMessage("system", text, List.of(), null); }

    /** A user message. */
    public static ChatMessage user(String text) { return new ChatMessage("user", text, List.of(), null); }

    /** An assistant answer. */
    public static ChatMessage assistant(String text) { return new ChatMessage("assistant", text, List.of(), null); }

    /** An assistant turn that called tools (text may be empty). */
    public static ChatMessage assistant(String text, List<ToolCall> calls) {
        return new ChatMessage("assistant", text, calls, null);
    }

    /** The result of a tool call, as text. */
    public static ChatMessage tool(String name, String result) { return new ChatMessage("tool", result, List.of(), name); }
}
