package qwen4j.api;

import java.util.Objects;

/**
 * A function call the model asked for, written by Qwen as {@code <tool_call>{"name": ..., "arguments": {...}}</tool_call>}.
 *
 * @param id        an id to match the result to the call (Qwen's template does not show it; may be null)
 * @param name      the function name
 * @param arguments the arguments as a JSON object text, e.g. {@code {"location": "Paris"}}
 */
public record ToolCall(String id, String name, String arguments) {
    /** Checks that name and arguments are present. */
    public ToolCall {
        Objects.requireNonNull(name, "name");
        if (arguments == null || arguments.isBlank()) arguments = "{}";
    }
}
