package qwen4j.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.loader.ResourceLocator;
import java.io.IOException;
import java.nio.charset.Charset;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import qwen4j.Qwen4jException;

/**
 * A model's own chat template (Jinja), rendered the way Hugging Face transformers does: trim_blocks and
 * lstrip_blocks, {@code tojson} as Python's {@code json.dumps(ensure_ascii=False)}, {@code raise_exception},
 * {@code strftime_now}, {@code bos_token}/{@code eos_token}.
 *
 * <p>Rendering is sandboxed: the context holds only plain maps, lists, strings, numbers and booleans (inputs
 * are copied into such), templates cannot include or import anything, Java methods cannot be called beyond
 * Jinjava's restricted set, output size, string and list sizes are bounded, and every render has a node
 * budget and a wall-clock deadline checked as the template runs. Thread-safe: one instance may be shared.
 */
public final class ChatTemplate {
    /** Largest rendered output, in characters. */
    public static final long MAX_OUTPUT = 4L << 20;
    /** Largest number of template nodes one render may evaluate. */
    public static final long MAX_NODES = 2_000_000;
    /** Wall-clock limit of one render. */
    public static final long MAX_MILLIS = 2_000;
    /**
     * Longest piece of a template's own text (a raise_exception message, a Jinjava error quoting the
     * template) put into an error message: the template comes from the model file (fuzz finding: a
     * syntax error quoted 1,100 characters of template).
     */
    static final int MAX_MESSAGE = 300;

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;
    private final long maxNodes;
    private final long maxMillis;

    public ChatTemplate(String source, String bosToken, String eosToken) {
        this(source, bosToken, eosToken, MAX_NODES, MAX_MILLIS);
    }

    /** As above with explicit limits (tests use small ones). */
    public ChatTemplate(String source, String bosToken, String eosToken, long maxNodes, long maxMillis) {
        this.source = Objects.requireNonNull(source, "source");
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.maxNodes = maxNodes;
        this.maxMillis = maxMillis;
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withMaxOutputSize(MAX_OUTPUT)
                .withMaxStringLength(MAX_OUTPUT)
                .withMaxListSize(100_000)
                .withMaxMapSize(100_000)
                .withRangeLimit(10_000)
                .withMaxRenderDepth(10)
                .withEnableRecursiveMacroCalls(false)
                .withFailOnUnknownTokens(false)
                .withNestedInterpretationEnabled(false)
                .withDisabled(Map.of(
                        Context.Library.TAG, Set.of("include", "import", "from", "extends", "block"),
                        Context.Library.FUNCTION, Set.of("load", "unixtimestamp", "today")))
                .withNodePreProcessor(ChatTemplate::checkBudget)
                .withLegacyOverrides(com.hubspot.jinjava.LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withEvaluateMapKeys(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build();
        this.jinjava = new Jinjava(config);
        jinjava.setResourceLocator(new NoResources());
        jinjava.getGlobalContext().registerFilter(new PyToJson());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                ChatTemplate.class, "strftimeNow", String.class));
    }

    public String source() { return source; }

    /**
     * The model's own template: GGUF {@code tokenizer.chat_template}, or for an HF folder
     * {@code tokenizer_config.json}'s {@code chat_template} (a string, or a list of named templates: "default"),
     * else {@code chat_template.jinja}. bos/eos token variables come from the tokenizer.
     */
    public static ChatTemplate forModel(qwen4j.format.LoadedModel files, qwen4j.tokenizer.Tokenizer tokenizer) {
        String bos = tokenizer.bosTokenId().isPresent() ? tokenizer.tokenString(tokenizer.bosTokenId().getAsInt()) : "";
        String eos = tokenizer.eosTokenId().isPresent() ? tokenizer.tokenString(tokenizer.eosTokenId().getAsInt()) : "";
        String source = null;
        String where;
        if (!files.ggufMetadata().isEmpty()) {
            where = files.path() + " (GGUF metadata tokenizer.chat_template)";
            if (files.ggufMetadata().get("tokenizer.chat_template") instanceof String s) source = s;
        } else {
            java.nio.file.Path folder = files.hfFolder().orElseThrow();
            where = folder + " (tokenizer_config.json chat_template or chat_template.jinja)";
            java.nio.file.Path config = folder.resolve("tokenizer_config.json");
            try {
                if (java.nio.file.Files.isRegularFile(config)) {
                    JsonNode t = new com.fasterxml.jackson.databind.ObjectMapper().readTree(config.toFile()).get("chat_template");
                    if (t != null && t.isTextual()) source = t.asText();
                    else if (t != null && t.isArray()) {
                        for (JsonNode named : t) {
                            if ("default".equals(named.path("name").asText()) || source == null) {
                                source = named.path("template").asText(null);
                            }
                        }
                    }
                }
                java.nio.file.Path jinja = folder.resolve("chat_template.jinja");
                if (source == null && java.nio.file.Files.isRegularFile(jinja)) source = java.nio.file.Files.readString(jinja);
            } catch (IOException e) {
                throw new Qwen4jException(config + ": cannot read the chat template (" + e.getMessage() + ")");
            }
        }
        if (source == null) throw new Qwen4jException("the model has no chat template: " + where);
        return new ChatTemplate(source, bos, eos);
    }

