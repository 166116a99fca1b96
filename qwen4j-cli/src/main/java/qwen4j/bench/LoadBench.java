package qwen4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import qwen4j.api.Qwen;
import qwen4j.generate.Engine;
import qwen4j.generate.LocalQwen;
import qwen4j.server.OpenAiServer;
import qwen4j.server.SseClient;

/**
 * A load test against a running server: streaming chat requests at temperature 0 with prompts of
 * different lengths, first each alone (one after another: the reference), then all from concurrent
 * clients. Every concurrent answer must equal its reference (text, completion tokens, finish reason);
 * the report gives both phases' tokens/s and the concurrent phase's time to first token and
 * inter-token latency as the clients saw them.
 */
public final class LoadBench {
    private LoadBench() {}

    /** One streamed answer: what came back and when (nanoTime of the request and of each content chunk). */
    record Answer(String text, int completionTokens, String finishReason, long sentAt, long[] contentAt) {}

    /** A phase: answers completed, tokens generated, wall time. */
    public record Phase(int answers, long tokens, double seconds) {
        public double tokensPerSecond() { return seconds > 0 ? tokens / seconds : 0; }
    }

    /** Latencies in milliseconds, nearest-rank percentiles. */
    public record Latency(double p50, double p99, int samples) {
        static Latency of(List<Double> ms) {
            if (ms.isEmpty()) return new Latency(0, 0, 0);
            double[] a = ms.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            return new Latency(rank(a, 0.50), rank(a, 0.99), a.length);
        }

        private static double rank(double[] sorted, double p) {
            return sorted[Math.max(0, (int) Math.ceil(p * sorted.length) - 1)];
        }
    }

    /**
     * @param differing requests whose concurrent answer is not their answer alone (what differed)
     * @param lost      requests with no complete answer (why)
     */
    public record Report(int requests, int clients, Phase alone, Phase together, Latency timeToFirstToken,
                         Latency interToken, int equal, List<String> differing, List<String> lost) {
        public boolean ok() { return equal == requests && differing.isEmpty() && lost.isEmpty(); }
    }

    /** Request {@code i}'s prompt: lengths vary from one to about 60 repetitions. */
    public static String prompt(int i) {
        return "Request " + i + ": " + "tell me more ".repeat(1 + (i * 7) % 23);
    }

    static String body(int i, int maxTokens) {
        return SseClient.chat(prompt(i), maxTokens,
                "\"temperature\": 0, \"stream\": true, \"stream_options\": {\"include_usage\": true}");
    }

    /**
     * The reference: each request alone, in order, on the server at {@code port} (its answers are
     * returned in {@code out}, lost ones null).
     */
    static Phase alone(int port, int requests, int maxTokens, Answer[] out, List<String> lost) {
        SseClient client = new SseClient(port);
        long t0 = System.nanoTime(), tokens = 0;
        int answers = 0;
        for (int i = 0; i < requests; i++) {
            out[i] = ask(client, i, maxTokens, lost);
            if (out[i] != null) {
                answers++;
                tokens += out[i].completionTokens();
            }
        }
        return new Phase(answers, tokens, (System.nanoTime() - t0) / 1e9);
    }

    /** All requests from {@code clients} concurrent clients, each taking the next request as it is done. */
    static Phase together(int port, int requests, int clients, int maxTokens, Answer[] out, List<String> lost) throws Exception {
        AtomicInteger next = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        long t0;
        try (ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            List<Future<?>> fs = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                fs.add(pool.submit(() -> {
                    go.await();
                    SseClient client = new SseClient(port);
                    for (int i; (i = next.getAndIncrement()) < requests; ) out[i] = ask(client, i, maxTokens, lost);
                    return null;
                }));
            }
            t0 = System.nanoTime();
            go.countDown();
            for (Future<?> f : fs) f.get();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long tokens = 0;
        int answers = 0;
        for (Answer a : out) {
            if (a == null) continue;
            answers++;
            tokens += a.completionTokens();
        }
        return new Phase(answers, tokens, seconds);
    }

