package qwen4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A client of the server's streaming endpoints on 127.0.0.1: posts a request, reads its server-sent
 * events with the time each arrived, and takes the answer apart (text, finish reason, usage). Used by
 * {@code bench-load} and the server's tests.
 */
public class SseClient {
    public static final ObjectMapper JSON = new ObjectMapper();
    protected final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    protected final int port;

    public SseClient(int port) { this.port = port; }

    public URI uri(String path) { return URI.create("http://127.0.0.1:" + port + path); }

    /** Opens a streaming request; the caller reads the events ({@link #events}) or closes the body. */
    public HttpResponse<InputStream> open(String path, String body) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
    }

    /**
     * The data events of a stream, in order, each with its arrival time ({@link System#nanoTime()});
     * {@code done}: the stream ended with "[DONE]".
     */
    public record Events(List<JsonNode> chunks, long[] arrivals, boolean done) {}

    public Events stream(String path, String body) throws IOException, InterruptedException {
        return events(open(path, body));
    }

    /** Reads a whole event stream from a response opened with {@link #open}; an HTTP error or a malformed stream throws. */
    public static Events events(HttpResponse<InputStream> r) throws IOException {
        if (r.statusCode() != 200) {
            throw new IOException("HTTP " + r.statusCode() + ": " + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
        }
        if (!r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")) {
            throw new IOException("not an event stream: " + r.headers());
        }
        List<JsonNode> chunks = new ArrayList<>();
        long[] arrivals = new long[16];
        boolean done = false;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isEmpty()) continue;
                if (!line.startsWith("data: ")) throw new IOException("not an SSE data line: " + line);
                String data = line.substring(6);
                if (done) throw new IOException("data after [DONE]: " + data);
                if (data.equals("[DONE]")) {
                    done = true;
                } else {
                    if (chunks.size() == arrivals.length) arrivals = Arrays.copyOf(arrivals, 2 * arrivals.length);
                    arrivals[chunks.size()] = System.nanoTime();
                    chunks.add(JSON.readTree(data));
                }
            }
        }
        return new Events(chunks, Arrays.copyOf(arrivals, chunks.size()), done);
    }

    /** The text of a chat completion stream (the deltas' content). */
    public static String chatContent(Events e) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode c : e.chunks()) {
            for (JsonNode ch : c.path("choices")) {
                JsonNode content = ch.path("delta").get("content");
                if (content != null && content.isTextual()) sb.append(content.asText());
            }
        }
        return sb.toString();
    }

    /** The text of a completion stream. */
    public static String completionText(Events e) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode c : e.chunks()) for (JsonNode ch : c.path("choices")) sb.append(ch.path("text").asText(""));
        return sb.toString();
    }

    /** The one finish reason of a stream (null: none); two are an error. */
    public static String finishReason(Events e) throws IOException {
        String f = null;
        for (JsonNode c : e.chunks()) {
            for (JsonNode ch : c.path("choices")) {
                if (ch.hasNonNull("finish_reason")) {
                    if (f != null) throw new IOException("two finish reasons");
                    f = ch.get("finish_reason").asText();
                }
            }
        }
        return f;
    }

    /** The usage of a stream (with {@code stream_options.include_usage}), or null. */
    public static JsonNode usage(Events e) {
        JsonNode u = null;
        for (JsonNode c : e.chunks()) if (c.hasNonNull("usage")) u = c.get("usage");
        return u;
    }

    /** A chat request body with one user message; {@code extra}: more JSON fields ("" for none). */
    public static String chat(String user, int maxTokens, String extra) {
        try {
            return "{\"messages\": [{\"role\": \"user\", \"content\": " + JSON.writeValueAsString(user) + "}], \"max_tokens\": "
                    + maxTokens + (extra.isEmpty() ? "" : ", " + extra) + "}";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e); // a String always serializes
        }
    }
}
