package qwen4j.server;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import qwen4j.api.Qwen;

/**
 * The server's counters in Prometheus text format (GET /metrics): requests, tokens generated and
 * prefilled, queue length, running sequences, KV blocks used and free, and histograms of the time to
 * first token and of the time between tokens.
 */
final class Metrics {
    final AtomicLong requests = new AtomicLong(), rejected = new AtomicLong();
    final Histogram ttft = new Histogram(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60);
    final Histogram interToken = new Histogram(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5);

    /** Counts in buckets of seconds (upper bounds), plus sum and count. */
    static final class Histogram {
        private final double[] bounds;
        private final AtomicLongArray counts;
        private final AtomicLong count = new AtomicLong(), sumNanos = new AtomicLong();

        Histogram(double... bounds) {
            this.bounds = bounds;
            this.counts = new AtomicLongArray(bounds.length);
        }

        void observeNanos(long nanos) {
            double s = nanos / 1e9;
            for (int i = 0; i < bounds.length; i++) if (s <= bounds[i]) counts.incrementAndGet(i);
            count.incrementAndGet();
            sumNanos.addAndGet(nanos);
        }

        void write(StringBuilder out, String name, String help) {
            out.append("# HELP ").append(name).append(' ').append(help).append('\n');
            out.append("# TYPE ").append(name).append(" histogram\n");
            for (int i = 0; i < bounds.length; i++) {
                out.append(name).append("_bucket{le=\"").append(bounds[i]).append("\"} ").append(counts.get(i)).append('\n');
            }
            out.append(name).append("_bucket{le=\"+Inf\"} ").append(count.get()).append('\n');
            out.append(name).append("_sum ").append(String.format(Locale.ROOT, "%.6f", sumNanos.get() / 1e9)).append('\n');
            out.append(name).append("_count ").append(count.get()).append('\n');
        }
    }

    static void counter(StringBuilder out, String name, String help, long value) {
        metric(out, name, help, "counter", value);
    }

    static void gauge(StringBuilder out, String name, String help, long value) {
        metric(out, name, help, "gauge", value);
    }

    private static void metric(StringBuilder out, String name, String help, String type, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        out.append(name).append(' ').append(value).append('\n');
    }

    /** The whole exposition, with the gauges read now. */
    String render(int queued, Qwen.Stats model) {
        StringBuilder out = new StringBuilder();
        counter(out, "qwen4j_requests_total", "Generation requests accepted.", requests.get());
        counter(out, "qwen4j_requests_rejected_total", "Generation requests refused because the queue was full (429).", rejected.get());
        counter(out, "qwen4j_tokens_generated_total", "Tokens generated.", model.tokensGenerated());
        counter(out, "qwen4j_tokens_prefilled_total", "Prompt tokens run through the model (cached ones not counted).", model.tokensPrefilled());
        gauge(out, "qwen4j_queue_length", "Requests waiting for a sequence slot.", queued);
        gauge(out, "qwen4j_sequences_active", "Sequences being generated (decoded together each step).", model.running());
        gauge(out, "qwen4j_kv_blocks_used", "KV cache blocks held by sequences.", model.kvBlocksUsed());
        gauge(out, "qwen4j_kv_blocks_free", "KV cache blocks free (including cached prefixes nobody holds).", model.kvBlocksFree());
        ttft.write(out, "qwen4j_time_to_first_token_seconds", "Time from a request's arrival to its first token.");
        interToken.write(out, "qwen4j_inter_token_latency_seconds", "Time between two tokens of one sequence.");
        return out.toString();
    }
}
