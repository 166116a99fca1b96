package qwen4j.format;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import qwen4j.Qwen4jException;

/**
 * The sampling fields of a Hugging Face {@code generation_config.json}; null where the file does not set
 * one. (eos ids are read by {@link HfConfig}.)
 */
public record GenerationConfig(Boolean doSample, Double temperature, Integer topK, Double topP, Double minP,
                               Double repetitionPenalty) {

    /** Reads {@code folder/generation_config.json}; empty when the folder has none. */
    public static Optional<GenerationConfig> read(Path folder) {
        Path file = folder.resolve(HfConfig.GENERATION_CONFIG);
        if (!Files.isRegularFile(file)) return Optional.empty();
        return Optional.of(parse(Json.readFile(file), file.toString()));
    }

    public static GenerationConfig parse(JsonNode root, String what) {
        if (!root.isObject()) throw new Qwen4jException(what + ": not a JSON object");
        return new GenerationConfig(
                bool(root, "do_sample", what),
                number(root, "temperature", what),
                root.hasNonNull("top_k") ? (Integer) number(root, "top_k", what).intValue() : null,
                number(root, "top_p", what),
                number(root, "min_p", what),
                number(root, "repetition_penalty", what));
    }

    private static Double number(JsonNode root, String field, String what) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) return null;
        if (!n.isNumber()) throw new Qwen4jException(what + ": " + field + " must be a number, got " + Json.show(n));
        return n.doubleValue();
    }

    private static Boolean bool(JsonNode root, String field, String what) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) return null;
        if (!n.isBoolean()) throw new Qwen4jException(what + ": " + field + " must be true or false, got " + Json.show(n));
        return n.booleanValue();
    }
}
