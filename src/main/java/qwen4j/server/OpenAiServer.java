package qwen4j.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import qwen4j.Qwen4jException;
import qwen4j.chat.ChatTemplate;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.Generator;
import qwen4j.generate.Sampler;
import qwen4j.generate.SamplerSettings;
import qwen4j.generate.Scoring;
import qwen4j.model.Session;
import qwen4j.tokenizer.Tokenizer;

/**
 * An OpenAI-compatible HTTP server over one {@link Engine}: {@code POST /v1/chat/completions},
 * {@code POST /v1/completions} (both streaming as server-sent events or not), {@code GET /v1/models},
 * {@code GET /health}. Built on the JDK's {@link HttpServer}; one virtual thread per request, generation in
 * {@link SlotPool} slots. Errors are answered in OpenAI's JSON shape, never as stack traces.
 */
public final class OpenAiServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(OpenAiServer.class.getName());

    /**
     * @param host         address to bind (127.0.0.1 by default)
     * @param port         0 = an ephemeral port
     * @param apiKey       nullable; when set every /v1 request needs {@code Authorization: Bearer KEY}
     * @param parallel     generation slots (each its own KV cache)
     * @param maxQueue     requests that may wait for a slot; more get 429
     * @param maxBodyBytes largest request body; more get 413
     * @param modelId      the id /v1/models lists
     */
    public record Config(String host, int port, String apiKey, int parallel, int maxQueue, int maxBodyBytes,
                         String modelId) {
        public static final int DEFAULT_MAX_BODY = 1 << 20;

        public Config {
            if (parallel < 1) throw new Qwen4jException("--parallel must be at least 1, got " + parallel);
            if (maxQueue < 0) throw new Qwen4jException("--queue must be 0 or more, got " + maxQueue);
            if (maxBodyBytes < 1) throw new Qwen4jException("--max-body must be at least 1, got " + maxBodyBytes);
            if (port < 0 || port > 65535) throw new Qwen4jException("--port must be in 0..65535, got " + port);
            if (apiKey != null && apiKey.isEmpty()) apiKey = null;
        }
    }

    private final Engine engine;
    private final Config config;
    private final ChatTemplate template;
    private final String templateProblem;
    private final SamplerSettings defaults;
    private final SlotPool pool;
    private final HttpServer http;
    private final ExecutorService executor;
    private final ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final AtomicLong ids = new AtomicLong();
    private final long created = System.currentTimeMillis() / 1000;

    private OpenAiServer(Engine engine, Config config) throws IOException {
        this.engine = engine;
        this.config = config;
        ChatTemplate t = null;
        String problem = null;
        try {
            t = ChatTemplate.forModel(engine.files(), engine.tokenizer());
        } catch (Qwen4jException e) {
            problem = e.getMessage();
        }
        this.template = t;
        this.templateProblem = problem;
        this.defaults = SamplerSettings.forModel(engine.files());
        this.pool = new SlotPool(engine, config.parallel(), config.maxQueue());
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 256);
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        http.setExecutor(executor);
        http.createContext("/", this::handle);
    }

    /** Binds and starts serving; {@link #close()} stops. */
    public static OpenAiServer start(Engine engine, Config config) throws IOException {
        OpenAiServer s = new OpenAiServer(engine, config);
        s.http.start();
        return s;
    }

    public int port() { return http.getAddress().getPort(); }

    public Config config() { return config; }

    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
        try {
            executor.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pool.close();
    }

    // ------------------------------------------------------------------ routing

    private void handle(HttpExchange ex) {
        Response r = new Response(ex);
        try {
            route(ex, r);
        } catch (ApiError e) {
            r.error(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            r.error(new ApiError(503, "server_error", "the server is shutting down", null, "unavailable"));
        } catch (Throwable e) {
            if (!r.gone) LOG.log(Level.WARNING, "request failed: " + ex.getRequestMethod() + " " + ex.getRequestURI(), e);
            r.error(new ApiError(500, "server_error", "internal error (" + e.getClass().getSimpleName() + ")", null, null));
        } finally {
            ex.close();
        }
    }

    private void route(HttpExchange ex, Response r) throws Exception {
        String path = ex.getRequestURI().getPath();
        if (path.length() > 1 && path.endsWith("/")) path = path.substring(0, path.length() - 1);
        String method = ex.getRequestMethod();
        switch (path) {
            case "/health" -> {
                requireMethod(method, "GET");
                ObjectNode h = json.createObjectNode();
                h.put("status", "ok");
                h.put("slots_total", pool.size());
                h.put("slots_idle", pool.idle());
                h.put("queued", pool.waiting());
                h.put("queue_limit", pool.maxQueue());
                r.json(200, h);
            }
            case "/v1/models" -> {
                requireMethod(method, "GET");
                authorize(ex);
                ObjectNode list = json.createObjectNode();
                list.put("object", "list");
                list.putArray("data").add(modelObject());
                r.json(200, list);
            }
            case "/v1/chat/completions" -> {
                requireMethod(method, "POST");
                authorize(ex);
                if (template == null) throw new ApiError(500, "server_error", templateProblem, null, "no_chat_template");
                Job job = parseChat(readBody(ex));
                run(job, r);
            }
            case "/v1/completions" -> {
                requireMethod(method, "POST");
                authorize(ex);
                Job job = parseCompletion(readBody(ex));
                run(job, r);
            }
            default -> {
                if (path.startsWith("/v1/models/")) {
                    requireMethod(method, "GET");
                    authorize(ex);
                    String id = path.substring("/v1/models/".length());
                    if (!id.equals(config.modelId())) {
                        throw new ApiError(404, "invalid_request_error", "the model '" + id + "' does not exist",
                                "model", "model_not_found");
                    }
                    r.json(200, modelObject());
                    return;
                }
                throw new ApiError(404, "invalid_request_error", "unknown path " + path
                        + " (this server has POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health)",
                        null, "not_found");
            }
        }
    }

    private ObjectNode modelObject() {
        ObjectNode m = json.createObjectNode();
        m.put("id", config.modelId());
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "qwen4j");
        return m;
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equalsIgnoreCase(allowed)) {
            throw new ApiError(405, "invalid_request_error", "method " + method + " is not allowed here; use " + allowed,
                    null, "method_not_allowed");
        }
    }

    private void authorize(HttpExchange ex) {
        if (config.apiKey() == null) return;
        String h = ex.getRequestHeaders().getFirst("Authorization");
        if (h == null) {
            throw new ApiError(401, "invalid_request_error",
                    "no API key given: send the header 'Authorization: Bearer YOUR_KEY'", null, "invalid_api_key");
        }
        String key = h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).strip() : "";
        if (!java.security.MessageDigest.isEqual(key.getBytes(StandardCharsets.UTF_8),
                config.apiKey().getBytes(StandardCharsets.UTF_8))) {
            throw new ApiError(401, "invalid_request_error", "incorrect API key provided", null, "invalid_api_key");
        }
    }

    private JsonNode readBody(HttpExchange ex) throws IOException {
        int limit = config.maxBodyBytes();
        String cl = ex.getRequestHeaders().getFirst("Content-Length");
        if (cl != null) {
            try {
                if (Long.parseLong(cl.strip()) > limit) throw tooLarge(limit);
            } catch (NumberFormatException ignored) {
                // the body is read and counted below
            }
        }
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readNBytes(limit + 1);
        }
        if (body.length > limit) throw tooLarge(limit);
        if (body.length == 0) throw ApiError.invalid("the request body is empty: send a JSON object", null);
        JsonNode n;
        try {
            n = json.readTree(body);
        } catch (JacksonException e) {
            throw ApiError.invalid("the request body is not valid JSON: " + e.getOriginalMessage(), null);
        }
        if (n == null || !n.isObject()) throw ApiError.invalid("the request body must be a JSON object", null);
        return n;
    }

    private static ApiError tooLarge(int limit) {
        return new ApiError(413, "invalid_request_error", "the request body is larger than the limit of " + limit
                + " bytes (--max-body)", null, "request_too_large");
    }

    // ------------------------------------------------------------------ requests

    /** A validated request: what to generate and how to answer. */
    record Job(boolean chat, String model, int[] prompt, SamplerSettings settings, int maxTokens, boolean explicitMax,
               List<String> stop, boolean stream, boolean includeUsage, boolean tools, int logprobs, boolean echo) {}

    private Job parseChat(JsonNode body) {
        JsonNode messages = body.get("messages");
        if (messages == null || messages.isNull()) throw ApiError.invalid("'messages' is required", "messages");
        if (!messages.isArray()) throw ApiError.invalid("'messages' must be an array, got " + kind(messages), "messages");
        if (messages.isEmpty()) throw ApiError.invalid("'messages' must not be empty", "messages");
        List<Object> msgs = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) msgs.add(message(messages.get(i), "messages[" + i + "]"));
        List<Object> tools = null;
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
                tools.add(json.convertValue(tool, Object.class));
            }
            if (tools.isEmpty()) tools = null;
            JsonNode choice = body.get("tool_choice");
            if (choice != null && choice.isTextual() && choice.asText().equals("none")) tools = null;
        }
        String text;
        try {
            text = template.render(msgs, tools, true);
        } catch (Qwen4jException e) {
            throw ApiError.invalid("could not apply the chat template: " + e.getMessage(), "messages");
        }
        int[] prompt = engine.tokenizer().encode(text, true);
        int logprobs = -1;
        if (Boolean.TRUE.equals(optBool(body, "logprobs"))) {
            Integer top = optInt(body, "top_logprobs", 0, 20);
            logprobs = top == null ? 0 : top;
        } else if (body.hasNonNull("top_logprobs")) {
            throw ApiError.invalid("'top_logprobs' needs 'logprobs': true", "top_logprobs");
        }
        return common(body, true, prompt, tools != null, logprobs, false);
    }

    private Map<String, Object> message(JsonNode m, String where) {
        if (!m.isObject()) throw ApiError.invalid(where + " must be an object, got " + kind(m), where);
        JsonNode roleNode = m.get("role");
        if (roleNode == null || !roleNode.isTextual()) throw ApiError.invalid(where + ".role must be a string", where + ".role");
        String role = roleNode.asText();
        switch (role) {
            case "system", "user", "assistant", "tool" -> { }
            case "developer" -> role = "system";
            default -> throw ApiError.invalid(where + ".role '" + role
                    + "' is not one of system, developer, user, assistant, tool", where + ".role");
        }
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("role", role);
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
        out.put("content", text == null ? "" : text);
        JsonNode calls = m.get("tool_calls");
        if (role.equals("assistant") && calls != null && !calls.isNull()) {
            if (!calls.isArray()) throw ApiError.invalid(where + ".tool_calls must be an array", where + ".tool_calls");
            List<Object> list = new ArrayList<>();
            for (JsonNode c : calls) {
                JsonNode f = c.path("function");
                if (!f.path("name").isTextual()) {
                    throw ApiError.invalid(where + ".tool_calls: each needs function.name", where + ".tool_calls");
                }
                Map<String, Object> fn = new java.util.LinkedHashMap<>();
                fn.put("name", f.get("name").asText());
                JsonNode args = f.get("arguments");
                Object a = Map.of();
                if (args != null && args.isTextual()) {
                    try {
                        a = json.readValue(args.asText(), Object.class);
                    } catch (JacksonException e) {
                        a = args.asText();
                    }
                } else if (args != null && !args.isNull()) {
                    a = json.convertValue(args, Object.class);
                }
                fn.put("arguments", a);
                list.add(Map.of("type", "function", "function", fn));
            }
            out.put("tool_calls", list);
        } else if (text == null) {
            throw ApiError.invalid(where + ".content is required", where + ".content");
        }
        if (m.hasNonNull("name") && m.get("name").isTextual()) out.put("name", m.get("name").asText());
        return out;
    }

    private Job parseCompletion(JsonNode body) {
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) throw ApiError.invalid("'prompt' is required", "prompt");
        int[] prompt;
        Tokenizer tok = engine.tokenizer();
        if (p.isTextual()) {
            prompt = tok.encode(p.asText(), true);
        } else if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            prompt = tok.encode(p.get(0).asText(), true);
        } else if (p.isArray() && !p.isEmpty() && p.get(0).isIntegralNumber()) {
            prompt = new int[p.size()];
            for (int i = 0; i < p.size(); i++) {
                JsonNode v = p.get(i);
                if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0 || v.asInt() >= engine.vocabLimit()) {
                    throw ApiError.invalid("prompt[" + i + "] is not a token id (0.." + (engine.vocabLimit() - 1) + ")", "prompt");
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
        return common(body, false, prompt, false, lp == null ? -1 : lp, false);
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
        SamplerSettings settings = sampling(body);
        return new Job(chat, model == null ? config.modelId() : model, prompt, settings, max == null ? -1 : max,
                max != null, stop, stream, includeUsage, tools, logprobs, echo);
    }

    private SamplerSettings sampling(JsonNode body) {
        Double temp = optNumber(body, "temperature", 0, 2);
        SamplerSettings s = temp != null && temp == 0 ? SamplerSettings.greedy() : defaults;
        if (temp != null) s = s.withTemperature(temp.floatValue());
        Double topP = optNumber(body, "top_p", 0, 1);
        if (topP != null) {
            if (topP == 0) throw ApiError.invalid("'top_p' must be in (0, 1]", "top_p");
            s = s.withTopP(topP.floatValue());
        }
        Integer topK = optInt(body, "top_k", -1, Integer.MAX_VALUE);
        if (topK != null) s = s.withTopK(Math.max(0, topK));
        Double minP = optNumber(body, "min_p", 0, 1);
        if (minP != null) s = s.withMinP(minP.floatValue());
        Double rp = optNumber(body, "repetition_penalty", 0, 10);
        if (rp != null) {
            if (rp == 0) throw ApiError.invalid("'repetition_penalty' must be > 0", "repetition_penalty");
            s = s.withRepeatPenalty(rp.floatValue());
            if (s.repeatLastN() == 0) s = s.withRepeatLastN(SamplerSettings.DEFAULT_REPEAT_LAST_N);
        }
        Double pp = optNumber(body, "presence_penalty", -2, 2);
        if (pp != null) s = s.withPresencePenalty(pp.floatValue());
        Double fp = optNumber(body, "frequency_penalty", -2, 2);
        if (fp != null) s = s.withFrequencyPenalty(fp.floatValue());
        JsonNode seed = body.get("seed");
        if (seed != null && !seed.isNull()) {
            if (!seed.isIntegralNumber() || !seed.canConvertToLong()) {
                throw ApiError.invalid("'seed' must be an integer, got " + kind(seed), "seed");
            }
            s = s.withSeed(seed.asLong());
        } else {
            s = s.withSeed(System.nanoTime() ^ 0x5DEECE66DL);
        }
        try {
            return s.validate();
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

    // ------------------------------------------------------------------ generation

    private void run(Job job, Response r) throws InterruptedException, IOException {
        int capacity = engine.model().maxContext();
        int p = job.prompt().length;
        if (p >= capacity) {
            throw ApiError.invalid("this model's context is " + capacity + " tokens, but the prompt has " + p
                    + " tokens (no room to generate); shorten the prompt or start the server with a larger --ctx",
                    "messages", "context_length_exceeded");
        }
        if (job.explicitMax() && p + job.maxTokens() > capacity) {
            throw ApiError.invalid("this model's context is " + capacity + " tokens, but " + (p + job.maxTokens())
                    + " were requested (" + p + " in the prompt, " + job.maxTokens()
                    + " to generate); lower max_tokens or shorten the prompt", "max_tokens", "context_length_exceeded");
        }
        SlotPool.Slot slot = pool.acquire(job.prompt());
        int lease = slot.lease;
        try {
            if (job.stream()) stream(job, slot, r);
            else complete(job, slot, r);
        } finally {
            pool.release(slot, lease);
        }
    }

    /** The result of running a job in a slot. */
    private record Outcome(Generation generation, int reused) {}

    private Outcome generate(SlotPool.Slot slot, Job job, Response r, Consumer<String> onText, Logprobs logprobs) {
        Session session = slot.session;
        int[] prompt = job.prompt();
        int common = Math.min(SlotPool.commonPrefix(slot.cached, prompt), Math.min(session.position(), prompt.length - 1));
        session.truncate(common);
        slot.cached = new int[0];
        int[] suffix = Arrays.copyOfRange(prompt, common, prompt.length);
        int room = session.capacity() - session.position() - suffix.length + 1;
        int budget = job.maxTokens() < 0 ? -1 : Math.min(job.maxTokens(), room);
        Sampler sampler = new Sampler(job.settings(), engine.vocabLimit(), session.capacity());
        sampler.acceptAll(Arrays.copyOf(prompt, common));
        Generation g;
        try {
            g = slot.generator.generate(session, suffix, sampler,
                    new Generator.Params(budget, job.stop(), () -> r.gone, logprobs), onText);
        } catch (RuntimeException e) {
            session.truncate(0);
            throw e;
        }
        int[] fed = Arrays.copyOf(prompt, prompt.length + g.ids().length);
        System.arraycopy(g.ids(), 0, fed, prompt.length, g.ids().length);
        slot.cached = Arrays.copyOf(fed, Math.min(fed.length, session.position()));
        pool.release(slot, slot.lease); // the session is no longer used: free the slot before the answer is written
        return new Outcome(g, common);
    }

    private static String finishReason(Generation g) {
        return switch (g.stopReason()) {
            case "length", "context" -> "length";
            default -> "stop";
        };
    }

    private ObjectNode usage(Job job, Outcome o) {
        ObjectNode u = json.createObjectNode();
        int completion = o.generation().ids().length;
        u.put("prompt_tokens", job.prompt().length);
        u.put("completion_tokens", completion);
        u.put("total_tokens", job.prompt().length + completion);
        u.putObject("prompt_tokens_details").put("cached_tokens", o.reused());
        return u;
    }

    private ObjectNode envelope(Job job, String id, String object) {
        ObjectNode o = json.createObjectNode();
        o.put("id", id);
        o.put("object", object);
        o.put("created", System.currentTimeMillis() / 1000);
        o.put("model", job.model());
        o.put("system_fingerprint", "qwen4j");
        return o;
    }

    private String newId(Job job) {
        return (job.chat() ? "chatcmpl-" : "cmpl-") + Long.toHexString(created) + "-" + ids.incrementAndGet();
    }

    private ArrayNode toolCallsJson(List<ToolCalls.Call> calls, String id, boolean withIndex) {
        ArrayNode a = json.createArrayNode();
        for (int i = 0; i < calls.size(); i++) {
            ObjectNode c = a.addObject();
            if (withIndex) c.put("index", i);
            c.put("id", "call_" + id.substring(id.indexOf('-') + 1) + "_" + i);
            c.put("type", "function");
            ObjectNode f = c.putObject("function");
            f.put("name", calls.get(i).name());
            f.put("arguments", calls.get(i).arguments());
        }
        return a;
    }

    private void complete(Job job, SlotPool.Slot slot, Response r) throws IOException {
        Logprobs lp = job.logprobs() >= 0 ? new Logprobs(job.logprobs()) : null;
        Outcome o = generate(slot, job, r, text -> { }, lp);
        Generation g = o.generation();
        String id = newId(job);
        ObjectNode resp = envelope(job, id, job.chat() ? "chat.completion" : "text_completion");
        ObjectNode choice = resp.putArray("choices").addObject();
        choice.put("index", 0);
        String finish = finishReason(g);
        if (job.chat()) {
            ObjectNode msg = choice.putObject("message");
            msg.put("role", "assistant");
            ToolCalls.Parsed parsed = job.tools() ? ToolCalls.parse(g.text(), json) : new ToolCalls.Parsed(g.text(), List.of());
            if (!parsed.calls().isEmpty()) {
                if (parsed.content().isEmpty()) msg.putNull("content"); else msg.put("content", parsed.content());
                msg.set("tool_calls", toolCallsJson(parsed.calls(), id, false));
                finish = "tool_calls";
            } else {
                msg.put("content", g.text());
            }
            if (lp != null) choice.set("logprobs", lp.chatJson(0, lp.size()));
            else choice.putNull("logprobs");
        } else {
            choice.put("text", g.text());
            if (lp != null) choice.set("logprobs", lp.completionJson(0, lp.size()));
            else choice.putNull("logprobs");
        }
        choice.put("finish_reason", finish);
        resp.set("usage", usage(job, o));
        r.json(200, resp);
    }

    private void stream(Job job, SlotPool.Slot slot, Response r) throws IOException {
        String id = newId(job);
        Logprobs lp = job.logprobs() >= 0 ? new Logprobs(job.logprobs()) : null;
        int[] sent = {0};
        r.startEvents();
        if (job.chat()) {
            ObjectNode first = chunk(job, id);
            ObjectNode delta = (ObjectNode) first.withArray("choices").get(0).get("delta");
            delta.put("role", "assistant");
            delta.put("content", "");
            r.event(first);
        }
        Consumer<String> out = text -> {
            ObjectNode c = chunk(job, id);
            ObjectNode choice = (ObjectNode) c.withArray("choices").get(0);
            if (job.chat()) ((ObjectNode) choice.get("delta")).put("content", text);
            else choice.put("text", text);
            if (lp != null) {
                choice.set("logprobs", job.chat() ? lp.chatJson(sent[0], lp.size()) : lp.completionJson(sent[0], lp.size()));
                sent[0] = lp.size();
            }
            r.event(c);
        };
        ToolCalls.Filter filter = job.tools() ? new ToolCalls.Filter(out) : null;
        Outcome o = generate(slot, job, r, filter != null ? filter : out, lp);
        if (r.gone) return;
        Generation g = o.generation();
        String finish = finishReason(g);
        if (filter != null) {
            ToolCalls.Parsed parsed = filter.sawCall() ? ToolCalls.parse(g.text(), json) : new ToolCalls.Parsed(g.text(), List.of());
            if (!parsed.calls().isEmpty()) {
                ObjectNode c = chunk(job, id);
                ((ObjectNode) c.withArray("choices").get(0).get("delta")).set("tool_calls", toolCallsJson(parsed.calls(), id, true));
                r.event(c);
                finish = "tool_calls";
            } else if (filter.sawCall()) {
                // a block that did not parse: send it as plain text after all
                int at = g.text().indexOf(ToolCalls.OPEN);
                if (at >= 0) out.accept(g.text().substring(at));
            } else {
                filter.finish();
            }
        }
        ObjectNode last = chunk(job, id);
        ObjectNode choice = (ObjectNode) last.withArray("choices").get(0);
        if (!job.chat()) choice.put("text", "");
        if (lp != null && sent[0] < lp.size()) {
            choice.set("logprobs", job.chat() ? lp.chatJson(sent[0], lp.size()) : lp.completionJson(sent[0], lp.size()));
        }
        choice.put("finish_reason", finish);
        r.event(last);
        if (job.includeUsage()) {
            ObjectNode u = envelope(job, id, job.chat() ? "chat.completion.chunk" : "text_completion");
            u.putArray("choices");
            u.set("usage", usage(job, o));
            r.event(u);
        }
        r.done();
    }

    private ObjectNode chunk(Job job, String id) {
        ObjectNode c = envelope(job, id, job.chat() ? "chat.completion.chunk" : "text_completion");
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("index", 0);
        if (job.chat()) choice.putObject("delta");
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        if (job.includeUsage()) c.putNull("usage");
        return c;
    }

    /** Collects log-probabilities of generated tokens (from the model's raw logits). */
    private final class Logprobs implements Generator.TokenObserver {
        private final int top;
        private final List<Integer> tokens = new ArrayList<>();
        private final List<Float> logprob = new ArrayList<>();
        private final List<int[]> topIds = new ArrayList<>();
        private final List<float[]> topLp = new ArrayList<>();

        Logprobs(int top) { this.top = top; }

        int size() { return tokens.size(); }

        @Override
        public void token(int id, float[] logits) {
            int limit = engine.vocabLimit();
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < limit; i++) max = Math.max(max, logits[i]);
            double sum = 0;
            for (int i = 0; i < limit; i++) sum += Math.exp(logits[i] - max);
            float lse = (float) (max + Math.log(sum));
            tokens.add(id);
            logprob.add(logits[id] - lse);
            int[] t = top > 0 ? Scoring.topK(logits, limit, top) : new int[0];
            float[] l = new float[t.length];
            for (int i = 0; i < t.length; i++) l[i] = logits[t[i]] - lse;
            topIds.add(t);
            topLp.add(l);
        }

        private void tokenFields(ObjectNode o, int id) {
            Tokenizer tok = engine.tokenizer();
            o.put("token", tok.piece(id));
            ArrayNode b = o.putArray("bytes");
            for (byte x : tok.tokenBytes(id)) b.add(x & 0xff);
        }

        ObjectNode chatJson(int from, int to) {
            ObjectNode o = json.createObjectNode();
            ArrayNode content = o.putArray("content");
            for (int i = from; i < to; i++) {
                ObjectNode e = content.addObject();
                tokenFields(e, tokens.get(i));
                e.put("logprob", logprob.get(i));
                ArrayNode tops = e.putArray("top_logprobs");
                for (int k = 0; k < topIds.get(i).length; k++) {
                    ObjectNode t = tops.addObject();
                    tokenFields(t, topIds.get(i)[k]);
                    t.put("logprob", topLp.get(i)[k]);
                }
            }
            return o;
        }

        ObjectNode completionJson(int from, int to) {
            Tokenizer tok = engine.tokenizer();
            ObjectNode o = json.createObjectNode();
            ArrayNode ts = o.putArray("tokens"), lps = o.putArray("token_logprobs"), tops = o.putArray("top_logprobs");
            for (int i = from; i < to; i++) {
                ts.add(tok.piece(tokens.get(i)));
                lps.add(logprob.get(i));
                ObjectNode t = tops.addObject();
                for (int k = 0; k < topIds.get(i).length; k++) t.put(tok.piece(topIds.get(i)[k]), topLp.get(i)[k]);
            }
            return o;
        }
    }

    // ------------------------------------------------------------------ responses

    /** Writes one exchange's answer; notes when the client has gone (a write failed). */
    private final class Response {
        private final HttpExchange ex;
        private OutputStream events;
        private boolean started;
        volatile boolean gone;

        Response(HttpExchange ex) { this.ex = ex; }

        void json(int status, JsonNode body) throws IOException {
            byte[] b = json.writeValueAsBytes(body);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            started = true;
            ex.sendResponseHeaders(status, b.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(b);
            }
        }

        void error(ApiError e) {
            if (gone) return;
            ObjectNode body = json.createObjectNode();
            ObjectNode err = body.putObject("error");
            err.put("message", e.getMessage());
            err.put("type", e.type);
            if (e.param == null) err.putNull("param"); else err.put("param", e.param);
            if (e.code == null) err.putNull("code"); else err.put("code", e.code);
            try {
                if (events != null) {
                    event(body);
                    return;
                }
                if (started) return;
                if (e.status == 405) ex.getResponseHeaders().set("Allow", allowFor(ex.getRequestURI().getPath()));
                if (e.status == 401) ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
                json(e.status, body);
            } catch (IOException io) {
                gone = true;
            }
        }

        private static String allowFor(String path) {
            return path.startsWith("/v1/chat") || path.startsWith("/v1/completions") ? "POST" : "GET";
        }

        void startEvents() throws IOException {
            ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            ex.getResponseHeaders().set("Cache-Control", "no-cache");
            started = true;
            ex.sendResponseHeaders(200, 0);
            events = ex.getResponseBody();
        }

        void event(JsonNode data) {
            try {
                write("data: " + json.writeValueAsString(data) + "\n\n");
            } catch (IOException e) {
                gone = true;
            }
        }

        void done() {
            write0("data: [DONE]\n\n");
        }

        private void write0(String s) {
            try {
                write(s);
            } catch (IOException e) {
                gone = true;
            }
        }

        private void write(String s) throws IOException {
            if (gone) return;
            try {
                events.write(s.getBytes(StandardCharsets.UTF_8));
                events.flush();
            } catch (IOException e) {
                gone = true;
                throw e;
            }
        }
    }
}
