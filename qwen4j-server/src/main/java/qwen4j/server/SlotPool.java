package qwen4j.server;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import qwen4j.api.Completion;
import qwen4j.api.GenerationParams;
import qwen4j.api.Qwen;
import qwen4j.api.TokenListener;

/**
 * The server's admission control over the model handle: up to {@code parallel} sequences are decoded together
 * by the handle (one pass over the weights per step, requests joining and leaving between steps, long prompts
 * prefilled in chunks); beyond them up to {@code maxQueue} requests wait in order; more are refused (429).
 */
final class SlotPool {
    private final Qwen qwen;
    private final int parallel, maxQueue;
    private final AtomicInteger outstanding = new AtomicInteger(); // reserved or submitted, not yet done
    private volatile boolean closed;
    private final Metrics metrics;

    SlotPool(Qwen qwen, int parallel, int maxQueue, Metrics metrics) {
        this.qwen = qwen;
        this.parallel = parallel;
        this.maxQueue = maxQueue;
        this.metrics = metrics;
    }

    int size() { return parallel; }

    /** Requests admitted beyond the running places (the model's own counts are {@link Qwen#stats()}). */
    int waiting() { return Math.max(0, outstanding.get() - parallel); }

    int maxQueue() { return maxQueue; }

    /**
     * Takes a place among the running and queued requests, before anything is answered (a stream's
     * headers): 429 when the queue is full, 503 when shutting down. {@link #submit} uses it, {@link #unreserve}
     * gives it back unused.
     */
    void reserve() {
        if (closed) throw new ApiError(503, "server_error", "the server is shutting down", null, "unavailable");
        int n = outstanding.incrementAndGet();
        if (n > parallel + maxQueue) {
            outstanding.decrementAndGet();
            metrics.rejected.incrementAndGet();
            throw new ApiError(429, "rate_limit_exceeded", "the server is busy: all " + parallel
                    + " slots are generating and " + maxQueue + " requests are queued (queue limit " + maxQueue
                    + "); retry later", null, "queue_full");
        }
    }

    void unreserve() {
        outstanding.decrementAndGet();
    }

    /** Starts a generation on a place taken by {@link #reserve} (given back when it is done). */
    CompletableFuture<Completion> submit(int[] prompt, GenerationParams params, TokenListener listener) {
        CompletableFuture<Completion> f = qwen.generateAsync(prompt, params, listener); // on failure the caller still holds the place
        metrics.requests.incrementAndGet();
        f.whenComplete((c, e) -> {
            outstanding.decrementAndGet();
            if (c != null) {
                if (c.timings().firstTokenNanos() > 0 && c.tokenIds().length > 0) metrics.ttft.observeNanos(c.timings().firstTokenNanos());
                for (long d : c.timings().decodeNanos()) metrics.interToken.observeNanos(d);
            }
        });
        return f;
    }

    /** New requests get 503 from now on. */
    void close() {
        closed = true;
    }
}
