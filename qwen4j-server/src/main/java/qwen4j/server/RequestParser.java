package qwen4j.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import qwen4j.Qwen4jException;
import qwen4j.api.ChatMessage;
import qwen4j.api.GenerationParams;
import qwen4j.api.Tool;
import qwen4j.api.ToolCall;

/**
 * Turns a request body (arbitrary bytes from the network) into a validated {@link Job} or an
 * {@link ApiError} (4xx, OpenAI's shape). Every limit a request can hit is checked here, before
 * any slot is taken: body size (413), JSON and UTF-8 well-formedness, field types and ranges,
 * the context length, and the per-request token limit. Stateless apart from its inputs: the
 * fuzz target {@code RequestFuzzTest} drives it without a model.
 */
final class RequestParser {
    private final ObjectMapper json;
    private final RequestModel model;
    private final GenerationParams defaults;
    private final String modelId;
    private final int contextLength, maxTokensPerRequest, maxBodyBytes;
    private final boolean parseSpecialInMessages;

    /**
     * @param defaults               the model's sampling settings, for requests that do not ask for greedy decoding
     * @param contextLength          tokens the model can hold (prompt + generation)
     * @param maxTokensPerRequest    the most tokens one request may generate
     * @param parseSpecialInMessages whether special-token text in message content acts as special tokens
     */
    RequestParser(ObjectMapper json, RequestModel model, GenerationParams defaults, String modelId, int contextLength,
                  int maxTokensPerRequest, int maxBodyBytes, boolean parseSpecialInMessages) {
        this.json = json;
        this.model = model;
        this.defaults = defaults;
        this.modelId = modelId;
        this.contextLength = contextLength;
        this.maxTokensPerRequest = maxTokensPerRequest;
        this.maxBodyBytes = maxBodyBytes;
        this.parseSpecialInMessages = parseSpecialInMessages;
    }

