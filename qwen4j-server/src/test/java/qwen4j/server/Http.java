package qwen4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Test helper: raw HTTP against a server on 127.0.0.1. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();
    final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    final int port;

    Http(int port) { this.port = port; }

    URI uri(String path) { return URI.create("http://127.0.0.1:" + port + path); }

    HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) b.headers(headers);
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode postJson(String path, String body) throws Exception {
        HttpResponse<String> r = post(path, body);
        if (r.statusCode() != 200) throw new AssertionError("HTTP " + r.statusCode() + ": " + r.body());
        return JSON.readTree(r.body());
    }

    /** Opens a streaming request; the caller reads events and closes. */
    HttpResponse<InputStream> open(String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
    }

    /** Server-sent events of a stream, in order; "[DONE]" as a null entry at the end. */
    record Events(List<JsonNode> chunks, boolean done) {}

    Events stream(String path, String body) throws Exception {
        return events(open(path, body));
    }

    /** Reads a whole event stream from a response that was opened with {@link #open}. */
    static Events events(HttpResponse<InputStream> r) throws Exception {
        if (r.statusCode() != 200) {
            throw new AssertionError("HTTP " + r.statusCode() + ": " + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
        }
        if (!r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")) {
            throw new AssertionError("not an event stream: " + r.headers());
        }
        List<JsonNode> chunks = new ArrayList<>();
        boolean done = false;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isEmpty()) continue;
                if (!line.startsWith("data: ")) throw new AssertionError("not an SSE data line: " + line);
                String data = line.substring(6);
                if (done) throw new AssertionError("data after [DONE]: " + data);
                if (data.equals("[DONE]")) done = true;
                else chunks.add(JSON.readTree(data));
            }
        }
        return new Events(chunks, done);
    }

    static String chatContent(Events e) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode c : e.chunks()) {
            for (JsonNode ch : c.path("choices")) {
                JsonNode content = ch.path("delta").get("content");
                if (content != null && content.isTextual()) sb.append(content.asText());
            }
        }
        return sb.toString();
    }

    static String completionText(Events e) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode c : e.chunks()) for (JsonNode ch : c.path("choices")) sb.append(ch.path("text").asText(""));
        return sb.toString();
    }

    static String finishReason(Events e) {
        String f = null;
        for (JsonNode c : e.chunks()) {
            for (JsonNode ch : c.path("choices")) {
                if (ch.hasNonNull("finish_reason")) {
                    if (f != null) throw new AssertionError("two finish reasons");
                    f = ch.get("finish_reason").asText();
                }
            }
        }
        return f;
    }

    static JsonNode usage(Events e) {
        JsonNode u = null;
        for (JsonNode c : e.chunks()) if (c.hasNonNull("usage")) u = c.get("usage");
        return u;
    }

    static String chat(String user, int maxTokens, String extra) {
        try {
            return "{\"messages\": [{\"role\": \"user\", \"content\": " + JSON.writeValueAsString(user) + "}], \"max_tokens\": "
                    + maxTokens + (extra.isEmpty() ? "" : ", " + extra) + "}";
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
