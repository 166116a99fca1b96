package qwen4j.generate;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;
import qwen4j.Qwen4jException;
import qwen4j.chat.ChatTemplate;
import qwen4j.api.ChatMessage;
import qwen4j.api.ChatResult;
import qwen4j.api.Completion;
import qwen4j.api.FinishReason;
import qwen4j.api.GenerationParams;
import qwen4j.api.LoadOptions;
import qwen4j.api.Qwen;
import qwen4j.api.QwenTokenizer;
import qwen4j.api.ResponseFormat;
import qwen4j.api.Score;
import qwen4j.api.Timings;
import qwen4j.api.TokenListener;
import qwen4j.api.Tool;
import qwen4j.api.ToolCall;
import qwen4j.api.ToolCalls;
import qwen4j.api.Usage;
import qwen4j.generate.constraint.CompiledConstraint;
import qwen4j.generate.constraint.Constraints;
import qwen4j.model.Attention;
import qwen4j.model.KvCache;
import qwen4j.model.Options;
import qwen4j.model.Session;
import qwen4j.tensor.Kernels;
import qwen4j.tokenizer.Tokenizer;

/**
 * The engine behind {@link Qwen} (not API: load through {@link Qwen#load}): one {@link Engine} and one scheduler thread that owns the model, stepping a
 * {@link BatchGenerator} over every call in progress (continuous batching); scoring runs on that thread too,
 * between steps.
 */
public final class LocalQwen implements Qwen {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = Logger.getLogger(LocalQwen.class.getName());

    private final Engine engine;
    private final boolean ownsEngine;
    private final BatchGenerator batch;
    private final int ctx;
    private final QwenTokenizer tokenizer;
    private final Thread scheduler;
    private final ConcurrentLinkedQueue<FutureTask<?>> chores = new ConcurrentLinkedQueue<>();
    private final Object submitting = new Object();
    private volatile boolean closed;
    private Session scoring; // the scheduler thread's, made on first use
    private ChatTemplate template; // guarded by itself being made once under templateLock
    private final Object templateLock = new Object();

    private LocalQwen(Engine engine, int parallel, boolean ownsEngine) {
        this.engine = engine;
        this.ownsEngine = ownsEngine;
        this.ctx = engine.model().maxContext();
        // every sequence's KV room and the model's scratch, before any of it is allocated
        if (parallel > 1) qwen4j.model.MemoryPlan.of(engine.model().config(), engine.model().options(), ctx, parallel, 1).check();
        this.batch = BatchGenerator.of(engine, parallel);
        this.tokenizer = new Tok(engine.tokenizer(), engine.vocabLimit(), List.copyOf(engine.eosIds()));
        this.scheduler = Thread.ofPlatform().name("qwen4j-scheduler").daemon(true).unstarted(this::loop);
        scheduler.start();
    }

    public static QwenTokenizer tokenizer(Path model) {
        Tokenizer t = qwen4j.format.TokenizerLoader.load(model);
        List<Integer> eos = t.eosTokenId().isPresent() ? List.of(t.eosTokenId().getAsInt()) : List.of();
        return new Tok(t, Engine.vocabLimit(t, t.size()), eos);
    }

    public static LocalQwen open(Path path, LoadOptions o) {
        qwen4j.JvmRequirements.requireVectorModule();
        Options options = Options.defaults().withThreads(o.threads()).withUbatch(o.ubatch())
                .withPrompt(o.promptMode() == LoadOptions.PromptMode.SEQUENTIAL ? Options.Prompt.SEQUENTIAL : Options.Prompt.BATCHED)
                .withKernels(o.kernels() == LoadOptions.Kernels.SCALAR ? Kernels.SCALAR : Kernels.SIMD)
                .withKv(switch (o.kvCache()) {
                    case F32 -> KvCache.Type.F32;
                    case F16 -> KvCache.Type.F16;
                    case BF16 -> KvCache.Type.BF16;
                })
                .withAttention(o.attentionPrecision() == LoadOptions.AttentionPrecision.BF16
                        ? Attention.Precision.BF16 : Attention.Precision.F32);
        qwen4j.tensor.DType quantize = o.quantize() == null ? null : switch (o.quantize()) {
            case Q8_0 -> qwen4j.tensor.DType.Q8_0;
            case Q4_0 -> qwen4j.tensor.DType.Q4_0;
        };
        LoadOptions.Progress p = o.quantizeProgress();
        Engine engine = Engine.open(path, options, o.contextLength(),
                o.hugePages() ? qwen4j.format.WeightMemory.HUGE_PAGES : qwen4j.format.WeightMemory.MMAP, quantize,
                p == null ? qwen4j.format.Progress.NONE : p::update);
        return over(engine, o.parallel());
    }