    /** A JSON mapper for request bodies: one value, nothing after it. */
    static ObjectMapper mapper() {
        return new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    /** Parses and validates a whole request to {@code path} (/v1/chat/completions or /v1/completions). */
    Job parse(String path, byte[] body) {
        JsonNode n = body(body);
        Job job = path.equals("/v1/completions") ? parseCompletion(n) : parseChat(n);
        checkLength(job);
        return job;
    }

    /** The body as a JSON object; 413 past the limit, 400 for anything that is not one well-formed object. */
    JsonNode body(byte[] body) {
        if (body.length > maxBodyBytes) throw tooLarge(maxBodyBytes);
        if (body.length == 0) throw ApiError.invalid("the request body is empty: send a JSON object", null);
        // JSON is UTF-8 (RFC 8259): decode strictly, then parse the text. Given bytes, Jackson guesses
        // UTF-16/32 from the first four (so a UTF-16 body was accepted) and fails on some with a
        // CharConversionException, an IOException rather than a JacksonException.
        String text;
        try {
            text = java.nio.charset.StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(body)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw ApiError.invalid("the request body is not valid UTF-8 (at byte " + badUtf8At(body) + ")", null,
                    "invalid_utf8");
        }
        JsonNode n;
        try {
            n = json.readTree(text);
        } catch (JacksonException e) {
            throw ApiError.invalid("the request body is not valid JSON: " + Qwen4jException.shown(e.getOriginalMessage()), null);
        }
        if (n == null || !n.isObject()) throw ApiError.invalid("the request body must be a JSON object", null);
        return n;
    }

    /** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
    private static int badUtf8At(byte[] b) {
        java.nio.charset.CharsetDecoder d = java.nio.charset.StandardCharsets.UTF_8.newDecoder();
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(b);
        java.nio.CharBuffer out = java.nio.CharBuffer.allocate(b.length + 1);
        java.nio.charset.CoderResult r = d.decode(in, out, true);
        return r.isError() ? in.position() : b.length;
    }

    static ApiError tooLarge(int limit) {
        return new ApiError(413, "invalid_request_error", "the request body is larger than the limit of " + limit
                + " bytes (--max-body)", null, "request_too_large");
    }

    /** Prompt and requested tokens must fit the context and the per-request limit (400 otherwise). */
    void checkLength(Job job) {
        int p = job.prompt().length;
        if (p >= contextLength) {
            throw ApiError.invalid("this model's context is " + contextLength + " tokens, but the prompt has " + p
                    + " tokens (no room to generate); shorten the prompt or start the server with a larger --ctx",
                    job.chat() ? "messages" : "prompt", "context_length_exceeded");
        }
        if (job.explicitMax() && job.maxTokens() > maxTokensPerRequest) {
            throw ApiError.invalid("max_tokens " + job.maxTokens() + " exceeds limit max-tokens=" + maxTokensPerRequest
                    + " (--max-tokens)", "max_tokens", "max_tokens_exceeded");
        }
        if (job.explicitMax() && (long) p + job.maxTokens() > contextLength) {
            throw ApiError.invalid("this model's context is " + contextLength + " tokens, but " + ((long) p + job.maxTokens())
                    + " were requested (" + p + " in the prompt, " + job.maxTokens()
                    + " to generate); lower max_tokens or shorten the prompt", "max_tokens", "context_length_exceeded");
        }
    }

    Job parseChat(JsonNode body) {
        if (model.chatProblem() != null) throw new ApiError(500, "server_error", model.chatProblem(), null, "no_chat_template");
        JsonNode messages = body.get("messages");
        if (messages == null || messages.isNull()) throw ApiError.invalid("'messages' is required", "messages");
        if (!messages.isArray()) throw ApiError.invalid("'messages' must be an array, got " + kind(messages), "messages");
        if (messages.isEmpty()) throw ApiError.invalid("'messages' must not be empty", "messages");
        List<ChatMessage> msgs = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) msgs.add(message(messages.get(i), "messages[" + i + "]"));
        List<Tool> tools = null;
        JsonNode t = body.get("tools");
        if (t != null && !t.isNull()) {
            if (!t.isArray()) throw ApiError.invalid("'tools' must be an array, got " + kind(t), "tools");
            tools = new ArrayList<>();
            for (int i = 0; i < t.size(); i++) {
                JsonNode tool = t.get(i);
                if (!tool.isObject() || !tool.path("function").isObject() || !tool.path("function").path("name").isTextual()) {
                    throw ApiError.invalid("tools[" + i + "] must be {\"type\": \"function\", \"function\": {\"name\": ...}}",
                            "tools[" + i + "]");
                }
                JsonNode f = tool.get("function");
                JsonNode params = f.get("parameters");
                if (params != null && !params.isNull() && !params.isObject()) {
                    throw ApiError.invalid("tools[" + i + "].function.parameters must be a JSON Schema object", "tools[" + i + "]");
                }
                tools.add(new Tool(f.get("name").asText(), f.path("description").isTextual() ? f.get("description").asText() : null,
                        params == null || params.isNull() ? null : params.toString()));
            }
            if (tools.isEmpty()) tools = null;
            JsonNode choice = body.get("tool_choice");
            if (choice != null && choice.isTextual() && choice.asText().equals("none")) tools = null;
        }
        int[] prompt;
        try {
            prompt = model.chat(msgs, tools, parseSpecialInMessages);
        } catch (Qwen4jException e) {
            throw ApiError.invalid("could not apply the chat template: " + e.getMessage(), "messages");
        }
        int logprobs = -1;
        if (Boolean.TRUE.equals(optBool(body, "logprobs"))) {
            Integer top = optInt(body, "top_logprobs", 0, 20);
            logprobs = top == null ? 0 : top;
        } else if (body.hasNonNull("top_logprobs")) {
            throw ApiError.invalid("'top_logprobs' needs 'logprobs': true", "top_logprobs");
        }
        Job job = common(body, true, prompt, tools != null, logprobs, false);
        return StructuredOutput.withFormat(job, body, tools == null ? null : t, model);
    }

