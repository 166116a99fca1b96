package qwen4j.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.api.ToolCall;
import qwen4j.api.ToolCalls;
import qwen4j.chat.ChatTemplate;
import qwen4j.generate.Engine;
import qwen4j.model.Options;

/** End-to-end over real HTTP on an ephemeral port against the tiny fixture model. */
class ServerTest {
    static final int CTX = 512;
    private static Engine engine;
    private static OpenAiServer server;
    private static Http http;
    private static ChatTemplate template;

    @BeforeAll
    static void start() throws Exception {
        engine = Engine.open(Fixtures.tiny().resolve("hf"), Options.defaults().withThreads(1), CTX);
        template = ChatTemplate.forModel(engine.files(), engine.tokenizer());
        server = OpenAiServer.start(qwen4j.generate.LocalQwen.borrowing(engine, 2), new OpenAiServer.Config("127.0.0.1", 0, null, 2, 16, 4096, "tiny"));
        http = new Http(server.port());
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (engine != null) engine.close();
    }

    private int chatPromptTokens(String user) {
        String text = template.render(List.of(Map.of("role", "user", "content", user)), null, true);
        return engine.tokenizer().encode(text, true).length;
    }

    @Test
    void healthAndModels() throws Exception {
        JsonNode h = Http.JSON.readTree(http.get("/health").body());
        assertThat(h.path("status").asText()).isEqualTo("ok");
        assertThat(h.path("slots_total").asInt()).isEqualTo(2);
        HttpResponse<String> m = http.get("/v1/models");
        assertThat(m.statusCode()).isEqualTo(200);
        JsonNode models = Http.JSON.readTree(m.body());
        assertThat(models.path("object").asText()).isEqualTo("list");
        assertThat(models.path("data").get(0).path("id").asText()).isEqualTo("tiny");
        assertThat(http.get("/v1/models/tiny").statusCode()).isEqualTo(200);
        assertThat(http.get("/v1/models/other").statusCode()).isEqualTo(404);
    }

    @Test
    void nonStreamChatHasExactUsage() throws Exception {
        JsonNode r = http.postJson("/v1/chat/completions", Http.chat("Hello there", 8, "\"temperature\": 0"));
        assertThat(r.path("object").asText()).isEqualTo("chat.completion");
        assertThat(r.path("model").asText()).isEqualTo("tiny");
        JsonNode choice = r.path("choices").get(0);
        assertThat(choice.path("message").path("role").asText()).isEqualTo("assistant");
        assertThat(choice.path("message").path("content").asText()).isNotEmpty();
        assertThat(choice.path("finish_reason").asText()).isEqualTo("length");
        JsonNode u = r.path("usage");
        assertThat(u.path("prompt_tokens").asInt()).isEqualTo(chatPromptTokens("Hello there"));
        assertThat(u.path("completion_tokens").asInt()).isEqualTo(8);
        assertThat(u.path("total_tokens").asInt()).isEqualTo(u.path("prompt_tokens").asInt() + 8);
    }

    @Test
    void streamGivesTheSameTokensAsNonStreamAtTemperatureZero() throws Exception {
        for (String user : List.of("Tell me a story", "ünïcödé 漢字 🙂 test", "Count to ten")) {
            JsonNode whole = http.postJson("/v1/chat/completions", Http.chat(user, 24, "\"temperature\": 0"));
            Http.Events ev = http.stream("/v1/chat/completions", Http.chat(user, 24,
                    "\"temperature\": 0, \"stream\": true, \"stream_options\": {\"include_usage\": true}"));
            assertThat(ev.done()).isTrue();
            assertThat(ev.chunks().get(0).path("object").asText()).isEqualTo("chat.completion.chunk");
            assertThat(ev.chunks().get(0).path("choices").get(0).path("delta").path("role").asText()).isEqualTo("assistant");
            assertThat(Http.chatContent(ev)).isEqualTo(whole.path("choices").get(0).path("message").path("content").asText());
            assertThat(Http.finishReason(ev)).isEqualTo(whole.path("choices").get(0).path("finish_reason").asText());
            JsonNode u = Http.usage(ev);
            assertThat(u).isNotNull();
            assertThat(u.path("prompt_tokens").asInt()).isEqualTo(chatPromptTokens(user));
            assertThat(u.path("completion_tokens").asInt()).isEqualTo(whole.path("usage").path("completion_tokens").asInt());
            // every delta is valid text: no lone surrogates, no replacement characters from split UTF-8
            for (JsonNode c : ev.chunks()) {
                for (JsonNode ch : c.path("choices")) {
                    String s = ch.path("delta").path("content").asText("");
                    if (!s.isEmpty()) {
                        assertThat(Character.isLowSurrogate(s.charAt(0))).isFalse();
                        assertThat(Character.isHighSurrogate(s.charAt(s.length() - 1))).isFalse();
                    }
                }
            }
        }
    }

