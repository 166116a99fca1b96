package qwen4j.generate;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import qwen4j.Qwen4jException;
import qwen4j.model.Batch;
import qwen4j.model.KvCache;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Sequence;
import qwen4j.tokenizer.StreamingDecoder;
import qwen4j.tokenizer.Tokenizer;

/**
 * Continuous batching: many generations stepped together, one forward pass per {@link #step()} over
 * every running sequence (a decode token each, and prompt chunks of the ones still prefilling, at most
 * {@code promptTokensPerStep} prompt tokens per step so running streams keep getting tokens while a
 * long prompt comes in). Requests join between steps (up to {@code parallel} running at once, the rest
 * wait in order) and leave when done, giving their KV blocks back; prompts that start like an earlier
 * one take its cached blocks.
 *
 * <p>Thread model: {@link #submit} from any thread; {@link #step()} (or {@link #runUntilIdle()},
 * {@link #generateAll}) from one thread, the one that owns the model. Per request: sampling, stop
 * strings, streamed text and the token observer (logprobs) run on that thread, in {@link Task#pick}.
 */
public final class BatchGenerator implements AutoCloseable {
    private final Qwen2Model model;
    private final Tokenizer tokenizer;
    private final int[] eosIds; // an array, not a Set<Integer>: looking up a token must not box it
    private final int vocabLimit, parallel, ctx, promptTokensPerStep;
    private final KvCache cache;
    private final Batch batch;
    private final ConcurrentLinkedQueue<Task> submitted = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<Task> waiting = new ArrayDeque<>();
    private final List<Task> running = new ArrayList<>();
    private Task[] owner;
    private final Qwen2Model.LogitsSink sink = (i, logits) -> owner[i].pick(logits);
    private volatile long stepCount, tokensGenerated, tokensPrefilled;
    private volatile int runningNow, waitingNow; // as of the end of the last step, for other threads
    private boolean cacheWasFull;

    /**
     * What to generate.
     *
     * @param prompt  token ids (at least one)
     * @param sampler null: greedy
     * @param params  token budget, stop strings, cancel flag, token observer (logprobs)
     * @param onText  streamed text (nullable), as in {@link Generator}
     */
    public record Request(int[] prompt, Sampler sampler, Generator.Params params, Consumer<String> onText) {
        private static final Consumer<String> NO_TEXT = s -> { };

        public Request {
            if (prompt == null || prompt.length == 0) throw new Qwen4jException("the prompt is empty: give at least one token");
            if (params == null) params = Generator.Params.maxTokens(-1);
            if (onText == null) onText = NO_TEXT;
        }

        /** Whether text is needed while generating (streamed, or searched for stop strings), not only at the end. */
        boolean textAsItComes() {
            return onText != NO_TEXT || !params.stopStrings().isEmpty();
        }
    }

    /**
     * @param parallel            sequences decoded together at most
     * @param ctx                 context of each sequence (prompt + generated tokens)
     * @param promptTokensPerStep prompt tokens one step takes at most (chunked prefill)
     * @param cacheBlocks         KV blocks of the shared pool (0: room for {@code parallel} full contexts)
     */
    public BatchGenerator(Qwen2Model model, Tokenizer tokenizer, Set<Integer> eosIds, int parallel, int ctx,
                          int promptTokensPerStep, int cacheBlocks) {
        if (parallel < 1) throw new Qwen4jException("--parallel must be at least 1, got " + parallel);
        if (ctx < 1 || ctx > model.maxContext()) throw new Qwen4jException("context " + ctx + " is outside 1.." + model.maxContext());
        this.model = model;
        this.tokenizer = tokenizer;
        this.eosIds = eosIds.stream().mapToInt(Integer::intValue).toArray();
        this.vocabLimit = Engine.vocabLimit(tokenizer, model.config().vocabSize());
        this.parallel = parallel;
        this.ctx = ctx;
        this.promptTokensPerStep = Math.max(1, promptTokensPerStep);
        this.cache = model.newCache(cacheBlocks > 0 ? cacheBlocks : Math.multiplyExact(parallel, KvCache.blocksFor(ctx)), true);
        this.batch = new Batch(parallel + this.promptTokensPerStep);
        this.owner = new Task[batch.capacity()];
    }

