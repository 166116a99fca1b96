package qwen4j.server;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;
import qwen4j.generate.BatchGenerator;
import qwen4j.generate.Engine;

/**
 * The server's generation slots: up to {@code parallel} sequences decoded together, in one forward
 * pass per step, by one scheduler thread that owns the model ({@link BatchGenerator}). Requests join
 * and leave between steps; long prompts are prefilled in chunks between decode steps. Beyond the
 * running ones, up to {@code maxQueue} requests wait in order; more are refused (429).
 */
final class SlotPool implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SlotPool.class.getName());
    private final BatchGenerator generator;
    private final int parallel, maxQueue;
    private final Thread scheduler;
    private final Object signal = new Object();
    private final AtomicInteger outstanding = new AtomicInteger(); // submitted, not yet done
    private volatile boolean closed;
    private volatile int running;
    private final Metrics metrics;

    SlotPool(Engine engine, int parallel, int maxQueue, Metrics metrics) {
        this.parallel = parallel;
        this.maxQueue = maxQueue;
        this.metrics = metrics;
        // every sequence's KV blocks (off-heap) and the one model's scratch, before anything is allocated
        qwen4j.model.MemoryPlan.of(engine.model().config(), engine.model().options(), engine.model().maxContext(),
                parallel, 1).check();
        this.generator = BatchGenerator.of(engine, parallel);
        this.scheduler = Thread.ofPlatform().name("qwen4j-scheduler").daemon(true).start(this::loop);
    }

    private void loop() {
        while (!closed) {
            synchronized (signal) {
                while (!closed && !generator.busy()) {
                    try {
                        signal.wait(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
            if (closed) return;
            try {
                generator.step();
            } catch (RuntimeException | Error e) {
                LOG.log(Level.WARNING, "generation step failed (a bug): " + e, e);
            }
            running = generator.running();
        }
    }

    int size() { return parallel; }

    int idle() { return Math.max(0, parallel - running); }

    int running() { return running; }

    int waiting() { return Math.max(0, outstanding.get() - parallel); }

    int maxQueue() { return maxQueue; }

    long tokensGenerated() { return generator.tokensGenerated(); }

    long tokensPrefilled() { return generator.tokensPrefilled(); }

    int blocksUsed() { return generator.cache().blocksUsed(); }

    int blocksFree() { return generator.cache().blocksFree(); }

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

    /** Queues a generation on a place taken by {@link #reserve} (given back when it is done). */
    BatchGenerator.Task submit(BatchGenerator.Request request) {
        BatchGenerator.Task t = generator.submit(request); // on failure the caller still holds the place
        metrics.requests.incrementAndGet();
        t.result().whenComplete((g, e) -> {
            outstanding.decrementAndGet();
            if (g != null) {
                if (t.timeToFirstTokenNanos() > 0) metrics.ttft.observeNanos(t.timeToFirstTokenNanos());
                for (long d : g.decodeNanos()) metrics.interToken.observeNanos(d);
            }
        });
        synchronized (signal) {
            signal.notifyAll();
        }
        return t;
    }

    @Override
    public void close() {
        closed = true;
        synchronized (signal) {
            signal.notifyAll();
        }
        try {
            scheduler.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        generator.close();
    }
}