    @Test
    void completionsStreamAndNonStreamAgree() throws Exception {
        String body = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 16, \"temperature\": 0";
        JsonNode whole = http.postJson("/v1/completions", body + "}");
        assertThat(whole.path("object").asText()).isEqualTo("text_completion");
        assertThat(whole.path("usage").path("prompt_tokens").asInt())
                .isEqualTo(engine.tokenizer().encode("Once upon a time", true).length);
        assertThat(whole.path("usage").path("completion_tokens").asInt()).isEqualTo(16);
        Http.Events ev = http.stream("/v1/completions", body + ", \"stream\": true}");
        assertThat(ev.done()).isTrue();
        assertThat(Http.completionText(ev)).isEqualTo(whole.path("choices").get(0).path("text").asText());
        // token ids work as a prompt too
        int[] ids = engine.tokenizer().encode("Once upon a time", true);
        StringBuilder arr = new StringBuilder();
        for (int id : ids) arr.append(arr.isEmpty() ? "" : ",").append(id);
        JsonNode byIds = http.postJson("/v1/completions", "{\"prompt\": [" + arr + "], \"max_tokens\": 16, \"temperature\": 0}");
        assertThat(byIds.path("choices").get(0).path("text").asText()).isEqualTo(whole.path("choices").get(0).path("text").asText());
    }

    @Test
    void seededSamplingIsReproducibleAndPrefixReuseDoesNotChangeIt() throws Exception {
        String body = Http.chat("Pick a word", 16, "\"temperature\": 0.9, \"top_p\": 0.95, \"seed\": 42");
        JsonNode a = http.postJson("/v1/chat/completions", body);
        JsonNode b = http.postJson("/v1/chat/completions", body);
        assertThat(b.path("choices").get(0).path("message").path("content").asText())
                .isEqualTo(a.path("choices").get(0).path("message").path("content").asText());
        assertThat(b.path("usage").path("prompt_tokens_details").path("cached_tokens").asInt()).isPositive();
    }

