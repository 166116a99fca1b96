package qwen4j.api;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import qwen4j.Qwen4jException;
import qwen4j.chat.ChatTemplate;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.Generator;
import qwen4j.generate.Sampler;
import qwen4j.generate.SamplerSettings;
import qwen4j.generate.Scoring;
import qwen4j.generate.constraint.Constraints;
import qwen4j.model.Attention;
import qwen4j.model.KvCache;
import qwen4j.model.Options;
import qwen4j.model.Session;
import qwen4j.tensor.Kernels;
import qwen4j.tokenizer.Tokenizer;

/** {@link Qwen} on today's engine: one {@link Engine}, one session reused by every call under one lock. */
final class LocalQwen implements Qwen {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Engine engine;
    private final Session session;
    private final Generator generator;
    private final QwenTokenizer tokenizer;
    private final ReentrantLock lock = new ReentrantLock();
    private volatile boolean closed;
    private boolean released;
    private ChatTemplate template;

    private LocalQwen(Engine engine) {
        this.engine = engine;
        this.session = engine.newSession();
        this.generator = engine.generator();
        this.tokenizer = new Tok(engine.tokenizer(), engine.vocabLimit(), List.copyOf(engine.eosIds()));
    }

    static QwenTokenizer tokenizer(Path model) {
        Tokenizer t = qwen4j.format.TokenizerLoader.load(model);
        List<Integer> eos = t.eosTokenId().isPresent() ? List.of(t.eosTokenId().getAsInt()) : List.of();
        return new Tok(t, Engine.vocabLimit(t, t.size()), eos);
    }