    /** A generator over an engine's model with room for {@code parallel} sequences of the engine's context. */
    public static BatchGenerator of(Engine engine, int parallel) {
        Qwen2Model m = engine.model();
        return new BatchGenerator(m, engine.tokenizer(), engine.eosIds(), parallel, m.maxContext(), m.options().ubatch(), 0);
    }

    /** Queues a request (any thread); it joins at a later step. */
    public Task submit(Request r) {
        if (r.prompt().length > ctx) {
            throw new Qwen4jException("the prompt has " + r.prompt().length + " tokens but the context has room for " + ctx + " (raise --ctx)");
        }
        Task t = new Task(r);
        submitted.add(t);
        return t;
    }

    /** Whether anything is running or waiting. */
    public boolean busy() {
        return !running.isEmpty() || !waiting.isEmpty() || !submitted.isEmpty();
    }

    /** Sequences running as of the end of the last step (readable from any thread). */
    public int running() { return runningNow; }

    /** Requests waiting for a place: queued as of the last step, and submitted since. */
    public int waiting() { return waitingNow + submitted.size(); }

    public KvCache cache() { return cache; }

    public long steps() { return stepCount; }

    public long tokensGenerated() { return tokensGenerated; }

    public long tokensPrefilled() { return tokensPrefilled; }

    /** Steps until every submitted request is done. */
    public void runUntilIdle() {
        while (busy()) step();
    }

    /**
     * One step: admit waiting requests, run one forward pass over a token of every decoding sequence
     * and prompt chunks of prefilling ones, pick each sequence's next token, retire finished ones.
     * Returns false when there was nothing to do.
     */
    public boolean step() {
        try {
            return stepOnce();
        } finally {
            runningNow = running.size();
            waitingNow = waiting.size();
        }
    }

    private boolean stepOnce() {
        for (Task t; (t = submitted.poll()) != null; ) waiting.add(t);
        // after a full cache, nobody joins until someone leaves (the one sent back would only fill it again)
        while (running.size() < parallel && !waiting.isEmpty() && (!cacheWasFull || running.isEmpty())) {
            Task t = waiting.poll();
            if (t.start()) running.add(t);
        }
        batch.clear();
        int promptBudget = promptTokensPerStep;
        for (int i = 0; i < running.size(); i++) { // indexed loops: no iterator per step
            Task t = running.get(i);
            t.fedBefore = t.fed;
            if (t.cancelled()) continue;
            int total = t.prompt.length + t.n; // the prompt, then every generated token
            if (total - t.fed == 1) { // decode: the last token in, the next one's logits out
                owner[batch.add(t.seq, t.tokenAt(t.fed), true)] = t;
                t.fed++;
            } else if (promptBudget > 0) { // prefill (a prompt, or a sequence coming back after a full cache)
                int end = Math.min(total, t.fed + promptBudget);
                promptBudget -= end - t.fed;
                for (; t.fed < end; t.fed++) owner[batch.add(t.seq, t.tokenAt(t.fed), t.fed == total - 1)] = t;
            }
        }
        long t0 = System.nanoTime();
        if (!waiting.isEmpty()) {
            for (Task t : waiting) if (t.cancelled()) t.finish("cancelled", null); // a client that left while queued
            waiting.removeIf(t -> t.done);
        }
        if (batch.size() > 0) {
            try {
                model.forward(batch, sink);
            } catch (KvCache.Full e) {
                // no block for everyone: nothing was computed; the newest running request gives its
                // blocks back and waits again (or fails, when it is alone and still does not fit)
                for (int i = 0; i < running.size(); i++) running.get(i).fed = running.get(i).fedBefore;
                Task victim = running.get(running.size() - 1);
                if (running.size() == 1) {
                    victim.finish("error", e);
                } else {
                    victim.requeue();
                    waiting.addFirst(victim);
                }
                running.remove(victim);
                cacheWasFull = true;
                return true;
            } catch (RuntimeException | Error e) {
                // a bug: every running request fails with it rather than waiting forever
                for (Task t : running) t.finish("error", e instanceof RuntimeException re ? re : new IllegalStateException(e));
                running.clear();
                throw e;
            }
            stepCount++;
            tokensPrefilled += promptTokensPerStep - promptBudget;
        }
        long nanos = System.nanoTime() - t0;
        for (int i = running.size() - 1; i >= 0; i--) {
            Task t = running.get(i);
            t.stepped(nanos);
            if (t.ending != null) t.finish(t.ending, null);
            // never ask a finished request: its answer may be going out, the connection is not ours to look at
            if (!t.done && t.cancelled()) t.finish("cancelled", null);
            if (t.done) {
                running.remove(i);
                cacheWasFull = false;
            }
        }
        return batch.size() > 0 || busy();
    }