    /** A handle over an engine opened elsewhere (a synthetic model); closing it closes the engine. */
    public static LocalQwen over(Engine engine, int parallel) {
        try {
            return new LocalQwen(engine, parallel, true);
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
    }

    /** A handle over an engine the caller keeps open (and closes after the handle): a fresh KV cache on the same weights. */
    public static LocalQwen borrowing(Engine engine, int parallel) {
        return new LocalQwen(engine, parallel, false);
    }

    // ---- the scheduler ----

    private void loop() {
        try {
            while (!closed) {
                for (FutureTask<?> c; (c = chores.poll()) != null; ) c.run();
                if (!batch.busy()) {
                    if (chores.isEmpty() && !closed) LockSupport.park(this);
                    continue;
                }
                try {
                    batch.step();
                } catch (RuntimeException | Error e) {
                    // the running calls have failed with it; the others go on
                    LOG.log(Level.WARNING, "generation step failed (a bug): " + e, e);
                }
            }
        } finally {
            synchronized (submitting) {
                batch.close(); // every call not done ends as cancelled
            }
            for (FutureTask<?> c; (c = chores.poll()) != null; ) c.cancel(false);
            if (ownsEngine) engine.close();
        }
    }

    private void wake() {
        LockSupport.unpark(scheduler);
    }

    /** Runs {@code work} on the model's thread between steps and waits for it. */
    private <T> T onModelThread(java.util.concurrent.Callable<T> work) {
        notFromCallback();
        FutureTask<T> f = new FutureTask<>(work);
        chores.add(f);
        wake();
        if (closed) f.cancel(false);
        try {
            return f.get();
        } catch (java.util.concurrent.CancellationException e) {
            throw new IllegalStateException("this Qwen handle is closed");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Qwen4jException("interrupted while waiting for the model");
        } catch (ExecutionException e) {
            throw rethrown(e.getCause());
        }
    }

    private void notFromCallback() {
        if (Thread.currentThread() == scheduler) {
            throw new IllegalStateException("a streaming callback may not wait for the model (it runs on the model's thread)");
        }
    }

    // ---- generation ----

    @Override
    public Completion generate(String prompt, GenerationParams params, TokenListener listener) {
        return generate(engine.tokenizer().encode(prompt, true), params, listener);
    }

    @Override
    public Completion generate(int[] promptIds, GenerationParams params, TokenListener listener) {
        notFromCallback();
        return await(start(promptIds.clone(), params, listener));
    }

    @Override
    public CompletableFuture<Completion> generateAsync(int[] promptIds, GenerationParams params, TokenListener listener) {
        return start(promptIds.clone(), params, listener).result;
    }

    @Override
    public ChatResult chat(List<ChatMessage> messages, List<Tool> tools, GenerationParams params, TokenListener listener) {
        notFromCallback();
        Call call = startChat(messages, tools, params, listener);
        return chatResult(await(call));
    }

    @Override
    public CompletableFuture<ChatResult> chatAsync(List<ChatMessage> messages, List<Tool> tools, GenerationParams params,
                                                   TokenListener listener) {
        return startChat(messages, tools, params, listener).result.thenApply(LocalQwen::chatResult);
    }

    private Call startChat(List<ChatMessage> messages, List<Tool> tools, GenerationParams params, TokenListener listener) {
        int[] prompt;
        try {
            prompt = chatPromptIds(messages, tools);
        } catch (RuntimeException e) {
            if (listener != null) listener.onError(e);
            throw e;
        }
        // text from a <tool_call> block on is not streamed
        ToolCalls.Filter filter = ToolCalls.filter(listener == null ? s -> {} : listener::onToken);
        return start(prompt, params, new TokenListener() {
            @Override
            public void onToken(String delta) { filter.accept(delta); }

            @Override
            public void onComplete(Completion c) {
                filter.finish();
                if (listener != null) listener.onComplete(c);
            }

            @Override
            public void onError(Throwable error) {
                if (listener != null) listener.onError(error);
            }

            @Override
            public boolean cancelled() { return listener != null && listener.cancelled(); }
        });
    }

    private static ChatResult chatResult(Completion c) {
        ToolCalls.Parsed parsed = ToolCalls.parse(c.text());
        FinishReason reason = parsed.calls().isEmpty() ? c.finishReason() : FinishReason.TOOL_CALLS;
        return new ChatResult(parsed.content(), parsed.calls(), c.text(), reason, c.usage());
    }

    /** One call in progress: its task in the batch and the listener's side of it. */
    private final class Call {
        final int[] prompt;
        final TokenListener listener;
        final CompletableFuture<Completion> result = new CompletableFuture<>();
        volatile boolean stop;
        volatile RuntimeException listenerFailed; // thrown by the listener on the model's thread
        BatchGenerator.Task task;
        List<qwen4j.api.TokenLogprob> logprobs; // when asked for; the model's thread's
        int topLogprobs;

        Call(int[] prompt, TokenListener listener) {
            this.prompt = prompt;
            this.listener = listener;
        }

        void onText(String delta) {
            if (listener == null || listenerFailed != null) return;
            try {
                listener.onToken(delta);
            } catch (RuntimeException e) {
                listenerFailed = e; // ends this call at the next step; the batch goes on
            }
        }

        /** The chosen token's log-probability and the most likely ones, from the logits it was picked from. */
        void observe(int id, float[] logits) {
            int limit = engine.vocabLimit();
            float lse = (float) Scoring.logSumExp(logits, limit);
            int[] top = topLogprobs > 0 ? Scoring.topK(logits, limit, topLogprobs) : new int[0];
            float[] topLp = new float[top.length];
            for (int i = 0; i < top.length; i++) topLp[i] = logits[top[i]] - lse;
            qwen4j.api.TokenLogprob lp = new qwen4j.api.TokenLogprob(id, logits[id] - lse, top, topLp);
            logprobs.add(lp);
            if (listener == null || listenerFailed != null) return;
            try {
                listener.onLogprob(lp);
            } catch (RuntimeException e) {
                listenerFailed = e;
            }
        }

        boolean cancelled() {
            if (stop || closed || listenerFailed != null || result.isCancelled()) return true;
            if (listener == null) return false;
            try {
                return listener.cancelled();
            } catch (RuntimeException e) {
                listenerFailed = e;
                return true;
            }
        }

        void done(Generation g, Throwable error) {
            if (error == null && listenerFailed != null) error = listenerFailed;
            if (error != null) {
                RuntimeException e = rethrown(error);
                if (listener != null && listenerFailed == null) {
                    try {
                        listener.onError(e);
                    } catch (RuntimeException ignored) {
                        // the error itself is what the caller gets
                    }
                }
                result.completeExceptionally(e);
                return;
            }
            FinishReason reason = switch (g.stopReason()) {
                case "eos", "stop" -> FinishReason.STOP;
                case "cancelled" -> FinishReason.CANCELLED;
                default -> FinishReason.LENGTH; // the budget or the end of the context
            };
            int cached = task.cachedTokens(); // not prefilled: the timings count the tokens that were
            Completion c = new Completion(g.text(), g.ids(), reason, new Usage(prompt.length, g.ids().length, cached),
                    g.stopReason(), new Timings(prompt.length - cached, g.prefillNanos(), g.decodeNanos(),
                            task.timeToFirstTokenNanos()), logprobs);
            try {
                if (listener != null) listener.onComplete(c);
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
                return;
            }
            result.complete(c);
        }
    }

    private Call start(int[] prompt, GenerationParams p, TokenListener listener) {
        Call call = new Call(prompt, listener);
        try {
            checkOpen();
            checkIds(prompt); // an empty prompt: BatchGenerator.Request says so
            int room = ctx - prompt.length;
            if (room < 1) {
                throw new Qwen4jException("the prompt has " + prompt.length + " tokens but the context holds "
                        + ctx + " (raise contextLength)");
            }
            // the last generated token need not be fed back, hence room + 1
            int budget = p.maxTokens() < 0 ? -1 : Math.min(p.maxTokens(), room + 1);
            SamplerSettings settings = SamplerSettings.of(p);
            Sampler sampler = settings.isGreedy() && !settings.hasPenalties() ? null : new Sampler(settings, engine.vocabLimit(), ctx);
            if (p.logprobs() >= 0) {
                call.logprobs = new ArrayList<>();
                call.topLogprobs = p.logprobs();
            }
            Generator.Params params = new Generator.Params(budget, p.stop(), call::cancelled, p.logprobs() >= 0 ? call::observe : null)
                    .withConstraint(constraint(p.responseFormat()));
            synchronized (submitting) {
                checkOpen();
                call.task = batch.submit(new BatchGenerator.Request(prompt, sampler, params, call::onText));
            }
        } catch (RuntimeException e) {
            if (listener != null) listener.onError(e);
            throw e;
        }
        call.task.result().whenComplete(call::done);
        wake();
        return call;
    }

    /** Waits for a call; interrupted, it stops the generation and returns what it made (CANCELLED). */
    private static Completion await(Call call) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return call.result.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                    call.stop = true;
                } catch (ExecutionException e) {
                    throw rethrown(e.getCause());
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    private static RuntimeException rethrown(Throwable t) {
        if (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) t = t.getCause();
        if (t instanceof RuntimeException re) return re;
        if (t instanceof Error err) throw err;
        return new IllegalStateException(t);
    }

    @Override
    public int[] chatPromptIds(List<ChatMessage> messages, List<Tool> tools) {
        checkOpen();
        synchronized (templateLock) {
            return template().encode(engine.tokenizer(), messageMaps(messages), toolMaps(tools), true, false);
        }
    }

    @Override
    public String chatPrompt(List<ChatMessage> messages, List<Tool> tools) {
        checkOpen();
        synchronized (templateLock) {
            return template().render(messageMaps(messages), toolMaps(tools), true);
        }
    }

    @Override
    public Score score(int[] ids, int topK) {
        if (topK < 0) throw new Qwen4jException("topK must be 0 or more, got " + topK);
        checkOpen();
        if (ids.length == 0) throw new Qwen4jException("nothing to score: the text has no tokens");
        checkIds(ids);
        if (ids.length > ctx) {
            throw new Qwen4jException("the text has " + ids.length + " tokens but the context holds " + ctx + " (raise contextLength)");
        }
        int[] copy = ids.clone();
        Scoring.Result r = onModelThread(() -> {
            if (scoring == null) scoring = engine.newSession();
            scoring.truncate(0);
            return Scoring.score(engine.model(), scoring, copy, topK, engine.vocabLimit());
        });
        double sum = 0;
        List<Score.Position> positions = new ArrayList<>(r.positions().size());
        for (Scoring.Position p : r.positions()) {
            if (p.nextId() >= 0) sum += p.logprob();
            positions.add(new Score.Position(p.index(), p.nextId(), p.logprob(), p.topIds(), p.topLogits()));
        }
        return new Score(ids.length, ids.length - 1, sum, r.perplexity(), List.copyOf(positions));
    }

    @Override
    public GenerationParams samplingDefaults() {
        checkOpen();
        return SamplerSettings.forModel(engine.files()).toParams();
    }

    @Override
    public java.time.Duration loadTime() { return java.time.Duration.ofNanos(engine.loadNanos()); }

    @Override
    public QwenTokenizer tokenizer() {
        checkOpen();
        return tokenizer;
    }

    @Override
    public int contextLength() { return ctx; }

    @Override
    public Stats stats() {
        KvCache cache = batch.cache();
        return new Stats(batch.running(), batch.waiting(), batch.tokensGenerated(), batch.tokensPrefilled(),
                cache.blocksUsed(), cache.blocksFree(), KvCache.BLOCK);
    }

    @Override
    public void close() {
        closed = true; // calls in progress end as cancelled
        wake();
        if (Thread.currentThread() == scheduler) return; // from a callback: the loop ends after this step
        boolean interrupted = false;
        while (scheduler.isAlive()) {
            try {
                scheduler.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    // ---- internals ----

    private void checkOpen() {
        if (closed) throw new IllegalStateException("this Qwen handle is closed");
    }

    private ChatTemplate template() {
        if (template == null) template = ChatTemplate.forModel(engine.files(), engine.tokenizer());
        return template;
    }

    private void checkIds(int[] ids) {
        int vocab = engine.vocabLimit();
        for (int id : ids) {
            if (id < 0 || id >= vocab) throw new Qwen4jException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
        }
    }

    @Override
    public List<String> compile(ResponseFormat format) {
        checkOpen();
        return compiled(java.util.Objects.requireNonNull(format, "format")).warnings();
    }

    /** A fresh per-generation constraint for {@code f}, or null. */
    private qwen4j.generate.constraint.Constraint constraint(ResponseFormat f) {
        return f == null ? null : compiled(f).newSequence();
    }

    /** {@code f} compiled (once: {@link Constraints} keeps the recent ones), errors starting with its source. */
    private CompiledConstraint compiled(ResponseFormat f) {
        try {
            return Constraints.of(f, engine.tokenizer(), engine.vocabLimit(), engine.eosIds());
        } catch (Qwen4jException e) {
            throw f.source() == null ? e : new Qwen4jException(f.source() + ": " + e.getMessage());
        } catch (StackOverflowError e) {
            throw new Qwen4jException((f.source() == null ? "" : f.source() + ": ") + "nested too deeply");
        }
    }

    /** Messages as the template expects them (HF's shape: tool call arguments as JSON objects). */
    public static List<Map<String, Object>> messageMaps(List<ChatMessage> messages) {
        if (messages == null || messages.isEmpty()) throw new Qwen4jException("chat: give at least one message");
        List<Map<String, Object>> out = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            if (!m.toolCalls().isEmpty()) {
                List<Object> calls = new ArrayList<>();
                for (ToolCall c : m.toolCalls()) {
                    Map<String, Object> f = new LinkedHashMap<>();
                    f.put("name", c.name());
                    f.put("arguments", jsonOrText(c.arguments()));
                    Map<String, Object> call = new LinkedHashMap<>();
                    call.put("type", "function");
                    call.put("function", f);
                    calls.add(call);
                }
                map.put("tool_calls", calls);
            }
            if (m.name() != null) map.put("name", m.name());
            out.add(map);
        }
        return out;
    }

    /** Tools in OpenAI's shape, which Qwen's template prints as JSON; null when there are none. */
    public static List<Map<String, Object>> toolMaps(List<Tool> tools) {
        if (tools == null || tools.isEmpty()) return null;
        List<Map<String, Object>> out = new ArrayList<>(tools.size());
        for (Tool t : tools) {
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("name", t.name());
            if (t.description() != null) f.put("description", t.description());
            Object params = t.parameters() == null ? Map.of("type", "object", "properties", Map.of()) : jsonOrText(t.parameters());
            if (!(params instanceof Map)) {
                throw new Qwen4jException("tool " + Qwen4jException.shown(t.name(), 100) + ": parameters must be a JSON object");
            }
            f.put("parameters", params);
            Map<String, Object> tool = new LinkedHashMap<>();
            tool.put("type", "function");
            tool.put("function", f);
            out.add(tool);
        }
        return out;
    }

    private static Object jsonOrText(String json) {
        try {
            return JSON.readValue(json, new TypeReference<Object>() {});
        } catch (Exception e) {
            return json;
        }
    }

    /** The tokenizer view. */
    private record Tok(Tokenizer tokenizer, int vocabSize, List<Integer> eosIds) implements QwenTokenizer {
        private Tokenizer t() { return tokenizer; }

        @Override
        public int[] encode(String text) { return t().encode(text, true); }

        @Override
        public int[] encode(String text, boolean parseSpecial) { return t().encode(text, parseSpecial); }

        @Override
        public String decode(int[] ids) { return t().decode(ids); }

        @Override
        public String piece(int id) { return t().piece(id); }

        @Override
        public byte[] bytes(int id) { return t().tokenBytes(id); }

        @Override
        public OptionalInt specialId(String text) {
            OptionalInt id = t().tokenId(text);
            return id.isPresent() && t().isSpecial(id.getAsInt()) ? id : OptionalInt.empty();
        }

        @Override
        public List<String> specialTokens() { return t().specialTokenContents(); }
    }
}