    static LocalQwen open(Path path, LoadOptions o) {
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
        try {
            return new LocalQwen(engine);
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
    }

    @Override
    public Completion generate(String prompt, GenerationParams params, TokenListener listener) {
        return generate(engine.tokenizer().encode(prompt, true), params, listener);
    }

    @Override
    public Completion generate(int[] promptIds, GenerationParams params, TokenListener listener) {
        return locked(listener, () -> run(promptIds.clone(), params, listener).completion());
    }

    @Override
    public int[] chatPromptIds(List<ChatMessage> messages, List<Tool> tools) {
        lock.lock();
        try {
            checkOpen();
            return template().encode(engine.tokenizer(), messageMaps(messages), toolMaps(tools), true, false);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public ChatResult chat(List<ChatMessage> messages, List<Tool> tools, GenerationParams params, TokenListener listener) {
        return locked(listener, () -> {
            int[] prompt = template().encode(engine.tokenizer(), messageMaps(messages), toolMaps(tools), true, false);
            ToolCalls.Filter filter = ToolCalls.filter(listener == null ? s -> {} : listener::onToken);
            Run r = run(prompt, params, new TokenListener() {
                @Override
                public void onToken(String delta) { filter.accept(delta); }

                @Override
                public boolean cancelled() { return listener != null && listener.cancelled(); }
            });
            filter.finish();
            ToolCalls.Parsed parsed = ToolCalls.parse(r.completion().text());
            FinishReason reason = parsed.calls().isEmpty() ? r.completion().finishReason() : FinishReason.TOOL_CALLS;
            return new Run(r.completion(), new ChatResult(parsed.content(), parsed.calls(), r.completion().text(), reason,
                    r.completion().usage()));
        }).chat();
    }

    @Override
    public String chatPrompt(List<ChatMessage> messages, List<Tool> tools) {
        lock.lock();
        try {
            checkOpen();
            return template().render(messageMaps(messages), toolMaps(tools), true);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Score score(int[] ids, int topK) {
        if (topK < 0) throw new Qwen4jException("topK must be 0 or more, got " + topK);
        lock.lock();
        try {
            checkOpen();
            if (ids.length == 0) throw new Qwen4jException("nothing to score: the text has no tokens");
            checkIds(ids);
            if (ids.length > session.capacity()) {
                throw new Qwen4jException("the text has " + ids.length + " tokens but the context holds "
                        + session.capacity() + " (raise contextLength)");
            }
            session.truncate(0);
            Scoring.Result r = Scoring.score(engine.model(), session, ids.clone(), topK, engine.vocabLimit());
            double sum = 0;
            List<Score.Position> positions = new ArrayList<>(r.positions().size());
            for (Scoring.Position p : r.positions()) {
                if (p.nextId() >= 0) sum += p.logprob();
                positions.add(new Score.Position(p.index(), p.nextId(), p.logprob(), p.topIds(), p.topLogits()));
            }
            return new Score(ids.length, ids.length - 1, sum, r.perplexity(), List.copyOf(positions));
        } finally {
            lock.unlock();
        }
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
    public int contextLength() { return session.capacity(); }

    @Override
    public void close() {
        closed = true; // a generation in progress polls this and stops
        lock.lock();
        try {
            if (!released) {
                released = true;
                engine.close();
            }
        } finally {
            lock.unlock();
        }
    }

    // ---- internals ----

    private record Run(Completion completion, ChatResult chat) {
        Run(Completion completion) { this(completion, null); }
    }

    private interface Body<T> {
        T run();
    }

    /** Runs {@code body} under the lock, reporting its end to the listener. */
    private <T> T locked(TokenListener listener, Body<T> body) {
        lock.lock();
        try {
            checkOpen();
            T result = body.run();
            if (listener != null) {
                Completion c = result instanceof Run r ? r.completion() : (Completion) result;
                listener.onComplete(c);
            }
            return result;
        } catch (RuntimeException | Error e) {
            if (listener != null) listener.onError(e);
            throw e;
        } finally {
            lock.unlock();
        }
    }

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

    private Run run(int[] prompt, GenerationParams p, TokenListener listener) {
        if (prompt.length == 0) throw new Qwen4jException("the prompt is empty: give at least one token");
        checkIds(prompt);
        session.truncate(0);
        int room = session.capacity() - prompt.length;
        if (room < 1) {
            throw new Qwen4jException("the prompt has " + prompt.length + " tokens but the context holds "
                    + session.capacity() + " (raise contextLength)");
        }
        // the last generated token need not be fed back, hence room + 1
        int budget = p.maxTokens() < 0 ? -1 : Math.min(p.maxTokens(), room + 1);
        SamplerSettings settings = SamplerSettings.of(p);
        Sampler sampler = settings.isGreedy() && !settings.hasPenalties()
                ? null : new Sampler(settings, engine.vocabLimit(), session.capacity());
        Consumer<String> onText = listener == null ? s -> {} : listener::onToken;
        Generator.Params params = new Generator.Params(budget, p.stop(),
                () -> closed || (listener != null && listener.cancelled())).withConstraint(constraint(p.responseFormat()));
        Generation g = generator.generate(session, prompt, sampler, params, onText);
        FinishReason reason = switch (g.stopReason()) {
            case "eos", "stop" -> FinishReason.STOP;
            case "cancelled" -> FinishReason.CANCELLED;
            default -> FinishReason.LENGTH; // the budget or the end of the context
        };
        return new Run(new Completion(g.text(), g.ids(), reason, new Usage(prompt.length, g.ids().length), g.stopReason(),
                g.timings()));
    }

    private ResponseFormat compiledFormat;
    private qwen4j.generate.constraint.CompiledConstraint compiled;

    /** A fresh per-generation constraint for {@code f} (compiled once per format in a row), or null. */
    private qwen4j.generate.constraint.Constraint constraint(ResponseFormat f) {
        if (f == null) return null;
        if (!f.equals(compiledFormat)) {
            var t = engine.tokenizer();
            try {
                compiled = switch (f.kind()) {
                    case JSON_OBJECT -> Constraints.jsonObject(t, engine.vocabLimit(), engine.eosIds());
                    case JSON_SCHEMA -> Constraints.jsonSchema(f.text(), true, t, engine.vocabLimit(), engine.eosIds());
                    case GRAMMAR -> Constraints.gbnf(f.text(), t, engine.vocabLimit(), engine.eosIds());
                };
            } catch (Qwen4jException e) {
                throw f.source() == null ? e : new Qwen4jException(f.source() + ": " + e.getMessage());
            }
            compiledFormat = f;
        }
        return compiled.newSequence();
    }

    /** Messages as the template expects them (HF's shape: tool call arguments as JSON objects). */
    static List<Map<String, Object>> messageMaps(List<ChatMessage> messages) {
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
    static List<Map<String, Object>> toolMaps(List<Tool> tools) {
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
        public OptionalInt specialId(String text) {
            OptionalInt id = t().tokenId(text);
            return id.isPresent() && t().isSpecial(id.getAsInt()) ? id : OptionalInt.empty();
        }

        @Override
        public List<String> specialTokens() { return t().specialTokenContents(); }
    }
}