    private ChatMessage message(JsonNode m, String where) {
        if (!m.isObject()) throw ApiError.invalid(where + " must be an object, got " + kind(m), where);
        JsonNode roleNode = m.get("role");
        if (roleNode == null || !roleNode.isTextual()) throw ApiError.invalid(where + ".role must be a string", where + ".role");
        String role = roleNode.asText();
        switch (role) {
            case "system", "user", "assistant", "tool" -> { }
            case "developer" -> role = "system";
            default -> throw ApiError.invalid(where + ".role '" + Qwen4jException.shown(role)
                    + "' is not one of system, developer, user, assistant, tool", where + ".role");
        }
        JsonNode content = m.get("content");
        String text;
        if (content == null || content.isNull()) {
            if (!role.equals("assistant")) throw ApiError.invalid(where + ".content is required", where + ".content");
            text = null;
        } else if (content.isTextual()) {
            text = content.asText();
        } else if (content.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < content.size(); i++) {
                JsonNode part = content.get(i);
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiError.invalid(where + ".content[" + i + "]: only {\"type\": \"text\", \"text\": ...} parts are supported",
                            where + ".content");
                }
                sb.append(part.get("text").asText());
            }
            text = sb.toString();
        } else {
            throw ApiError.invalid(where + ".content must be a string or an array of text parts, got " + kind(content),
                    where + ".content");
        }
        JsonNode calls = m.get("tool_calls");
        List<ToolCall> list = new ArrayList<>();
        if (role.equals("assistant") && calls != null && !calls.isNull()) {
            if (!calls.isArray()) throw ApiError.invalid(where + ".tool_calls must be an array", where + ".tool_calls");
            for (JsonNode c : calls) {
                JsonNode f = c.path("function");
                if (!f.path("name").isTextual()) {
                    throw ApiError.invalid(where + ".tool_calls: each needs function.name", where + ".tool_calls");
                }
                JsonNode args = f.get("arguments");
                // a JSON text is shown as its JSON; anything else as the text it is
                String a = args == null || args.isNull() ? "{}" : args.isTextual() ? args.asText() : args.toString();
                list.add(new ToolCall(null, f.get("name").asText(), a));
            }
        } else if (text == null) {
            throw ApiError.invalid(where + ".content is required", where + ".content");
        }
        String name = m.hasNonNull("name") && m.get("name").isTextual() ? m.get("name").asText() : null;
        return new ChatMessage(role, text == null ? "" : text, list, name);
    }

    Job parseCompletion(JsonNode body) {
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) throw ApiError.invalid("'prompt' is required", "prompt");
        int[] prompt;
        int vocabLimit = model.vocabSize();
        if (p.isTextual()) {
            prompt = model.encode(p.asText());
        } else if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            prompt = model.encode(p.get(0).asText());
        } else if (p.isArray() && !p.isEmpty() && p.get(0).isIntegralNumber()) {
            prompt = new int[p.size()];
            for (int i = 0; i < p.size(); i++) {
                JsonNode v = p.get(i);
                if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0 || v.asInt() >= vocabLimit) {
                    throw ApiError.invalid("prompt[" + i + "] is not a token id (0.." + (vocabLimit - 1) + ")", "prompt");
                }
                prompt[i] = v.asInt();
            }
        } else if (p.isArray() && p.size() > 1) {
            throw ApiError.invalid("only one prompt per request is supported", "prompt");
        } else {
            throw ApiError.invalid("'prompt' must be a string, a list of one string or a list of token ids, got " + kind(p),
                    "prompt");
        }
        if (prompt.length == 0) throw ApiError.invalid("'prompt' is empty", "prompt");
        Integer lp = optInt(body, "logprobs", 0, 20);
        Boolean echo = optBool(body, "echo");
        if (Boolean.TRUE.equals(echo)) throw ApiError.invalid("'echo' is not supported", "echo");
        Job job = common(body, false, prompt, false, lp == null ? -1 : lp, false);
        return StructuredOutput.withFormat(job, body, null, model);
    }

    private Job common(JsonNode body, boolean chat, int[] prompt, boolean tools, int logprobs, boolean echo) {
        String model = optString(body, "model");
        Integer n = optInt(body, "n", 1, Integer.MAX_VALUE);
        if (n != null && n != 1) throw ApiError.invalid("only n = 1 is supported", "n");
        Integer max = optInt(body, "max_completion_tokens", 1, Integer.MAX_VALUE);
        Integer max2 = optInt(body, "max_tokens", 1, Integer.MAX_VALUE);
        if (max == null) max = max2;
        boolean stream = Boolean.TRUE.equals(optBool(body, "stream"));
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) throw ApiError.invalid("'stream_options' must be an object", "stream_options");
            includeUsage = Boolean.TRUE.equals(optBool(so, "include_usage"));
        }
        List<String> stop = new ArrayList<>();
        JsonNode s = body.get("stop");
        if (s != null && !s.isNull()) {
            if (s.isTextual()) {
                stop.add(s.asText());
            } else if (s.isArray()) {
                for (JsonNode e : s) {
                    if (!e.isTextual()) throw ApiError.invalid("'stop' must be a string or a list of strings", "stop");
                    stop.add(e.asText());
                }
            } else {
                throw ApiError.invalid("'stop' must be a string or a list of strings, got " + kind(s), "stop");
            }
            if (stop.size() > 16) throw ApiError.invalid("at most 16 stop strings", "stop");
            if (stop.stream().anyMatch(String::isEmpty)) throw ApiError.invalid("a stop string may not be empty", "stop");
        }
        GenerationParams params = sampling(body);
        // without max_tokens a request generates to eos, the end of the context or the per-request limit
        return new Job(chat, model == null ? modelId : model, prompt, params, max == null ? maxTokensPerRequest : max,
                max != null, stop, stream, includeUsage, tools, logprobs, echo, null, List.of());
    }

    private GenerationParams sampling(JsonNode body) {
        Double temp = optNumber(body, "temperature", 0, 2);
        GenerationParams base = temp != null && temp == 0 ? GenerationParams.defaults() : defaults;
        GenerationParams.Builder s = base.toBuilder();
        if (temp != null) s.temperature(temp);
        Double topP = optNumber(body, "top_p", 0, 1);
        if (topP != null) {
            if (topP == 0) throw ApiError.invalid("'top_p' must be in (0, 1]", "top_p");
            s.topP(topP);
        }
        Integer topK = optInt(body, "top_k", -1, Integer.MAX_VALUE);
        if (topK != null) s.topK(Math.max(0, topK));
        Double minP = optNumber(body, "min_p", 0, 1);
        if (minP != null) s.minP(minP);
        Double rp = optNumber(body, "repetition_penalty", 0, 10);
        if (rp != null) {
            if (rp == 0) throw ApiError.invalid("'repetition_penalty' must be > 0", "repetition_penalty");
            s.repeatPenalty(rp);
            if (base.repeatLastN() == 0) s.repeatLastN(GenerationParams.defaults().repeatLastN());
        }
        Double pp = optNumber(body, "presence_penalty", -2, 2);
        if (pp != null) s.presencePenalty(pp);
        Double fp = optNumber(body, "frequency_penalty", -2, 2);
        if (fp != null) s.frequencyPenalty(fp);
        JsonNode seed = body.get("seed");
        if (seed != null && !seed.isNull()) {
            if (!seed.isIntegralNumber() || !seed.canConvertToLong()) {
                throw ApiError.invalid("'seed' must be an integer, got " + kind(seed), "seed");
            }
            s.seed(seed.asLong());
        } else {
            s.seed(System.nanoTime() ^ 0x5DEECE66DL);
        }
        try {
            return s.build();
        } catch (Qwen4jException e) {
            throw ApiError.invalid("bad sampling parameters: " + e.getMessage(), null);
        }
    }

    private static String kind(JsonNode n) {
        if (n.isTextual()) return "a string";
        if (n.isNumber()) return "a number";
        if (n.isBoolean()) return "a boolean";
        if (n.isArray()) return "an array";
        if (n.isObject()) return "an object";
        return "null";
    }

    private static Double optNumber(JsonNode body, String name, double min, double max) {
        JsonNode n = body.get(name);
        if (n == null || n.isNull()) return null;
        if (!n.isNumber()) throw ApiError.invalid("'" + name + "' must be a number, got " + kind(n), name);
        double v = n.doubleValue();
        if (!(v >= min && v <= max)) throw ApiError.invalid("'" + name + "' must be in [" + min + ", " + max + "], got " + v, name);
        return v;
    }

    private static Integer optInt(JsonNode body, String name, int min, int max) {
        JsonNode n = body.get(name);
        if (n == null || n.isNull()) return null;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw ApiError.invalid("'" + name + "' must be an integer, got " + kind(n), name);
        }
        int v = n.asInt();
        if (v < min || v > max) throw ApiError.invalid("'" + name + "' must be at least " + min
                + (max == Integer.MAX_VALUE ? "" : " and at most " + max) + ", got " + v, name);
        return v;
    }

    private static Boolean optBool(JsonNode body, String name) {
        JsonNode n = body.get(name);
        if (n == null || n.isNull()) return null;
        if (!n.isBoolean()) throw ApiError.invalid("'" + name + "' must be a boolean, got " + kind(n), name);
        return n.asBoolean();
    }

    private static String optString(JsonNode body, String name) {
        JsonNode n = body.get(name);
        if (n == null || n.isNull()) return null;
        if (!n.isTextual()) throw ApiError.invalid("'" + name + "' must be a string, got " + kind(n), name);
        return n.asText();
    }
}
