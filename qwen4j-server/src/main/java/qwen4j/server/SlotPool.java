package qwen4j.server;

import java.util.ArrayList;
import java.util.List;
import qwen4j.generate.Engine;
import qwen4j.generate.Generator;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Session;

/**
 * The server's generation slots. Each slot owns a {@link Qwen2Model} over the engine's shared (mapped) weights
 * and one {@link Session}, so slots run in parallel without sharing a forward pass's scratch or worker pool.
 * A request takes the free slot whose cached tokens share the longest prefix with its prompt; with none free
 * it waits in a bounded queue, and beyond that bound it is refused (429).
 */
final class SlotPool implements AutoCloseable {
    /** One slot: a model, its KV cache and the ids that cache holds. Used by one request at a time. */
    static final class Slot {
        final int id;
        final Qwen2Model model;
        final Session session;
        final Generator generator;
        int[] cached = new int[0];
        /** Whether a request holds the slot, and which acquisition (lease) it is. */
        boolean held;
        int lease;

        Slot(int id, Qwen2Model model, Session session, Generator generator) {
            this.id = id;
            this.model = model;
            this.session = session;
            this.generator = generator;
        }
    }

    private final List<Slot> all = new ArrayList<>();
    private final List<Slot> free = new ArrayList<>();
    private final int maxQueue;
    private int waiting;
    private boolean closed;

    SlotPool(Engine engine, int parallel, int maxQueue) {
        this.maxQueue = maxQueue;
        // every slot's KV cache, and a model (RoPE tables) for each slot but the first (the engine's own)
        qwen4j.model.MemoryPlan.of(engine.model().config(), engine.model().options(), engine.model().maxContext(),
                parallel, parallel - 1).check();
        for (int i = 0; i < parallel; i++) {
            Qwen2Model m = i == 0 ? engine.model()
                    : new Qwen2Model(engine.model().config(), engine.model().weights(), engine.model().options(),
                            engine.model().maxContext());
            Slot s = new Slot(i, m, m.newSession(m.maxContext()), new Generator(m, engine.tokenizer(), engine.eosIds()));
            all.add(s);
            free.add(s);
        }
    }

    int size() { return all.size(); }

    synchronized int idle() { return free.size(); }

    synchronized int waiting() { return waiting; }

    int maxQueue() { return maxQueue; }

    /** The client of a queued request has gone: it leaves the queue unrun. */
    static final class ClientGone extends RuntimeException {
        ClientGone() {
            super("the client hung up while queued", null, false, false);
        }
    }

    /**
     * Takes the free slot that best matches {@code prompt}, waiting if none is free; 429 when the queue is
     * full; {@link ClientGone} when {@code gone} turns true while waiting (looked at every 100 ms).
     */
    synchronized Slot acquire(int[] prompt, java.util.function.BooleanSupplier gone) throws InterruptedException {
        if (closed) throw new ApiError(503, "server_error", "the server is shutting down", null, "unavailable");
        if (free.isEmpty()) {
            if (waiting >= maxQueue) {
                throw new ApiError(429, "rate_limit_exceeded", "the server is busy: all " + all.size()
                        + " slots are generating and " + waiting + " requests are queued (queue limit " + maxQueue
                        + "); retry later", null, "queue_full");
            }
            waiting++;
            try {
                while (free.isEmpty() && !closed) {
                    wait(100);
                    if (free.isEmpty() && gone.getAsBoolean()) throw new ClientGone();
                }
            } finally {
                waiting--;
            }
            if (closed) throw new ApiError(503, "server_error", "the server is shutting down", null, "unavailable");
        }
        Slot best = free.get(0);
        int bestLen = -1;
        for (Slot s : free) {
            int l = commonPrefix(s.cached, prompt);
            if (l > bestLen) {
                best = s;
                bestLen = l;
            }
        }
        free.remove(best);
        best.held = true;
        best.lease++;
        return best;
    }

    /**
     * Returns the slot taken by acquisition {@code lease} (later calls for that lease are no-ops). Called as soon as generation ends,
     * before the response is written, so a client's next request finds its cached prefix free.
     */
    synchronized void release(Slot s, int lease) {
        if (!s.held || s.lease != lease) return;
        s.held = false;
        free.add(s);
        notifyAll();
    }

    static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length), i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        // slot 0 uses the engine's own model, which the engine closes
        for (Slot s : all) if (s.id != 0) s.model.close();
    }
}
