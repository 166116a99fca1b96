package qwen4j.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.model.Options;

/**
 * Continuous batching in the server: 16 streaming clients at once, prompts of different lengths, at
 * temperature 0, decoded together (--parallel 8, the rest queued): each answer equals the same request
 * alone, token for token; /metrics and usage's cached_tokens report what happened.
 */
class BatchedServerTest {
    static final int CLIENTS = 16, MAX_TOKENS = 10;

    private static String body(int i) {
        return Http.chat("Client " + i + " asks: " + "tell me more ".repeat(1 + 3 * i), MAX_TOKENS,
                "\"temperature\": 0, \"stream\": true, \"stream_options\": {\"include_usage\": true}");
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void sixteenStreamingClientsGetWhatEachGetsAlone() throws Exception {
        try (Engine engine = Engine.open(Fixtures.tiny().resolve("hf"), Options.defaults().withThreads(2), 512);
             OpenAiServer server = OpenAiServer.start(qwen4j.generate.LocalQwen.borrowing(engine, 8), new OpenAiServer.Config("127.0.0.1", 0, null, 8, 64,
                     OpenAiServer.Config.DEFAULT_MAX_BODY, "tiny"))) {
            Http http = new Http(server.port());
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                Http.Events ev = http.stream("/v1/chat/completions", body(i));
                expected.add(Http.chatContent(ev));
                assertThat(Http.usage(ev).path("completion_tokens").asInt()).isEqualTo(MAX_TOKENS);
                // every chat prompt starts with the template's system turn: from the second one on it is cached
                if (i > 0) assertThat(Http.usage(ev).path("prompt_tokens_details").path("cached_tokens").asInt()).isGreaterThan(0);
            }
            List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());
            ConcurrentHashMap<Integer, String> got = new ConcurrentHashMap<>();
            CountDownLatch go = new CountDownLatch(1);
            try (ExecutorService pool = Executors.newFixedThreadPool(CLIENTS)) {
                List<Future<?>> fs = new ArrayList<>();
                for (int n = 0; n < CLIENTS; n++) {
                    int i = n;
                    fs.add(pool.submit(() -> {
                        go.await();
                        Http.Events ev = new Http(server.port()).stream("/v1/chat/completions", body(i));
                        if (!ev.done() || Http.usage(ev).path("completion_tokens").asInt() != MAX_TOKENS) {
                            problems.add(i + ": incomplete stream");
                        }
                        got.put(i, Http.chatContent(ev));
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> f : fs) f.get(4, TimeUnit.MINUTES);
            }
            assertThat(problems).isEmpty();
            assertThat(got).hasSize(CLIENTS);
            for (int i = 0; i < CLIENTS; i++) assertThat(got.get(i)).as("client %d", i).isEqualTo(expected.get(i));

            String metrics = http.get("/metrics").body();
            assertThat(metrics).contains("# TYPE qwen4j_time_to_first_token_seconds histogram")
                    .contains("qwen4j_inter_token_latency_seconds_count")
                    .contains("qwen4j_kv_blocks_free").contains("qwen4j_queue_length 0").contains("qwen4j_sequences_active 0");
            assertThat(metric(metrics, "qwen4j_tokens_generated_total")).isEqualTo(2L * CLIENTS * MAX_TOKENS);
            assertThat(metric(metrics, "qwen4j_requests_total")).isEqualTo(2L * CLIENTS);
            assertThat(metric(metrics, "qwen4j_kv_blocks_used")).isZero();
            JsonNode h = Http.JSON.readTree(http.get("/health").body());
            assertThat(h.path("slots_idle").asInt()).isEqualTo(8);
        }
    }

    static long metric(String text, String name) {
        return text.lines().filter(l -> l.startsWith(name + " ")).mapToLong(l -> Long.parseLong(l.substring(name.length() + 1)))
                .findFirst().orElseThrow();
    }
}
