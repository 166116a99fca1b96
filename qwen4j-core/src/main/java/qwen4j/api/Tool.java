package qwen4j.api;

import java.util.Objects;

/**
 * A function the model may call, shown to it by the chat template.
 *
 * @param name        the function name
 * @param description what it does (may be null)
 * @param parameters  a JSON schema of its arguments as JSON text (null: an object without properties)
 */
public record Tool(String name, String description, String parameters) {
    /** Checks that the name is present. */
    public Tool {
        Objects.requireNonNull(name, "name");
    }
}
