package qwen4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import qwen4j.Qwen4jException;
import qwen4j.api.ResponseFormat;
import qwen4j.generate.constraint.JsonSchemaToGbnf;

/**
 * The request fields that constrain the output: OpenAI's {@code response_format} ({@code json_object},
 * {@code json_schema} with {@code strict}) and {@code tool_choice} ({@code required} or a named function:
 * the answer is then exactly one Qwen tool call), and llama.cpp's {@code grammar} (GBNF) and
 * {@code json_schema}. At most one may constrain a request; any problem is a 400 naming the field.
 */
final class StructuredOutput {
    private StructuredOutput() {}

    /** The constraint a request asks for, or null; {@code tools} is the request's tool list (null: none). */
    static Job withFormat(Job job, JsonNode body, JsonNode tools, RequestModel model) {
        List<String> given = new ArrayList<>();
        JsonNode rf = body.get("response_format");
        String rfType = null;
        if (rf != null && !rf.isNull()) {
            if (!rf.isObject() || !rf.path("type").isTextual()) {
                throw ApiError.invalid("'response_format' must be an object with a 'type'", "response_format");
            }
            rfType = rf.get("type").asText();
            switch (rfType) {
                case "text" -> rfType = null;
                case "json_object", "json_schema" -> given.add("response_format");
                default -> throw ApiError.invalid("response_format.type '" + Qwen4jException.shown(rfType)
                        + "' is not one of text, json_object, json_schema", "response_format.type");
            }
        }
        JsonNode grammar = body.get("grammar");
        if (grammar != null && !grammar.isNull()) {
            if (!grammar.isTextual()) throw ApiError.invalid("'grammar' must be a string (GBNF)", "grammar");
            given.add("grammar");
        }
        JsonNode schema = body.get("json_schema");
        if (schema != null && !schema.isNull()) {
            if (!schema.isObject() && !schema.isBoolean()) throw ApiError.invalid("'json_schema' must be a JSON Schema object", "json_schema");
            given.add("json_schema");
        }
        String forced = forcedTool(body.get("tool_choice"), tools);
        if (forced != null) given.add("tool_choice");
        if (given.size() > 1) {
            throw ApiError.invalid("only one of " + String.join(", ", given) + " may constrain the output", given.get(1));
        }
        if (given.isEmpty()) return job;
        String field = given.get(0);
        ResponseFormat format = rfType != null && rfType.equals("json_schema") ? responseSchema(rf) : null;
        try {
            format = switch (field) {
                case "grammar" -> ResponseFormat.grammar(grammar.asText());
                case "json_schema" -> ResponseFormat.jsonSchema(schema.toString());
                case "tool_choice" -> ResponseFormat.grammar(toolCallGrammar(tools, forced));
                default -> format != null ? format : ResponseFormat.jsonObject();
            };
            return job.withFormat(format, model.compile(format));
        } catch (Qwen4jException e) {
            throw ApiError.invalid(field + ": " + e.getMessage(), field, "invalid_" + field);
        } catch (StackOverflowError e) {
            throw ApiError.invalid(field + ": nested too deeply", field, "invalid_" + field);
        }
    }

    private static ResponseFormat responseSchema(JsonNode rf) {
        JsonNode js = rf.get("json_schema");
        if (js == null || !js.isObject()) {
            throw ApiError.invalid("response_format.json_schema must be an object {\"name\": ..., \"schema\": {...}}",
                    "response_format.json_schema");
        }
        JsonNode schema = js.get("schema");
        if (schema == null || schema.isNull()) schema = com.fasterxml.jackson.databind.node.BooleanNode.TRUE;
        JsonNode strict = js.get("strict");
        if (strict != null && !strict.isNull() && !strict.isBoolean()) {
            throw ApiError.invalid("response_format.json_schema.strict must be a boolean", "response_format.json_schema.strict");
        }
        // strict unless explicitly false: an unsupported keyword is an error rather than silently unenforced
        return ResponseFormat.jsonSchema(schema.toString(), strict == null || strict.isNull() || strict.asBoolean());
    }

    /** The tool the output must call: a name, "" for any of them (required), null when not forced. */
    private static String forcedTool(JsonNode choice, JsonNode tools) {
        if (choice == null || choice.isNull()) return null;
        String forced;
        if (choice.isTextual()) {
            switch (choice.asText()) {
                case "none", "auto" -> { return null; }
                case "required" -> forced = "";
                default -> throw ApiError.invalid("tool_choice '" + Qwen4jException.shown(choice.asText())
                        + "' is not one of none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice");
            }
        } else if (choice.isObject() && choice.path("function").path("name").isTextual()) {
            forced = choice.get("function").get("name").asText();
        } else {
            throw ApiError.invalid("tool_choice must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}",
                    "tool_choice");
        }
        if (tools == null || !tools.isArray() || tools.isEmpty()) {
            throw ApiError.invalid("tool_choice '" + (forced.isEmpty() ? "required" : forced) + "' needs 'tools'", "tool_choice");
        }
        if (!forced.isEmpty()) {
            boolean found = false;
            for (JsonNode t : tools) found |= forced.equals(t.path("function").path("name").asText());
            if (!found) throw ApiError.invalid("tool_choice names '" + Qwen4jException.shown(forced) + "', which is not in 'tools'", "tool_choice");
        }
        return forced;
    }

    /** Qwen's tool-call block for the named tool (or any tool when {@code name} is empty), arguments per its schema. */
    static String toolCallGrammar(JsonNode tools, String name) {
        List<JsonSchemaToGbnf.Tool> chosen = new ArrayList<>();
        for (JsonNode t : tools) {
            JsonNode f = t.path("function");
            String n = f.path("name").asText();
            if (!name.isEmpty() && !name.equals(n)) continue;
            JsonNode params = f.get("parameters");
            boolean strict = !f.path("strict").isBoolean() || f.get("strict").asBoolean();
            chosen.add(new JsonSchemaToGbnf.Tool(n, params == null || params.isNull()
                    ? com.fasterxml.jackson.databind.node.BooleanNode.TRUE : params, strict));
        }
        return JsonSchemaToGbnf.toolCall(chosen);
    }
}