    @Test
    void stopStringsEndTheAnswerBeforeThem() throws Exception {
        JsonNode whole = http.postJson("/v1/chat/completions", Http.chat("Stop test", 24, "\"temperature\": 0"));
        String text = whole.path("choices").get(0).path("message").path("content").asText();
        assertThat(text.length()).isGreaterThan(6);
        String stop = text.substring(text.length() / 2, text.length() / 2 + 2);
        int at = text.indexOf(stop);
        for (String extra : List.of("\"stop\": " + Http.JSON.writeValueAsString(stop),
                "\"stop\": [\"\\u0000never\", " + Http.JSON.writeValueAsString(stop) + "]")) {
            JsonNode r = http.postJson("/v1/chat/completions", Http.chat("Stop test", 24, "\"temperature\": 0, " + extra));
            assertThat(r.path("choices").get(0).path("message").path("content").asText()).isEqualTo(text.substring(0, at));
            assertThat(r.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
            Http.Events ev = http.stream("/v1/chat/completions", Http.chat("Stop test", 24,
                    "\"temperature\": 0, \"stream\": true, " + extra));
            assertThat(Http.chatContent(ev)).isEqualTo(text.substring(0, at));
        }
    }

    @Test
    void logprobsAreReportedPerToken() throws Exception {
        JsonNode r = http.postJson("/v1/chat/completions", Http.chat("Hi", 5,
                "\"temperature\": 0, \"logprobs\": true, \"top_logprobs\": 3"));
        JsonNode content = r.path("choices").get(0).path("logprobs").path("content");
        assertThat(content.size()).isEqualTo(5);
        for (JsonNode t : content) {
            assertThat(t.path("logprob").asDouble()).isLessThanOrEqualTo(0);
            assertThat(t.path("top_logprobs").size()).isEqualTo(3);
            // greedy: the chosen token is the most likely one
            assertThat(t.path("logprob").asDouble()).isEqualTo(t.path("top_logprobs").get(0).path("logprob").asDouble());
        }
    }

    @Test
    void toolsReachTheTemplate() throws Exception {
        String tools = "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
                + "\"description\": \"Weather for a city\", \"parameters\": {\"type\": \"object\", "
                + "\"properties\": {\"city\": {\"type\": \"string\"}}}}}]";
        JsonNode with = http.postJson("/v1/chat/completions", Http.chat("Weather?", 2, "\"temperature\": 0, " + tools));
        JsonNode without = http.postJson("/v1/chat/completions", Http.chat("Weather?", 2, "\"temperature\": 0"));
        assertThat(with.path("usage").path("prompt_tokens").asInt())
                .isGreaterThan(without.path("usage").path("prompt_tokens").asInt() + 20);
        // an assistant turn with tool_calls and a tool answer are accepted
        String history = "{\"temperature\": 0, \"max_tokens\": 2, " + tools + ", \"messages\": ["
                + "{\"role\": \"user\", \"content\": \"Weather in Paris?\"},"
                + "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\","
                + " \"function\": {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}}]},"
                + "{\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"sunny\"}]}";
        assertThat(http.post("/v1/chat/completions", history).statusCode()).isEqualTo(200);
    }

    @Test
    void toolCallBlocksParseIntoOpenAiCalls() {
        ToolCalls.Parsed p = ToolCalls.parse("Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                + "{\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"now\"}\n</tool_call>");
        assertThat(p.content()).isEqualTo("Let me check.");
        assertThat(p.calls()).extracting(ToolCall::name, ToolCall::arguments)
                .containsExactly(tuple("get_weather", "{\"city\":\"Paris\"}"), tuple("now", "{}"));
        assertThat(ToolCalls.parse("<tool_call>not json</tool_call>").calls()).isEmpty();
        StringBuilder out = new StringBuilder();
        ToolCalls.Filter f = ToolCalls.filter(out::append);
        for (String piece : List.of("Hi <", "tool", "_call>{\"name\"", ": \"x\"}</tool_call>")) f.accept(piece);
        f.finish();
        assertThat(out.toString()).isEqualTo("Hi ");
        assertThat(f.sawCall()).isTrue();
        StringBuilder plain = new StringBuilder();
        ToolCalls.Filter g = ToolCalls.filter(plain::append);
        for (String piece : List.of("a <to", "ol> b <")) g.accept(piece);
        g.finish();
        assertThat(plain.toString()).isEqualTo("a <tool> b <");
    }

    @Test
    void clientDisconnectMidStreamFreesTheSlot() throws Exception {
        HttpResponse<InputStream> r = http.open("/v1/chat/completions",
                Http.chat("Go on forever", CTX - 64, "\"temperature\": 0, \"stream\": true"));
        assertThat(r.statusCode()).isEqualTo(200);
        InputStream in = r.body();
        byte[] buf = new byte[256];
        assertThat(in.read(buf)).isPositive();
        in.close();
        long deadline = System.currentTimeMillis() + 30_000;
        JsonNode h;
        do {
            Thread.sleep(50);
            h = Http.JSON.readTree(http.get("/health").body());
        } while (h.path("slots_idle").asInt() < 2 && System.currentTimeMillis() < deadline);
        assertThat(h.path("slots_idle").asInt()).isEqualTo(2);
        assertThat(http.postJson("/v1/chat/completions", Http.chat("still fine?", 4, "")).path("choices").size()).isEqualTo(1);
    }

    // ---------------------------------------------------------------- errors

    private static JsonNode error(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).contains("application/json");
        assertThat(r.body()).doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("qwen4j.");
        JsonNode e = Http.JSON.readTree(r.body()).path("error");
        assertThat(e.isObject()).isTrue();
        assertThat(e.path("message").asText()).isNotBlank();
        assertThat(e.path("type").asText()).isNotBlank();
        assertThat(e.has("param")).isTrue();
        assertThat(e.has("code")).isTrue();
        return e;
    }

    @Test
    void badRequestsGet400InOpenAiShape() throws Exception {
        String c = "/v1/chat/completions";
        assertThat(error(http.post(c, "{\"messages\": [}"), 400).path("message").asText()).contains("not valid JSON");
        error(http.post(c, ""), 400);
        error(http.post(c, "[1, 2]"), 400);
        error(http.post(c, "{}"), 400);
        assertThat(error(http.post(c, "{\"messages\": []}"), 400).path("param").asText()).isEqualTo("messages");
        error(http.post(c, "{\"messages\": \"hi\"}"), 400);
        assertThat(error(http.post(c, "{\"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}"), 400)
                .path("param").asText()).isEqualTo("messages[0].role");
        error(http.post(c, "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}"), 400);
        error(http.post(c, "{\"messages\": [{\"content\": \"hi\"}]}"), 400);
        assertThat(error(http.post(c, Http.chat("hi", 4, "\"temperature\": \"hot\"")), 400).path("param").asText())
                .isEqualTo("temperature");
        error(http.post(c, Http.chat("hi", 4, "\"temperature\": 7")), 400);
        error(http.post(c, Http.chat("hi", 4, "\"top_p\": 0")), 400);
        error(http.post(c, Http.chat("hi", 4, "\"stream\": \"yes\"")), 400);
        error(http.post(c, Http.chat("hi", 4, "\"stop\": 3")), 400);
        error(http.post(c, Http.chat("hi", 4, "\"stop\": [\"\"]")), 400);
        error(http.post(c, Http.chat("hi", 4, "\"seed\": 1.5")), 400);
        error(http.post(c, Http.chat("hi", 4, "\"n\": 2")), 400);
        error(http.post(c, Http.chat("hi", 0, "")), 400);
        error(http.post(c, Http.chat("hi", 4, "\"tools\": {}")), 400);
        error(http.post("/v1/completions", "{\"max_tokens\": 3}"), 400);
        error(http.post("/v1/completions", "{\"prompt\": \"\"}"), 400);
        error(http.post("/v1/completions", "{\"prompt\": [999999999]}"), 400);
        error(http.post("/v1/completions", "{\"prompt\": {\"a\": 1}}"), 400);
    }

    @Test
    void promptLongerThanTheContextGets400WithTheCounts() throws Exception {
        String longText = "word ".repeat(CTX + 50);
        JsonNode e = error(http.post("/v1/chat/completions", Http.chat(longText, 4, "")), 400);
        assertThat(e.path("code").asText()).isEqualTo("context_length_exceeded");
        int tokens = chatPromptTokens(longText);
        assertThat(e.path("message").asText()).contains(String.valueOf(CTX)).contains(String.valueOf(tokens));
        JsonNode e2 = error(http.post("/v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": " + CTX + "}"), 400);
        assertThat(e2.path("code").asText()).isEqualTo("context_length_exceeded");
        assertThat(e2.path("message").asText()).contains(String.valueOf(CTX));
    }

    @Test
    void bodyTooLargeGets413() throws Exception {
        JsonNode e = error(http.post("/v1/chat/completions", Http.chat("x".repeat(5000), 4, "")), 413);
        assertThat(e.path("message").asText()).contains("4096");
    }

    @Test
    void unknownPathAndWrongMethod() throws Exception {
        error(http.get("/v2/nothing"), 404);
        error(http.post("/v1/embeddings", "{}"), 404);
        HttpResponse<String> r = http.get("/v1/chat/completions");
        error(r, 405);
        assertThat(r.headers().firstValue("Allow")).contains("POST");
        error(http.post("/v1/models", "{}"), 405);
        error(http.post("/health", "{}"), 405);
    }

    @Test
    void apiKeyIsRequiredWhenSet() throws Exception {
        try (OpenAiServer keyed = OpenAiServer.start(qwen4j.generate.LocalQwen.borrowing(engine, 1), new OpenAiServer.Config("127.0.0.1", 0, "sekret", 1, 4,
                OpenAiServer.Config.DEFAULT_MAX_BODY, "tiny"))) {
            Http k = new Http(keyed.port());
            String body = Http.chat("hi", 2, "");
            assertThat(error(k.post("/v1/chat/completions", body), 401).path("code").asText()).isEqualTo("invalid_api_key");
            error(k.post("/v1/chat/completions", body, "Authorization", "Bearer wrong"), 401);
            error(k.post("/v1/chat/completions", body, "Authorization", "sekret"), 401);
            error(k.get("/v1/models"), 401);
            assertThat(k.post("/v1/chat/completions", body, "Authorization", "Bearer sekret").statusCode()).isEqualTo(200);
            assertThat(k.get("/health").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void fullQueueGets429() throws Exception {
        try (OpenAiServer small = OpenAiServer.start(qwen4j.generate.LocalQwen.borrowing(engine, 1), new OpenAiServer.Config("127.0.0.1", 0, null, 1, 1,
                OpenAiServer.Config.DEFAULT_MAX_BODY, "tiny"))) {
            Http s = new Http(small.port());
            HttpResponse<InputStream> running = s.open("/v1/chat/completions",
                    Http.chat("long one", CTX - 64, "\"temperature\": 0, \"stream\": true"));
            assertThat(running.statusCode()).isEqualTo(200);
            assertThat(running.body().read(new byte[64])).isPositive(); // it holds the only slot
            CompletableFuture<HttpResponse<String>> queued = CompletableFuture.supplyAsync(() -> {
                try {
                    return s.post("/v1/chat/completions", Http.chat("queued", 3, "\"temperature\": 0"));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            long deadline = System.currentTimeMillis() + 30_000;
            while (Http.JSON.readTree(s.get("/health").body()).path("queued").asInt() < 1) {
                assertThat(System.currentTimeMillis()).isLessThan(deadline);
                Thread.sleep(20);
            }
            JsonNode e = error(s.post("/v1/chat/completions", Http.chat("refused", 3, "")), 429);
            assertThat(e.path("code").asText()).isEqualTo("queue_full");
            running.body().close(); // disconnect: the slot frees, the queued request runs
            HttpResponse<String> q = queued.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(q.statusCode()).isEqualTo(200);
            assertThat(Http.JSON.readTree(q.body()).path("usage").path("completion_tokens").asInt()).isEqualTo(3);
        }
    }
}