    /** One streamed request; null (with the reason added to {@code lost}) when no complete answer came. */
    static Answer ask(SseClient client, int i, int maxTokens, List<String> lost) {
        long sent = System.nanoTime();
        try {
            SseClient.Events ev = client.stream("/v1/chat/completions", body(i, maxTokens));
            JsonNode usage = SseClient.usage(ev);
            if (!ev.done() || usage == null) {
                lost.add("request " + i + ": the stream ended without " + (ev.done() ? "usage" : "[DONE]"));
                return null;
            }
            long[] at = new long[ev.chunks().size()];
            int n = 0;
            for (int k = 0; k < ev.chunks().size(); k++) {
                JsonNode content = ev.chunks().get(k).path("choices").path(0).path("delta").get("content");
                if (content != null && !content.asText().isEmpty()) at[n++] = ev.arrivals()[k];
            }
            return new Answer(SseClient.chatContent(ev), usage.path("completion_tokens").asInt(), SseClient.finishReason(ev), sent,
                    Arrays.copyOf(at, n));
        } catch (IOException | RuntimeException e) {
            lost.add("request " + i + ": " + e.getMessage());
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            lost.add("request " + i + ": interrupted");
            return null;
        }
    }

    /**
     * Runs both phases, each on a fresh in-process server over {@code engine} (so the concurrent phase
     * does not start with the reference's prompts in the prefix cache); {@code progress} hears of each.
     */
    public static Report run(Engine engine, OpenAiServer.Config config, int requests, int clients, int maxTokens,
                             Consumer<String> progress) throws Exception {
        List<String> lost = syncList();
        Answer[] expected = new Answer[requests], got = new Answer[requests];
        progress.accept("each of " + requests + " requests alone, one after another ...");
        Phase alone;
        try (Qwen qwen = LocalQwen.borrowing(engine, config.parallel()); OpenAiServer server = OpenAiServer.start(qwen, config)) {
            alone = alone(server.port(), requests, maxTokens, expected, lost);
        }
        progress.accept("the same " + requests + " requests from " + clients + " concurrent clients ...");
        Phase together;
        try (Qwen qwen = LocalQwen.borrowing(engine, config.parallel()); OpenAiServer server = OpenAiServer.start(qwen, config)) {
            together = together(server.port(), requests, clients, maxTokens, got, lost);
        }
        return report(requests, clients, alone, expected, together, got, lost);
    }

    /** Compares the concurrent answers with the references and collects the latencies. */
    static Report report(int requests, int clients, Phase alone, Answer[] expected, Phase together, Answer[] got,
                         List<String> lost) {
        List<String> differing = new ArrayList<>();
        List<Double> ttft = new ArrayList<>(), itl = new ArrayList<>();
        int equal = 0;
        for (int i = 0; i < requests; i++) {
            Answer want = expected[i], a = got[i];
            if (want == null || a == null) continue; // in lost, with the reason
            if (!a.text().equals(want.text()) || a.completionTokens() != want.completionTokens()
                    || !a.finishReason().equals(want.finishReason())) {
                differing.add("request " + i + ": got " + a.completionTokens() + " tokens '" + a.text() + "' (" + a.finishReason()
                        + "), alone " + want.completionTokens() + " tokens '" + want.text() + "' (" + want.finishReason() + ")");
            } else {
                equal++;
            }
            long[] at = a.contentAt();
            if (at.length > 0) ttft.add((at[0] - a.sentAt()) / 1e6);
            for (int k = 1; k < at.length; k++) itl.add((at[k] - at[k - 1]) / 1e6);
        }
        return new Report(requests, clients, alone, together, Latency.of(ttft), Latency.of(itl), equal, List.copyOf(differing),
                List.copyOf(lost));
    }

    /** Lists shared by client threads. */
    static List<String> syncList() {
        return Collections.synchronizedList(new ArrayList<>());
    }
}
