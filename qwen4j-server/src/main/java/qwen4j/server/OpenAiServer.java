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
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import qwen4j.Qwen4jException;
import qwen4j.api.Completion;
import qwen4j.api.GenerationParams;
import qwen4j.api.Qwen;
import qwen4j.api.QwenTokenizer;
import qwen4j.api.TokenListener;
import qwen4j.api.TokenLogprob;
import qwen4j.api.ToolCall;
import qwen4j.api.ToolCalls;

/**
 * An OpenAI-compatible HTTP server over one {@link Qwen} handle: {@code POST /v1/chat/completions},
 * {@code POST /v1/completions} (both streaming as server-sent events or not), {@code GET /v1/models},
 * {@code GET /health}. Built on the JDK's {@link HttpServer}; one virtual thread per request, generation in
 * {@link SlotPool} slots. Errors are answered in OpenAI's JSON shape, never as stack traces.
 */
public final class OpenAiServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(OpenAiServer.class.getName());

    static {
        // one line per event on stderr: clients decide what gets logged, so no multi-line records
        // (java.util.logging's default format takes two lines, a stack trace thirty)
        LOG.setUseParentHandlers(false);
        java.util.logging.Handler h = new java.util.logging.StreamHandler(System.err, new java.util.logging.Formatter() {
            @Override
            public String format(java.util.logging.LogRecord r) {
                return "qwen4j serve: " + java.time.Instant.ofEpochMilli(r.getMillis()) + " " + r.getLevel() + " "
                        + Qwen4jException.shown(r.getMessage(), 1000) + System.lineSeparator();
            }
        }) {
            @Override
            public synchronized void publish(java.util.logging.LogRecord r) {
                super.publish(r);
                flush();
            }
        };
        LOG.addHandler(h);
    }

    /** Bytes of events a streaming request may have waiting for its client; past it the client is cut off. */
    static final int MAX_PENDING_BYTES = 1 << 20;
    /** How often a non-streaming request looks whether its client has hung up. */
    private static final long HANGUP_POLL_NANOS = 100_000_000L;

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
     * @param apiKey       nullable; when set every /v1 request needs {@code Authorization: Bearer KEY} (empty: an error)
     * @param parallel     generation slots (each its own KV cache)
     * @param maxQueue     requests that may wait for a slot; more get 429
     * @param maxBodyBytes largest request body; more get 413
     * @param modelId      the id /v1/models lists
     * @param maxTokens    the most tokens one request may generate (max_tokens above it: 400)
     * @param parseSpecialInMessages whether special-token text in chat messages acts as special tokens
     *                     (off: a client cannot forge turns with {@code <|im_start|>} in its content)
     * @param writeTimeoutMillis how long a write to a client may make no progress before the request is
     *                     cancelled and its connection closed
     */
    public record Config(String host, int port, String apiKey, int parallel, int maxQueue, int maxBodyBytes,
                         String modelId, int maxTokens, boolean parseSpecialInMessages, long writeTimeoutMillis) {
        public static final int DEFAULT_MAX_BODY = 1 << 20;
        /** Qwen2.5's context is 32768 tokens; the KV cache (--ctx) usually bounds a request first. */
        public static final int DEFAULT_MAX_TOKENS = 32768;
        public static final long DEFAULT_WRITE_TIMEOUT_MILLIS = 30_000;

        public Config(String host, int port, String apiKey, int parallel, int maxQueue, int maxBodyBytes, String modelId) {
            this(host, port, apiKey, parallel, maxQueue, maxBodyBytes, modelId, DEFAULT_MAX_TOKENS);
        }

        public Config(String host, int port, String apiKey, int parallel, int maxQueue, int maxBodyBytes, String modelId,
                      int maxTokens) {
            this(host, port, apiKey, parallel, maxQueue, maxBodyBytes, modelId, maxTokens, false, DEFAULT_WRITE_TIMEOUT_MILLIS);
        }

        public Config {
            if (maxTokens < 1) throw new Qwen4jException("--max-tokens must be at least 1, got " + maxTokens);
            if (parallel < 1) throw new Qwen4jException("--parallel must be at least 1, got " + parallel);
            if (maxQueue < 0) throw new Qwen4jException("--queue must be 0 or more, got " + maxQueue);
            if (maxBodyBytes < 1) throw new Qwen4jException("--max-body must be at least 1, got " + maxBodyBytes);
            if (port < 0 || port > 65535) throw new Qwen4jException("--port must be in 0..65535, got " + port);
            if (writeTimeoutMillis < 1) throw new Qwen4jException("--write-timeout must be positive, got " + writeTimeoutMillis + " ms");
            // an empty key used to turn authentication off while the banner said it was on
            if (apiKey != null && apiKey.isBlank()) {
                throw new Qwen4jException("the API key is empty: give a non-empty --api-key (or QWEN4J_API_KEY), or neither to serve without one");
            }
        }

        public Config withParseSpecialInMessages(boolean on) {
            return new Config(host, port, apiKey, parallel, maxQueue, maxBodyBytes, modelId, maxTokens, on, writeTimeoutMillis);
        }

        public Config withWriteTimeoutMillis(long millis) {
            return new Config(host, port, apiKey, parallel, maxQueue, maxBodyBytes, modelId, maxTokens, parseSpecialInMessages, millis);
        }
    }

    private final Qwen qwen;
    private final Config config;
    private final SlotPool pool;
    private final HttpServer http;
    private final ExecutorService executor;
    private final Metrics metrics = new Metrics();
    private final ObjectMapper json = RequestParser.mapper();
    private final RequestParser requests;
    private final AtomicLong ids = new AtomicLong();
    /** Requests cancelled because their client hung up, and because it stopped reading (/health). */
    private final AtomicLong cancelledGone = new AtomicLong(), cancelledSlow = new AtomicLong();
    /** Answers being written, for the write-deadline watchdog. */
    private final Set<Response> active = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService watchdog;
    private final long created = System.currentTimeMillis() / 1000;

    private OpenAiServer(Qwen qwen, Config config) throws IOException {
        this.qwen = qwen;
        this.config = config;
        this.pool = new SlotPool(qwen, config.parallel(), config.maxQueue(), metrics);
        this.requests = new RequestParser(json, RequestModel.of(qwen), qwen.samplingDefaults(), config.modelId(),
                qwen.contextLength(), config.maxTokens(), config.maxBodyBytes(), config.parseSpecialInMessages());
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 256);
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        http.setExecutor(executor);
        http.createContext("/", this::handle);
        this.watchdog = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("qwen4j-write-watchdog").daemon(true).factory());
        long tick = Math.max(10, Math.min(1000, config.writeTimeoutMillis() / 4));
        watchdog.scheduleWithFixedDelay(this::checkWrites, tick, tick, TimeUnit.MILLISECONDS);
        if (ClientSocket.UNAVAILABLE != null) {
            LOG.warning("client hang-ups are noticed only when writing (add --add-opens jdk.httpserver/sun.net.httpserver=ALL-UNNAMED): "
                    + ClientSocket.UNAVAILABLE);
        }
    }

    /** Cuts off clients whose pending write has made no progress for the write timeout. */
    private void checkWrites() {
        long now = System.nanoTime(), limit = config.writeTimeoutMillis() * 1_000_000L;
        for (Response r : active) {
            long since = r.writingSince;
            if (since != 0 && now - since > limit) r.abort("read nothing for " + config.writeTimeoutMillis() + " ms");
        }
    }

    /**
     * Binds and starts serving {@code qwen} (loaded with {@link qwen4j.api.LoadOptions#parallel} =
     * {@code config.parallel()}); {@link #close()} stops. The caller closes the handle after the server.
     */
    public static OpenAiServer start(Qwen qwen, Config config) throws IOException {
        OpenAiServer s = new OpenAiServer(qwen, config);
        s.http.start();
        return s;
    }

    public int port() { return http.getAddress().getPort(); }

    public Config config() { return config; }

    @Override
    public void close() {
        http.stop(0);
        watchdog.shutdownNow();
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
        active.add(r);
        try {
            route(ex, r);
        } catch (ApiError e) {
            r.error(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            r.error(new ApiError(503, "server_error", "the server is shutting down", null, "unavailable"));
        } catch (IOException e) {
            // the client hung up or timed out: one line, never a stack trace (clients could fill the log)
            r.gone = true;
            LOG.info(describe(ex) + ": connection lost: " + e);
        } catch (Throwable e) {
            if (!r.gone) {
                StackTraceElement[] at = e.getStackTrace();
                LOG.warning(describe(ex) + ": internal error " + e + (at.length > 0 ? " at " + at[0] : ""));
                LOG.log(Level.FINE, "internal error", e);
            }
            r.error(new ApiError(500, "server_error", "internal error (" + e.getClass().getSimpleName() + ")", null, null));
        } finally {
            active.remove(r);
            ex.close();
        }
    }

    /** "POST /v1/completions from 127.0.0.1:5555", for log lines. */
    private static String describe(HttpExchange ex) {
        return ex.getRequestMethod() + " " + Qwen4jException.shown(ex.getRequestURI().getRawPath()) + " from " + ex.getRemoteAddress();
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
                Qwen.Stats now = qwen.stats(); // one snapshot: the numbers fit together
                h.put("slots_total", pool.size());
                h.put("slots_idle", Math.max(0, pool.size() - now.running()));
                h.put("queued", pool.waiting());
                h.put("queue_limit", pool.maxQueue());
                h.put("sequences_active", now.running());
                h.put("kv_blocks_used", now.kvBlocksUsed());
                h.put("kv_blocks_free", now.kvBlocksFree());
                h.put("cancelled_client_gone", cancelledGone.get());
                h.put("cancelled_slow_client", cancelledSlow.get());
                r.json(200, h);
            }
            case "/metrics" -> {
                requireMethod(method, "GET");
                r.text(200, "text/plain; version=0.0.4; charset=utf-8", metrics.render(pool.waiting(), qwen.stats()));
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
                run(requests.parse(path, readBody(ex, r)), r);
            }
            case "/v1/completions" -> {
                requireMethod(method, "POST");
                authorize(ex);
                run(requests.parse(path, readBody(ex, r)), r);
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
                        + " (this server has POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health, GET /metrics)",
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

    /** The body's bytes, at most the limit (413 past it: the rest is not read); 400 for a malformed chunked body. */
    private byte[] readBody(HttpExchange ex, Response r) throws IOException {
        int limit = config.maxBodyBytes();
        String cl = ex.getRequestHeaders().getFirst("Content-Length");
        if (cl != null) {
            try {
                if (Long.parseLong(cl.strip()) > limit) {
                    r.stopReading();
                    throw RequestParser.tooLarge(limit);
                }
            } catch (NumberFormatException ignored) {
                // the body is read and counted below
            }
        }
        InputStream in = ex.getRequestBody();
        byte[] body;
        try {
            body = in.readNBytes(limit + 1);
        } catch (IOException e) {
            if (!r.channelOpen()) throw e; // the client hung up mid-body: nobody to answer
            // A bad chunk: answer 400 now, and read no further (the JDK would try to drain the rest of
            // the body, waiting for bytes that never come until the request-read limit)
            r.stopReading();
            boolean trailer = "invalid chunk end".equals(e.getMessage()) && endOfBody(in);
            LOG.info(describe(ex) + ": bad request body: " + e.getMessage());
            throw ApiError.invalid(trailer
                    ? "chunked trailers are not supported: end the chunked body with 0 and an empty line"
                    : "the request body could not be read: " + Qwen4jException.shown(e.getMessage()), null, "bad_body");
        }
        if (body.length > limit) {
            r.stopReading();
            throw RequestParser.tooLarge(limit);
        }
        in.close();
        return body;
    }

    /** After a chunked-body error: whether the last (empty) chunk had been read, so what followed was a trailer. */
    private static boolean endOfBody(InputStream in) {
        try {
            return in.read() == -1;
        } catch (IOException e) {
            return false;
        }
    }

    // ------------------------------------------------------------------ generation

    private void run(Job job, Response r) throws InterruptedException, IOException {
        pool.reserve(); // 429 before a stream's 200 goes out
        r.reserved = true;
        try {
            if (job.stream()) stream(job, r);
            else complete(job, r);
        } finally {
            if (r.reserved) pool.unreserve();
        }
    }

    /**
     * Starts the job on the model and waits for it; for a stream, this (the request's) thread meanwhile writes
     * the events the generation queues, so generation never waits on a client's socket.
     */
    private Completion generate(Job job, Response r, Consumer<String> onText, Logprobs logprobs) throws InterruptedException {
        GenerationParams params = job.params().toBuilder().maxTokens(job.maxTokens()).stop(job.stop())
                .responseFormat(job.format()).logprobs(job.logprobs()).build();
        CompletableFuture<Completion> result = pool.submit(job.prompt(), params, new TokenListener() {
            @Override
            public void onToken(String delta) { onText.accept(delta); }

            @Override
            public void onLogprob(TokenLogprob lp) { if (logprobs != null) logprobs.add(lp); }

            @Override
            public boolean cancelled() { return r.cancelled(); }
        });
        r.reserved = false; // the generation holds the place now
        result.whenComplete((c, e) -> r.wake());
        try {
            if (r.streaming()) r.pump(result);
            return result.get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            result.cancel(true);
            throw e;
        }
    }

    private static String finishReason(Completion c) {
        return switch (c.stopReason()) {
            case "length", "context" -> "length";
            default -> "stop";
        };
    }

    private ObjectNode usage(Job job, Completion o) {
        ObjectNode u = json.createObjectNode();
        int completion = o.tokenIds().length;
        u.put("prompt_tokens", job.prompt().length);
        u.put("completion_tokens", completion);
        u.put("total_tokens", job.prompt().length + completion);
        u.putObject("prompt_tokens_details").put("cached_tokens", o.usage().cachedTokens());
        return u;
    }

    private ObjectNode envelope(Job job, String id, String object) {
        ObjectNode o = json.createObjectNode();
        o.put("id", id);
        o.put("object", object);
        o.put("created", System.currentTimeMillis() / 1000);
        o.put("model", job.model());
        o.put("system_fingerprint", "qwen4j");
        // non-strict JSON Schema: keywords that were not enforced
        if (!job.warnings().isEmpty()) job.warnings().forEach(o.putArray("warnings")::add);
        return o;
    }

    private String newId(Job job) {
        return (job.chat() ? "chatcmpl-" : "cmpl-") + Long.toHexString(created) + "-" + ids.incrementAndGet();
    }

    private ArrayNode toolCallsJson(List<ToolCall> calls, String id, boolean withIndex) {
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

    private void complete(Job job, Response r) throws IOException, InterruptedException {
        Logprobs lp = job.logprobs() >= 0 ? new Logprobs() : null;
        Completion o = generate(job, r, text -> { }, lp);
        if (r.gone) return; // the client hung up (while queued or generating): nobody to answer
        Completion g = o;
        String id = newId(job);
        ObjectNode resp = envelope(job, id, job.chat() ? "chat.completion" : "text_completion");
        ObjectNode choice = resp.putArray("choices").addObject();
        choice.put("index", 0);
        String finish = finishReason(g);
        if (job.chat()) {
            ObjectNode msg = choice.putObject("message");
            msg.put("role", "assistant");
            ToolCalls.Parsed parsed = job.tools() ? ToolCalls.parse(g.text()) : new ToolCalls.Parsed(g.text(), List.of());
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

    private void stream(Job job, Response r) throws IOException, InterruptedException {
        String id = newId(job);
        Logprobs lp = job.logprobs() >= 0 ? new Logprobs() : null;
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
        ToolCalls.Filter filter = job.tools() ? ToolCalls.filter(out) : null;
        Completion o = generate(job, r, filter != null ? filter : out, lp);
        if (r.gone) return;
        Completion g = o;
        String finish = finishReason(g);
        if (filter != null) {
            ToolCalls.Parsed parsed = filter.sawCall() ? ToolCalls.parse(g.text()) : new ToolCalls.Parsed(g.text(), List.of());
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
        r.flush();
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

    /** Collects the log-probabilities of generated tokens as the model reports them. */
    private final class Logprobs {
        // appended on the model's thread, read by the request's: a copy-on-write list would copy it per token
        private final List<TokenLogprob> tokens = java.util.Collections.synchronizedList(new ArrayList<>());

        int size() { return tokens.size(); }

        void add(TokenLogprob lp) { tokens.add(lp); }

        private void tokenFields(ObjectNode o, int id) {
            QwenTokenizer tok = qwen.tokenizer();
            o.put("token", tok.piece(id));
            ArrayNode b = o.putArray("bytes");
            for (byte x : tok.bytes(id)) b.add(x & 0xff);
        }

        ObjectNode chatJson(int from, int to) {
            ObjectNode o = json.createObjectNode();
            ArrayNode content = o.putArray("content");
            for (int i = from; i < to; i++) {
                ObjectNode e = content.addObject();
                TokenLogprob lp = tokens.get(i);
                tokenFields(e, lp.id());
                e.put("logprob", lp.logprob());
                ArrayNode tops = e.putArray("top_logprobs");
                for (int k = 0; k < lp.topIds().length; k++) {
                    ObjectNode t = tops.addObject();
                    tokenFields(t, lp.topIds()[k]);
                    t.put("logprob", lp.topLogprobs()[k]);
                }
            }
            return o;
        }

        ObjectNode completionJson(int from, int to) {
            QwenTokenizer tok = qwen.tokenizer();
            ObjectNode o = json.createObjectNode();
            ArrayNode ts = o.putArray("tokens"), lps = o.putArray("token_logprobs"), tops = o.putArray("top_logprobs");
            for (int i = from; i < to; i++) {
                TokenLogprob lp = tokens.get(i);
                ts.add(tok.piece(lp.id()));
                lps.add(lp.logprob());
                ObjectNode t = tops.addObject();
                for (int k = 0; k < lp.topIds().length; k++) t.put(tok.piece(lp.topIds()[k]), lp.topLogprobs()[k]);
            }
            return o;
        }
    }

    // ------------------------------------------------------------------ responses

    /**
     * Writes one exchange's answer; notes when the client has gone (a write failed, the connection closed).
     * A stream's events are queued by the generation thread (bounded, never blocking) and written by the
     * request's own thread; every write is watched, and one that makes no progress for the write timeout
     * gets the request cancelled and the connection closed ({@link #checkWrites}).
     */
    private final class Response {
        private final HttpExchange ex;
        private final java.nio.channels.SocketChannel channel;
        private OutputStream events;
        private boolean started;
        volatile boolean gone;
        /** Holds a place in the pool not yet used by a submitted task. */
        boolean reserved;
        /** When the write in progress began (System.nanoTime), 0 when none. */
        volatile long writingSince;
        private volatile Thread writer;
        private boolean aborted;
        private final java.util.ArrayDeque<byte[]> pending = new java.util.ArrayDeque<>();
        private long pendingBytes;
        /** Close the connection after this answer (the request was not read whole, or data followed it). */
        private boolean closeAfter;
        private final boolean[] pipelined = new boolean[1];
        private long lastPoll;

        Response(HttpExchange ex) {
            this.ex = ex;
            this.channel = ClientSocket.of(ex);
        }

        boolean streaming() { return events != null; }

        boolean channelOpen() { return channel == null || channel.isOpen(); }

        /** Whether the request should stop: its client hung up (looked at now and then) or was cut off. */
        boolean cancelled() {
            if (gone) return true;
            long now = System.nanoTime();
            if (now - lastPoll < HANGUP_POLL_NANOS) return false;
            lastPoll = now;
            return cancelledNow();
        }

        /** As {@link #cancelled()}, looking at the connection now. Only while no other thread uses it. */
        boolean cancelledNow() {
            if (gone) return true;
            if (streaming()) return false; // a stream's writes notice a hang-up
            if (ClientSocket.closed(channel, pipelined)) {
                gone = true;
                cancelledGone.incrementAndGet();
                LOG.info(describe(ex) + ": client hung up: request cancelled");
                return true;
            }
            if (pipelined[0]) closeAfter = true;
            return false;
        }

        /** No more of the request is read: the connection closes after the answer. */
        void stopReading() {
            closeAfter = true;
            if (channel == null) return;
            try {
                channel.shutdownInput();
            } catch (IOException | RuntimeException ignored) {
                // already closed: nothing left to read anyway
            }
        }

        /** Cuts the client off: cancels the request and closes the connection (a stalled write then fails). */
        void abort(String why) {
            synchronized (this) {
                if (aborted) return;
                aborted = true;
                gone = true;
                pending.clear();
                pendingBytes = 0;
                notifyAll();
            }
            cancelledSlow.incrementAndGet();
            LOG.info(describe(ex) + ": client " + why + ": request cancelled, connection closed");
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // closed either way
                }
            } else {
                Thread w = writer;
                if (w != null) w.interrupt(); // closes the channel under a blocked write
            }
        }

        private interface Write {
            void run() throws IOException;
        }

        /** Runs a write under the watchdog's eye. */
        private void timed(Write w) throws IOException {
            writer = Thread.currentThread();
            writingSince = Math.max(1, System.nanoTime());
            try {
                w.run();
            } finally {
                writingSince = 0;
                writer = null;
                synchronized (this) {
                    if (aborted) Thread.interrupted(); // the watchdog's interrupt, if it sent one, ends here
                }
            }
        }

        private void headers() {
            if (closeAfter) ex.getResponseHeaders().set("Connection", "close");
        }

        void text(int status, String contentType, String body) throws IOException {
            send(status, contentType, body.getBytes(StandardCharsets.UTF_8));
        }

        void json(int status, JsonNode body) throws IOException {
            send(status, "application/json", json.writeValueAsBytes(body));
        }

        private void send(int status, String contentType, byte[] b) throws IOException {
            ex.getResponseHeaders().set("Content-Type", contentType);
            headers();
            started = true;
            timed(() -> {
                ex.sendResponseHeaders(status, b.length);
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(b);
                }
            });
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
                    flush();
                    return;
                }
                if (started) return;
                if (e.status == 405) ex.getResponseHeaders().set("Allow", allowFor(ex.getRequestURI().getPath()));
                if (e.status == 401) ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
                if (e.status == 429) ex.getResponseHeaders().set("Retry-After", "1");
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
            headers();
            started = true;
            timed(() -> ex.sendResponseHeaders(200, 0));
            events = ex.getResponseBody();
        }

        /** Queues one event (any thread; never blocks). */
        void event(JsonNode data) {
            try {
                queue(("data: " + json.writeValueAsString(data) + "\n\n").getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        void done() {
            queue("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        }

        private void queue(byte[] b) {
            boolean full;
            synchronized (this) {
                if (gone) return;
                full = pendingBytes + b.length > MAX_PENDING_BYTES;
                if (!full) {
                    pending.add(b);
                    pendingBytes += b.length;
                    notifyAll();
                }
            }
            if (full) abort("is not reading (" + (MAX_PENDING_BYTES >> 10) + " KiB waiting)");
        }

        synchronized void wake() {
            notifyAll();
        }

        /** Writes queued events until {@code work} is done and none are left (the request's own thread). */
        void pump(Future<?> work) throws InterruptedException {
            while (true) {
                byte[] batch;
                synchronized (this) {
                    while (pending.isEmpty() && (work != null && !work.isDone())) wait(1000);
                    if (pending.isEmpty()) return;
                    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream((int) pendingBytes);
                    for (byte[] b : pending) all.writeBytes(b);
                    pending.clear();
                    pendingBytes = 0;
                    batch = all.toByteArray();
                }
                if (gone) continue;
                try {
                    timed(() -> {
                        events.write(batch);
                        events.flush();
                    });
                } catch (IOException e) {
                    gone = true;
                }
            }
        }

        /** Writes whatever is queued. */
        void flush() {
            try {
                pump(null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
