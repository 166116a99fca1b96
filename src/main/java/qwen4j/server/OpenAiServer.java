package qwen4j.server;

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
     * Seconds a client has to send its whole request, headers and body; a slower or silent
     * connection is closed, so slow clients cannot hold connections forever. The JDK server reads
     * this once, from the system property {@value #REQUEST_TIME_PROPERTY}, when its first instance is
     * created; a value given on the command line (-D) wins. Generation time does not count: the
     * request is complete once its body has been read.
     */
    public static final long DEFAULT_REQUEST_SECONDS = 30;
    static final String REQUEST_TIME_PROPERTY = "sun.net.httpserver.maxReqTime";

    static {
        if (System.getProperty(REQUEST_TIME_PROPERTY) == null) {
            System.setProperty(REQUEST_TIME_PROPERTY, Long.toString(DEFAULT_REQUEST_SECONDS));
        }
    }

    /**
     * @param host         address to bind (127.0.0.1 by default)
     * @param port         0 = an ephemeral port
     * @param apiKey       nullable; when set every /v1 request needs {@code Authorization: Bearer KEY}
     * @param parallel     generation slots (each its own KV cache)
     * @param maxQueue     requests that may wait for a slot; more get 429
     * @param maxBodyBytes largest request body; more get 413
     * @param modelId      the id /v1/models lists
     * @param maxTokens    the most tokens one request may generate (max_tokens above it: 400)
     * @param parseSpecialInMessages whether special-token text in chat messages acts as special tokens
     *                     (off: a client cannot forge turns with {@code <|im_start|>} in its content)
     */
    public record Config(String host, int port, String apiKey, int parallel, int maxQueue, int maxBodyBytes,
                         String modelId, int maxTokens, boolean parseSpecialInMessages) {
        public static final int DEFAULT_MAX_BODY = 1 << 20;
        /** Qwen2.5's context is 32768 tokens; the KV cache (--ctx) usually bounds a request first. */
        public static final int DEFAULT_MAX_TOKENS = 32768;

        public Config(String host, int port, String apiKey, int parallel, int maxQueue, int maxBodyBytes, String modelId) {
            this(host, port, apiKey, parallel, maxQueue, maxBodyBytes, modelId, DEFAULT_MAX_TOKENS);
        }

        public Config(String host, int port, String apiKey, int parallel, int maxQueue, int maxBodyBytes, String modelId,
                      int maxTokens) {
            this(host, port, apiKey, parallel, maxQueue, maxBodyBytes, modelId, maxTokens, false);
        }

        public Config {
            if (maxTokens < 1) throw new Qwen4jException("--max-tokens must be at least 1, got " + maxTokens);
            if (parallel < 1) throw new Qwen4jException("--parallel must be at least 1, got " + parallel);
            if (maxQueue < 0) throw new Qwen4jException("--queue must be 0 or more, got " + maxQueue);
            if (maxBodyBytes < 1) throw new Qwen4jException("--max-body must be at least 1, got " + maxBodyBytes);
            if (port < 0 || port > 65535) throw new Qwen4jException("--port must be in 0..65535, got " + port);
            if (apiKey != null && apiKey.isEmpty()) apiKey = null;
        }
    }

    private final Engine engine;
    private final Config config;
    private final SamplerSettings defaults;
    private final SlotPool pool;
    private final HttpServer http;
    private final ExecutorService executor;
    /**
     * Platform threads that run generation, one per slot. Generation is CPU-bound and never blocks,
     * so on a virtual thread it would hold a carrier until done: with as many busy slots as cores,
     * no other request could even be read (found by FaultTest: under a flood, connections waited
     * past the request-read limit and were dropped unanswered).
     */
    private final ExecutorService generation;
    private final ObjectMapper json = RequestParser.mapper();
    private final RequestParser requests;
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
        this.defaults = SamplerSettings.forModel(engine.files());
        this.pool = new SlotPool(engine, config.parallel(), config.maxQueue());
        this.requests = new RequestParser(json, t, problem, engine.tokenizer(), engine.vocabLimit(), defaults,
                config.modelId(), engine.model().maxContext(), config.maxTokens(), config.maxBodyBytes(),
                config.parseSpecialInMessages());
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 256);
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        this.generation = Executors.newFixedThreadPool(config.parallel(),
                Thread.ofPlatform().name("qwen4j-generate-", 0).daemon(true).factory());
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
        generation.shutdownNow();
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
                run(requests.parse(path, readBody(ex)), r);
            }
            case "/v1/completions" -> {
                requireMethod(method, "POST");
                authorize(ex);
                run(requests.parse(path, readBody(ex)), r);
            }
            default -> {
                if (path.startsWith("/v1/models/")) {
                    requireMethod(method, "GET");
                    authorize(ex);
                    String id = path.substring("/v1/models/".length());
                    if (!id.equals(config.modelId())) {
                        throw new ApiError(404, "invalid_request_error", "the model '" + Qwen4jException.shown(id) + "' does not exist",
                                "model", "model_not_found");
                    }
                    r.json(200, modelObject());
                    return;
                }
                throw new ApiError(404, "invalid_request_error", "unknown path " + Qwen4jException.shown(path)
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

    /** The body's bytes, at most the limit (413 past it: the rest is not read). */
    private byte[] readBody(HttpExchange ex) throws IOException {
        int limit = config.maxBodyBytes();
        String cl = ex.getRequestHeaders().getFirst("Content-Length");
        if (cl != null) {
            try {
                if (Long.parseLong(cl.strip()) > limit) throw RequestParser.tooLarge(limit);
            } catch (NumberFormatException ignored) {
                // the body is read and counted below
            }
        }
        try (InputStream in = ex.getRequestBody()) {
            return in.readNBytes(limit + 1);
        }
    }

    // ------------------------------------------------------------------ generation

    private void run(Job job, Response r) throws InterruptedException, IOException {
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
            g = onGenerationThread(() -> slot.generator.generate(session, suffix, sampler,
                    new Generator.Params(budget, job.stop(), () -> r.gone, logprobs), onText));
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

    /** Runs {@code work} on a generation thread and waits for it; its exceptions come out unwrapped. */
    private <T> T onGenerationThread(java.util.concurrent.Callable<T> work) {
        java.util.concurrent.Future<T> f = generation.submit(work);
        try {
            return f.get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new ApiError(503, "server_error", "the server is shutting down", null, "unavailable");
        }
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
