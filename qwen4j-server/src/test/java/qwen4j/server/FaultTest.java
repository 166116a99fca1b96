package qwen4j.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.model.Options;

/**
 * Hostile clients against a real server on the tiny model: slow and silent connections, hang-ups
 * mid-stream, a flood beyond the queue, requests past the context or the token limit, malformed
 * UTF-8. The server must keep serving, every accepted request must get its own complete answer
 * (or a clear error), and memory must stay bounded. Each test prints its figures.
 */
class FaultTest {
    static final int CTX = 256;
    static final int PARALLEL = 2;
    static final int QUEUE = 4;
    static final int MAX_TOKENS_LIMIT = 64;
    private static Engine engine;
    private static OpenAiServer server;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        engine = Engine.open(Fixtures.tiny().resolve("hf"), Options.defaults().withThreads(1), CTX);
        server = OpenAiServer.start(qwen4j.generate.LocalQwen.borrowing(engine, PARALLEL), new OpenAiServer.Config("127.0.0.1", 0, null, PARALLEL, QUEUE, 64 << 10,
                "tiny", MAX_TOKENS_LIMIT));
        http = new Http(server.port());
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (engine != null) engine.close();
    }

    private static String body(int i, int maxTokens, boolean stream) {
        return Http.chat("Fault request " + i, maxTokens, "\"temperature\": 0.9, \"top_k\": 40, \"seed\": " + (500 + i)
                + (stream ? ", \"stream\": true, \"stream_options\": {\"include_usage\": true}" : ""));
    }

    private static void assertHealthy() throws Exception {
        long deadline = System.currentTimeMillis() + 30_000;
        JsonNode h;
        do {
            h = Http.JSON.readTree(http.get("/health").body());
            if (h.path("slots_idle").asInt() == PARALLEL && h.path("queued").asInt() == 0) break;
            Thread.sleep(50);
        } while (System.currentTimeMillis() < deadline);
        assertThat(h.path("slots_idle").asInt()).as("idle slots").isEqualTo(PARALLEL);
        assertThat(h.path("queued").asInt()).as("queued").isZero();
        JsonNode ok = http.postJson("/v1/chat/completions", body(0, 4, false));
        assertThat(ok.path("usage").path("completion_tokens").asInt()).isEqualTo(4);
    }

    /** Raw HTTP/1.1 head for a POST of {@code length} bytes. */
    private static byte[] head(int length) {
        return ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Connection: close\r\nContent-Length: " + length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void slowAndSilentClientsNeitherBlockOthersNorHoldConnections() throws Exception {
        long limitMs = Long.getLong(OpenAiServer.REQUEST_TIME_PROPERTY, OpenAiServer.DEFAULT_REQUEST_SECONDS) * 1000;
        byte[] slowBody = Http.chat("slow", 4, "\"temperature\": 0").getBytes(StandardCharsets.UTF_8);
        List<Socket> slow = new ArrayList<>();
        long t0 = System.nanoTime();
        // 3 clients that send half a request and then trickle a byte now and then; 3 that send nothing
        for (int i = 0; i < 6; i++) {
            Socket s = new Socket("127.0.0.1", server.port());
            s.setSoTimeout((int) limitMs + 10_000);
            if (i < 3) {
                s.getOutputStream().write(head(slowBody.length));
                s.getOutputStream().write(slowBody, 0, slowBody.length / 2);
                s.getOutputStream().flush();
            }
            slow.add(s);
        }
        Thread trickle = Thread.ofVirtual().start(() -> {
            try {
                for (int k = 0; k < 1000; k++) {
                    Thread.sleep(250);
                    for (int i = 0; i < 3; i++) slow.get(i).getOutputStream().write(' ');
                }
            } catch (Exception closed) {
                // the server hung up on us: what this test expects
            }
        });
        // meanwhile, normal clients are served at once
        long served0 = System.nanoTime();
        for (int i = 0; i < 4; i++) {
            JsonNode r = http.postJson("/v1/chat/completions", body(i, 4, false));
            assertThat(r.path("usage").path("completion_tokens").asInt()).isEqualTo(4);
        }
        double servedSeconds = (System.nanoTime() - served0) / 1e9;
        // and the slow ones are cut off after the request-read limit (checked once a second by the JDK server)
        int closed = 0;
        long[] closeMs = new long[slow.size()];
        for (int i = 0; i < slow.size(); i++) {
            Socket s = slow.get(i);
            try (s; InputStream in = s.getInputStream()) {
                try {
                    while (in.read() >= 0) { /* the server may or may not say anything before closing */ }
                    closed++;
                } catch (java.net.SocketException reset) {
                    closed++;
                } catch (SocketTimeoutException stillOpen) {
                    // not closed within the limit + 10 s: counted as open
                }
            }
            closeMs[i] = (System.nanoTime() - t0) / 1_000_000;
        }
        trickle.interrupt();
        long trickling = Math.max(closeMs[0], Math.max(closeMs[1], closeMs[2]));
        long silent = Math.max(closeMs[3], Math.max(closeMs[4], closeMs[5]));
        System.out.printf("fault test, slow clients: 6 connections (3 trickling a byte every 250 ms, 3 silent), %d closed by "
                + "the server: trickling after at most %d ms, silent after at most %d ms (request limit %d ms); 4 normal "
                + "requests served meanwhile in %.2f s%n", closed, trickling, silent, limitMs, servedSeconds);
        assertThat(closed).isEqualTo(6);
        // the JDK server checks requests in progress every second, silent new connections on its 10 s idle tick
        assertThat(trickling).isLessThan(limitMs + 3_000);
        assertThat(silent).isLessThan(limitMs + 13_000);
        assertHealthy();
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void floodBeyondTheQueueGets429AndEveryAcceptedRequestItsOwnCompleteAnswer() throws Exception {
        // 48 clients at once against 2 slots and a queue of 4; refused ones retry until accepted
        int requests = 48, hangUps = 6, maxTokens = 48;
        Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
        Map<Integer, String> answers = new ConcurrentHashMap<>();
        List<String> incomplete = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicInteger lost = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        long t0;
        try (ExecutorService pool = Executors.newFixedThreadPool(requests)) {
            List<Future<?>> fs = new ArrayList<>();
            for (int n = 0; n < requests; n++) {
                int i = n;
                Http client = new Http(server.port());
                fs.add(pool.submit(() -> {
                    try {
                        go.await();
                        if (i < hangUps) {
                            HttpResponse<InputStream> r = client.open("/v1/chat/completions", body(i, 60, true));
                            if (r.statusCode() == 200) {
                                r.body().read(new byte[64]);
                                r.body().close(); // hang up mid-stream
                                outcomes.computeIfAbsent("hung up mid-stream", k -> new AtomicInteger()).incrementAndGet();
                            } else {
                                r.body().close();
                                outcomes.computeIfAbsent("HTTP " + r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
                            }
                            return null;
                        }
                        // refused clients retry (as OpenAI clients do on 429) until their request is accepted
                        for (int attempt = 0; attempt < 2000; attempt++) {
                            if (attempt > 0) Thread.sleep(10 + (i % 7) * 5);
                            if (floodRequest(client, i, maxTokens, outcomes, answers, incomplete) != 429) return null;
                        }
                        incomplete.add(i + ": never accepted");
                    } catch (Exception e) {
                        System.out.println("fault test, flood: request " + i + " lost: " + e);
                        lost.incrementAndGet();
                        outcomes.computeIfAbsent("lost: " + e.getClass().getSimpleName(), k -> new AtomicInteger()).incrementAndGet();
                    }
                    return null;
                }));
            }
            t0 = System.nanoTime();
            go.countDown();
            for (Future<?> f : fs) f.get(3, TimeUnit.MINUTES);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        // mixed answers: each accepted answer must equal what the same request gets alone
        int mixed = 0;
        for (Map.Entry<Integer, String> e : answers.entrySet()) {
            JsonNode alone = http.postJson("/v1/chat/completions", body(e.getKey(), maxTokens, false));
            if (!alone.path("choices").get(0).path("message").path("content").asText().equals(e.getValue())) mixed++;
        }
        System.out.printf("fault test, flood: %d requests at once (%d slots, queue %d, %d hang up mid-stream), outcomes %s, "
                + "incomplete %d, lost %d, mixed %d, %.1f s%n", requests, PARALLEL, QUEUE, hangUps, new TreeMap<>(outcomes),
                incomplete.size(), lost.get(), mixed, seconds);
        assertThat(incomplete).isEmpty();
        assertThat(lost.get()).isZero();
        assertThat(mixed).isZero();
        assertThat(outcomes.getOrDefault("HTTP 429", new AtomicInteger()).get()).as("429s").isPositive();
        assertThat(answers).hasSize(requests - hangUps);
        assertHealthy();
    }

    /** One flood request, streamed for even i; returns the HTTP status. */
    private static int floodRequest(Http client, int i, int maxTokens, Map<String, AtomicInteger> outcomes,
                                    Map<Integer, String> answers, List<String> incomplete) throws Exception {
        if (i % 2 == 0) {
            HttpResponse<InputStream> r = client.open("/v1/chat/completions", body(i, maxTokens, true));
            if (r.statusCode() != 200) {
                checkError(r.statusCode(), new String(r.body().readAllBytes(), StandardCharsets.UTF_8), outcomes, incomplete);
                return r.statusCode();
            }
            Http.Events ev = Http.events(r);
            accept(i, ev.done() && "length".equals(Http.finishReason(ev))
                    && Http.usage(ev).path("completion_tokens").asInt() == maxTokens, Http.chatContent(ev),
                    outcomes, answers, incomplete);
            return 200;
        }
        HttpResponse<String> r = client.post("/v1/chat/completions", body(i, maxTokens, false));
        if (r.statusCode() != 200) {
            checkError(r.statusCode(), r.body(), outcomes, incomplete);
            return r.statusCode();
        }
        JsonNode j = Http.JSON.readTree(r.body());
        accept(i, j.path("usage").path("completion_tokens").asInt() == maxTokens
                && "length".equals(j.path("choices").get(0).path("finish_reason").asText()),
                j.path("choices").get(0).path("message").path("content").asText(), outcomes, answers, incomplete);
        return 200;
    }

    private static void accept(int i, boolean complete, String text, Map<String, AtomicInteger> outcomes,
                               Map<Integer, String> answers, List<String> incomplete) {
        if (!complete) incomplete.add(i + ": " + text);
        answers.put(i, text);
        outcomes.computeIfAbsent("HTTP 200", k -> new AtomicInteger()).incrementAndGet();
    }

    /** A refused request must say why in OpenAI's shape: only 429 (queue full) is expected here. */
    private static void checkError(int status, String body, Map<String, AtomicInteger> outcomes, List<String> incomplete)
            throws Exception {
        outcomes.computeIfAbsent("HTTP " + status, k -> new AtomicInteger()).incrementAndGet();
        JsonNode e = Http.JSON.readTree(body).path("error");
        if (status != 429 || !e.path("message").asText().contains("busy")) incomplete.add("HTTP " + status + ": " + body);
    }

    @Test
    void requestsPastTheContextOrTheTokenLimitGetAClear400() throws Exception {
        Map<String, String> codes = new TreeMap<>();
        String longPrompt = "word ".repeat(CTX * 2);
        HttpResponse<String> tooLong = http.post("/v1/chat/completions", Http.chat(longPrompt, 4, ""));
        HttpResponse<String> tooMany = http.post("/v1/chat/completions", Http.chat("word ".repeat(200), MAX_TOKENS_LIMIT, ""));
        HttpResponse<String> overLimit = http.post("/v1/chat/completions", Http.chat("hi", MAX_TOKENS_LIMIT + 1, ""));
        HttpResponse<String> ids = http.post("/v1/completions", "{\"prompt\": " + java.util.Collections.nCopies(CTX, 785)
                + ", \"max_tokens\": 2}");
        for (var e : Map.of("prompt past the context", tooLong, "max_tokens past the context", tooMany,
                "max_tokens past the limit", overLimit, "token-id prompt past the context", ids).entrySet()) {
            assertThat(e.getValue().statusCode()).as(e.getKey()).isEqualTo(400);
            JsonNode err = Http.JSON.readTree(e.getValue().body()).path("error");
            assertThat(err.path("type").asText()).isEqualTo("invalid_request_error");
            codes.put(e.getKey(), err.path("code").asText() + ": " + err.path("message").asText());
        }
        System.out.println("fault test, context/limits: " + codes);
        assertThat(codes.get("prompt past the context")).startsWith("context_length_exceeded").contains("context is " + CTX);
        assertThat(codes.get("max_tokens past the context")).startsWith("context_length_exceeded");
        assertThat(codes.get("max_tokens past the limit")).startsWith("max_tokens_exceeded")
                .contains("exceeds limit max-tokens=" + MAX_TOKENS_LIMIT);
        // without max_tokens, a request stops at the limit
        JsonNode open = http.postJson("/v1/completions", "{\"prompt\": \"The answer is\", \"temperature\": 0, \"stop\": [\"never-there\"]}");
        assertThat(open.path("usage").path("completion_tokens").asInt()).isLessThanOrEqualTo(MAX_TOKENS_LIMIT);
        assertHealthy();
    }

    @Test
    void malformedBodiesGetAClear400() throws Exception {
        byte[][] bodies = {
            "{\"messages\": [{\"role\": \"user\", \"content\": \"caf\u00e9".getBytes(StandardCharsets.ISO_8859_1), // Latin-1 é
            {'{', '"', 'a', '"', ':', '"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"', '}'}, // UTF-8-encoded surrogate
            {(byte) 0xC0, (byte) 0x80}, // overlong NUL
            "{\"messages\": []}".getBytes(StandardCharsets.UTF_16LE), // JSON, but not UTF-8
            {0, 0, 0, '{', 0, 0, 0, '}'}, // what Jackson would take for UTF-32
        };
        Map<Integer, Integer> statuses = new TreeMap<>();
        for (byte[] b : bodies) {
            try (Socket s = new Socket("127.0.0.1", server.port())) {
                s.setSoTimeout(30_000);
                OutputStream out = s.getOutputStream();
                out.write(head(b.length));
                out.write(b);
                out.flush();
                String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                int status = Integer.parseInt(response.substring(9, 12));
                statuses.merge(status, 1, Integer::sum);
                assertThat(status).as(response).isEqualTo(400);
                String json = response.substring(response.indexOf("\r\n\r\n") + 4);
                JsonNode err = Http.JSON.readTree(json).path("error");
                assertThat(err.path("message").asText()).as(json).containsAnyOf("not valid UTF-8", "not valid JSON");
            }
        }
        System.out.println("fault test, malformed bodies: " + bodies.length + " sent, statuses " + statuses);
        assertHealthy();
    }

    @Test
    void memoryStaysBoundedOverManyRequests() throws Exception {
        Runtime rt = Runtime.getRuntime();
        http.postJson("/v1/chat/completions", body(1, 4, false)); // warm
        System.gc();
        long before = rt.totalMemory() - rt.freeMemory();
        int n = 150;
        for (int i = 0; i < n; i++) {
            if (i % 3 == 0) {
                HttpResponse<InputStream> r = http.open("/v1/chat/completions", body(i, 30, true));
                r.body().read(new byte[32]);
                r.body().close();
            } else if (i % 3 == 1) {
                http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"" + "x".repeat(i * 50) + "\"}], \"max_tokens\": 2}");
            } else {
                http.post("/v1/completions", "{\"prompt\": \"bad\", \"max_tokens\": -1}");
            }
        }
        assertHealthy();
        System.gc();
        long after = rt.totalMemory() - rt.freeMemory();
        System.out.printf("fault test, memory: %d mixed requests (hang-ups, long prompts, invalid); heap in use after GC "
                + "%.1f MB before, %.1f MB after%n", n, before / 1e6, after / 1e6);
        assertThat(after - before).isLessThan(64L << 20);
    }
}