    /**
     * Runs every request of {@code requests} (in submission order, up to {@code parallel} at once) and
     * returns their results in the same order as each is done and all before it are: what a
     * partition iterator drives. Must be called from the model's thread.
     */
    public java.util.Iterator<Generation> generateAll(java.util.Iterator<Request> requests) {
        ArrayDeque<Task> inFlight = new ArrayDeque<>();
        return new java.util.Iterator<>() {
            @Override
            public boolean hasNext() {
                fill();
                return !inFlight.isEmpty();
            }

            @Override
            public Generation next() {
                if (!hasNext()) throw new java.util.NoSuchElementException();
                Task head = inFlight.peek();
                while (!head.done) {
                    fill();
                    step();
                }
                inFlight.poll();
                return head.result().join();
            }

            private void fill() {
                while (inFlight.size() < 2 * parallel && requests.hasNext()) inFlight.add(submit(requests.next()));
            }
        };
    }

    @Override
    public void close() {
        for (Task t : running) t.finish("cancelled", null);
        for (Task t : waiting) t.finish("cancelled", null);
        for (Task t; (t = submitted.poll()) != null; ) t.finish("cancelled", null);
        running.clear();
        waiting.clear();
        cache.close();
    }

    private boolean isEos(int token) {
        for (int e : eosIds) if (e == token) return true;
        return false;
    }

    /** One request's generation: its sequence, sampling state, stop strings and streamed text. */
    public final class Task {
        private final Request request;
        final int[] prompt;
        private final CompletableFuture<Generation> result = new CompletableFuture<>();
        private Sequence seq;
        private StreamingDecoder decoder;
        private Generator.StopStrings stops;
        private int fed, fedBefore, cached;
        private int[] out = new int[0]; // sized at start for every token the request can get: no growing mid-decode
        int n;
        private int decoded; // generated tokens already through the decoder and stop strings
        private long[] decodeNanos = new long[0];
        private int steps;
        private long submittedAt = System.nanoTime(), startedAt, firstTokenAt;
        private boolean done, picked;
        private String ending; // why it ends, decided while picking, carried out after the step
        private volatile boolean cancelRequested;

        Task(Request r) {
            this.request = r;
            this.prompt = r.prompt();
        }

        /** Done when the generation ends (any reason); completes exceptionally only on an engine error. */
        public CompletableFuture<Generation> result() { return result; }

        /** Prompt tokens taken from the prefix cache (their prefill was skipped). */
        public int cachedTokens() { return cached; }

        /** Stops the generation at the next step (any thread); it ends with reason "cancelled". */
        public void cancel() { cancelRequested = true; }

        /** Nanoseconds from submission to the first generated token (0 before it). */
        public long timeToFirstTokenNanos() { return firstTokenAt == 0 ? 0 : firstTokenAt - submittedAt; }

        boolean cancelled() {
            return cancelRequested || request.params().cancelled().getAsBoolean();
        }

        /** Token i of the sequence: the prompt, then the generated tokens. */
        int tokenAt(int i) {
            return i < prompt.length ? prompt[i] : out[i - prompt.length];
        }