    /** Renders a conversation: {@code messages} (maps with role, content, tool_calls, name...), {@code tools} (nullable). */
    public String render(List<?> messages, List<?> tools, boolean addGenerationPrompt) {
        return render(messages, tools, addGenerationPrompt, Map.of());
    }

    /** As above with extra template variables (e.g. {@code documents}); values are copied to plain data. */
    public String render(List<?> messages, List<?> tools, boolean addGenerationPrompt, Map<String, ?> extra) {
        Map<String, Object> vars = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : extra.entrySet()) vars.put(e.getKey(), PlainData.copy(e.getValue()));
        vars.put("messages", PlainData.copy(messages));
        if (tools != null) vars.put("tools", PlainData.copy(tools));
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bosToken);
        vars.put("eos_token", eosToken);
        return renderVariables(vars);
    }

    /**
     * Renders a conversation and tokenizes it. The template's own markers (such as {@code <|im_start|>})
     * become special tokens; special-token text inside messages and tools stays plain text, so a message
     * cannot forge a turn, unless {@code parseSpecialInMessages} (the behaviour of HF transformers and
     * llama.cpp, kept as an opt-in).
     */
    public int[] encode(qwen4j.tokenizer.Tokenizer tokenizer, List<?> messages, List<?> tools, boolean addGenerationPrompt,
                        boolean parseSpecialInMessages) {
        if (parseSpecialInMessages) return tokenizer.encode(render(messages, tools, addGenerationPrompt), true);
        qwen4j.tokenizer.LiteralSpecials literal = literalFor(tokenizer);
        List<?> m = (List<?>) protect(PlainData.copy(messages), literal);
        List<?> t = tools == null ? null : (List<?>) protect(PlainData.copy(tools), literal);
        return literal.encode(render(m, t, addGenerationPrompt));
    }

    private record Literal(qwen4j.tokenizer.Tokenizer tokenizer, qwen4j.tokenizer.LiteralSpecials specials) {}

    private volatile Literal literal;

    private qwen4j.tokenizer.LiteralSpecials literalFor(qwen4j.tokenizer.Tokenizer tokenizer) {
        Literal l = literal;
        if (l == null || l.tokenizer() != tokenizer) {
            l = new Literal(tokenizer, qwen4j.tokenizer.LiteralSpecials.of(tokenizer, source + bosToken + eosToken));
            literal = l;
        }
        return l.specials();
    }

    /** Plain data with every string value (not map keys) protected. */
    private static Object protect(Object plain, qwen4j.tokenizer.LiteralSpecials literal) {
        return switch (plain) {
            case String s -> literal.protect(s);
            case Map<?, ?> map -> {
                Map<String, Object> out = new LinkedHashMap<>();
                for (Map.Entry<?, ?> e : map.entrySet()) out.put((String) e.getKey(), protect(e.getValue(), literal));
                yield out;
            }
            case List<?> list -> {
                List<Object> out = new java.util.ArrayList<>(list.size());
                for (Object o : list) out.add(protect(o, literal));
                yield out;
            }
            case null, default -> plain;
        };
    }

    /** Renders from an OpenAI-style JSON request body ({@code messages}, optional {@code tools}). */
    public String render(JsonNode request, boolean addGenerationPrompt) {
        Object messages = PlainData.copy(request.get("messages"));
        Object tools = request.has("tools") && !request.get("tools").isNull() ? PlainData.copy(request.get("tools")) : null;
        if (!(messages instanceof List<?> list)) throw new Qwen4jException("chat template: 'messages' must be a list");
        return render(list, tools instanceof List<?> t ? t : null, addGenerationPrompt);
    }

    private String renderVariables(Map<String, Object> vars) {
        Budget budget = new Budget(maxNodes, System.nanoTime() + maxMillis * 1_000_000L);
        Budget previous = BUDGET.get();
        BUDGET.set(budget);
        RenderResult result;
        try {
            result = jinjava.renderForResult(source, vars);
        } catch (LimitExceeded e) {
            throw new Qwen4jException("chat template: " + e.getMessage());
        } catch (TemplateRaised e) {
            throw new Qwen4jException("chat template raised: " + Qwen4jException.shown(e.getMessage(), MAX_MESSAGE));
        } catch (RuntimeException e) {
            Throwable c = e;
            while (c != null) {
                if (c instanceof TemplateRaised r) throw new Qwen4jException("chat template raised: " + Qwen4jException.shown(r.getMessage(), MAX_MESSAGE));
                if (c instanceof LimitExceeded l) throw new Qwen4jException("chat template: " + l.getMessage());
                c = c.getCause();
            }
            throw new Qwen4jException("chat template failed: " + Qwen4jException.shown(e.toString(), MAX_MESSAGE));
        } finally {
            if (previous == null) BUDGET.remove(); else BUDGET.set(previous);
        }
        for (TemplateError error : result.getErrors()) {
            Throwable c = error.getException();
            while (c != null) {
                if (c instanceof TemplateRaised r) throw new Qwen4jException("chat template raised: " + Qwen4jException.shown(r.getMessage(), MAX_MESSAGE));
                if (c instanceof LimitExceeded l) throw new Qwen4jException("chat template: " + l.getMessage());
                c = c.getCause();
            }
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new Qwen4jException("chat template error at line " + error.getLineno() + ": "
                        + Qwen4jException.shown(error.getMessage(), MAX_MESSAGE));
            }
        }
        return result.getOutput();
    }

    // ---- sandbox limits ----

    private static final ThreadLocal<Budget> BUDGET = new ThreadLocal<>();

    private static final class Budget {
        long nodesLeft;
        final long deadline;

        Budget(long nodes, long deadline) {
            this.nodesLeft = nodes;
            this.deadline = deadline;
        }
    }

    /** Thrown (an Error, so Jinjava's per-node error handling cannot swallow it) when a render runs over budget. */
    static final class LimitExceeded extends Error {
        LimitExceeded(String message) { super(message, null, false, false); }
    }

    /** Thrown by {@code raise_exception(msg)}; an Error for the same reason. */
    static final class TemplateRaised extends Error {
        TemplateRaised(String message) { super(message, null, false, false); }
    }

    private static void checkBudget(com.hubspot.jinjava.tree.Node node, JinjavaInterpreter interpreter) {
        Budget b = BUDGET.get();
        if (b == null) return;
        if (--b.nodesLeft < 0) throw new LimitExceeded("the template evaluated too many nodes (runaway loop?)");
        if ((b.nodesLeft & 63) == 0 && System.nanoTime() > b.deadline) {
            throw new LimitExceeded("rendering took too long (runaway loop?)");
        }
    }

    public static Object raiseException(String message) {
        throw new TemplateRaised(message);
    }

    public static String strftimeNow(String format) {
        // The common Python directives; others pass through.
        StringBuilder out = new StringBuilder();
        LocalDateTime now = LocalDateTime.now();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char d = format.charAt(++i);
            String pattern = switch (d) {
                case 'Y' -> "yyyy";
                case 'm' -> "MM";
                case 'd' -> "dd";
                case 'H' -> "HH";
                case 'M' -> "mm";
                case 'S' -> "ss";
                case 'B' -> "MMMM";
                case 'b' -> "MMM";
                case 'A' -> "EEEE";
                case 'a' -> "EEE";
                default -> null;
            };
            if (pattern == null) out.append('%').append(d);
            else out.append(now.format(DateTimeFormatter.ofPattern(pattern, java.util.Locale.ROOT)));
        }
        return out.toString();
    }

    private static final class NoResources implements ResourceLocator {
        @Override
        public String getString(String fullName, Charset encoding, JinjavaInterpreter interpreter) throws IOException {
            throw new IOException("chat templates may not load other templates or files");
        }
    }

    /** {@code tojson} as transformers defines it: json.dumps(x, ensure_ascii=False, indent=None, sort_keys=False). */
    static final class PyToJson implements Filter {
        @Override
        public String getName() { return "tojson"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, (Object[]) args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.get("indent");
            if (indent == null && args != null && args.length > 0) indent = args[0];
            boolean sortKeys = Boolean.TRUE.equals(kwargs.get("sort_keys"));
            int n = indent instanceof Number num ? num.intValue() : -1;
            StringBuilder sb = new StringBuilder();
            PythonJson.write(var, sb, n, sortKeys, 0);
            return sb.toString();
        }
    }
}
