package qwen4j.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.model.Options;

/**
 * Many concurrent clients, some streaming, some hanging up mid-stream: every completed answer must equal what
 * the same request gets alone (so it is complete and nobody else's), and the server must stay healthy.
 */
class LoadTest {
    static final int CLIENTS = 40;
    static final int DISCONNECTING = 8;
    static final int MAX_TOKENS = 12;

    private static String body(int i, boolean stream) {
        // each request its own prompt and seed; sampled, so a mix-up between slots would show
        return Http.chat("Request number " + i + ": say something", MAX_TOKENS,
                "\"temperature\": 0.9, \"top_k\": 40, \"seed\": " + (1000 + i)
                        + (stream ? ", \"stream\": true, \"stream_options\": {\"include_usage\": true}" : ""));
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void concurrentClientsGetTheirOwnCompleteAnswers() throws Exception {
        try (Engine engine = Engine.open(Fixtures.tiny().resolve("hf"), Options.defaults().withThreads(1), 256);
             OpenAiServer server = OpenAiServer.start(qwen4j.generate.LocalQwen.borrowing(engine, 4), new OpenAiServer.Config("127.0.0.1", 0, null, 4, 64,
                     OpenAiServer.Config.DEFAULT_MAX_BODY, "tiny"))) {
            Http http = new Http(server.port());
            // the reference: each request alone, one after another
            Map<Integer, String> expected = new ConcurrentHashMap<>();
            for (int i = 0; i < CLIENTS; i++) {
                JsonNode r = http.postJson("/v1/chat/completions", body(i, false));
                expected.put(i, r.path("choices").get(0).path("message").path("content").asText());
            }
            AtomicInteger completed = new AtomicInteger(), disconnected = new AtomicInteger();
            Map<String, AtomicInteger> errors = new ConcurrentHashMap<>();
            List<String> mismatches = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch go = new CountDownLatch(1);
            long t0;
            try (ExecutorService pool = Executors.newFixedThreadPool(CLIENTS)) {
                List<Future<?>> fs = new ArrayList<>();
                for (int n = 0; n < CLIENTS; n++) {
                    int i = n;
                    fs.add(pool.submit(() -> {
                        try {
                            go.await();
                            Http client = new Http(server.port());
                            if (i < DISCONNECTING) {
                                HttpResponse<InputStream> r = client.open("/v1/chat/completions",
                                        Http.chat("Hang up " + i, 200, "\"temperature\": 0.9, \"seed\": " + i + ", \"stream\": true"));
                                if (r.statusCode() != 200) {
                                    errors.computeIfAbsent("HTTP " + r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
                                    return null;
                                }
                                r.body().read(new byte[100]);
                                r.body().close();
                                disconnected.incrementAndGet();
                            } else if (i % 2 == 0) {
                                Http.Events ev = client.stream("/v1/chat/completions", body(i, true));
                                String text = Http.chatContent(ev);
                                if (!ev.done() || !Http.finishReason(ev).equals("length")
                                        || Http.usage(ev).path("completion_tokens").asInt() != MAX_TOKENS
                                        || !text.equals(expected.get(i))) {
                                    mismatches.add(i + ": stream got '" + text + "', expected '" + expected.get(i) + "'");
                                }
                                completed.incrementAndGet();
                            } else {
                                HttpResponse<String> r = client.post("/v1/chat/completions", body(i, false));
                                if (r.statusCode() != 200) {
                                    errors.computeIfAbsent("HTTP " + r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
                                    return null;
                                }
                                JsonNode j = Http.JSON.readTree(r.body());
                                String text = j.path("choices").get(0).path("message").path("content").asText();
                                if (!text.equals(expected.get(i)) || j.path("usage").path("completion_tokens").asInt() != MAX_TOKENS) {
                                    mismatches.add(i + ": got '" + text + "', expected '" + expected.get(i) + "'");
                                }
                                completed.incrementAndGet();
                            }
                        } catch (Exception e) {
                            errors.computeIfAbsent(e.getClass().getSimpleName(), k -> new AtomicInteger()).incrementAndGet();
                        }
                        return null;
                    }));
                }
                t0 = System.nanoTime();
                go.countDown();
                for (Future<?> f : fs) f.get(4, TimeUnit.MINUTES);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("load test: %d clients (%d hung up mid-stream), %d completed, errors %s, mismatches %d, %.1f s%n",
                    CLIENTS, disconnected.get(), completed.get(), errors, mismatches.size(), seconds);
            assertThat(mismatches).isEmpty();
            assertThat(errors).isEmpty();
            assertThat(completed.get()).isEqualTo(CLIENTS - DISCONNECTING);
            assertThat(disconnected.get()).isEqualTo(DISCONNECTING);
            // healthy afterwards: every slot free again, nothing queued, and it still answers correctly
            long deadline = System.currentTimeMillis() + 30_000;
            JsonNode h;
            do {
                h = Http.JSON.readTree(http.get("/health").body());
                if (h.path("slots_idle").asInt() == 4) break;
                Thread.sleep(50);
            } while (System.currentTimeMillis() < deadline);
            assertThat(h.path("slots_idle").asInt()).isEqualTo(4);
            assertThat(h.path("queued").asInt()).isZero();
            JsonNode again = http.postJson("/v1/chat/completions", body(CLIENTS - 1, false));
            assertThat(again.path("choices").get(0).path("message").path("content").asText()).isEqualTo(expected.get(CLIENTS - 1));
        }
    }
}