        /** Joins the running set: a sequence, the cached part of the prompt. False if it ended at once. */
        boolean start() {
            if (cancelled()) {
                finish("cancelled", null);
                return false;
            }
            if (decoder != null) { // back after a full cache: recompute what it had
                seq = model.newSequence(cache, ctx);
                int[] all = new int[prompt.length + n];
                for (int i = 0; i < all.length; i++) all[i] = tokenAt(i);
                fed = seq.reuseCachedPrefix(all);
                return true;
            }
            int maxTokens = request.params().maxTokens();
            if (maxTokens >= 0 && prompt.length + maxTokens > ctx + 1) {
                finish("error", new Qwen4jException("prompt (" + prompt.length + " tokens) + max tokens " + maxTokens
                        + " exceeds the context of " + ctx + " tokens"));
                return false;
            }
            startedAt = System.nanoTime();
            int most = Math.max(1, Math.min(maxTokens < 0 ? Integer.MAX_VALUE : maxTokens, ctx + 1 - prompt.length));
            out = new int[most];
            decodeNanos = new long[most];
            seq = model.newSequence(cache, ctx);
            cached = fed = seq.reuseCachedPrefix(prompt);
            decoder = tokenizer.streamingDecoder();
            stops = new Generator.StopStrings(request.params().stopStrings(), request.onText());
            if (request.sampler() != null) request.sampler().acceptAll(prompt);
            return true;
        }

        /**
         * Back to the queue after a full cache, keeping what it generated (and streamed): when it rejoins,
         * its tokens are computed again (what the prefix cache still has is not) and it goes on.
         */
        void requeue() {
            seq.release();
            seq = null;
            fed = 0;
        }

        /**
         * The one per-sequence sampling point: the sequence's logits in, its next token out (a logits
         * constraint, when there is one, goes right before the sampler here).
         */
        void pick(float[] logits) {
            Sampler sampler = request.sampler();
            var constraint = request.params().constraint();
            if (constraint != null) constraint.mask(logits); // before the sampler chain: every stage sees it
            int next = sampler == null ? Greedy.argmax(logits, vocabLimit) : sampler.sample(logits);
            if (request.params().onToken() != null) request.params().onToken().token(next, logits);
            if (n == 0) firstTokenAt = System.nanoTime();
            if (n == out.length) out = Arrays.copyOf(out, 2 * n);
            out[n++] = next;
            picked = true;
            tokensGenerated++;
            if (constraint != null) constraint.accept(next);
            if (sampler != null) sampler.accept(next);
            int budget = request.params().maxTokens() < 0 ? Integer.MAX_VALUE : request.params().maxTokens();
            // ends after the step, once its time is known (the last token's decode time counts too)
            if (isEos(next)) ending = "eos";
            else if (request.textAsItComes() && stops.add(decodeNext())) ending = "stop";
            else if (n >= budget) ending = "length";
            else if (seq.length() >= ctx) ending = "context";
        }

        /** The text of the first generated token not yet decoded. */
        private String decodeNext() {
            return decoder.accept(out[decoded++]);
        }

        /** After a step: the decode time of a token picked in it. */
        void stepped(long nanos) {
            if (!picked) return;
            picked = false;
            if (n > 1) {
                if (steps == decodeNanos.length) decodeNanos = Arrays.copyOf(decodeNanos, 2 * steps);
                decodeNanos[steps++] = nanos;
            }
        }

        void finish(String reason, RuntimeException error) {
            if (done) return;
            done = true;
            if (seq != null) seq.release();
            if (error != null) {
                result.completeExceptionally(error);
                return;
            }
            if (stops != null) {
                // text nobody needed while generating is decoded now, all at once (an eos id is no text)
                int textTokens = reason.equals("eos") ? n - 1 : n;
                while (decoded < textTokens) stops.add(decodeNext());
                if (!reason.equals("stop") && stops.add(decoder.flush())) reason = "stop";
                stops.finish();
            }
            long prefill = firstTokenAt == 0 ? 0 : firstTokenAt - (startedAt == 0 ? submittedAt : startedAt);
            result.complete(new Generation(prompt.clone(), Arrays.copyOf(out, n), stops == null ? "" : stops.text(), prefill,
                    Arrays.copyOf(decodeNanos, steps), reason));
        }
    }
}
