package qwen4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import qwen4j.Qwen4jException;
import qwen4j.chat.ChatTemplate;
import qwen4j.chat.Message;
import qwen4j.generate.BatchGenerator;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.Generator;
import qwen4j.generate.Sampler;
import qwen4j.generate.SamplerSettings;

/**
 * {@code generate --batch-file IN.jsonl -o OUT.jsonl}: every line of IN ({@code prompt} or {@code messages},
 * optional {@code id}, {@code max_tokens}, {@code temperature}, {@code top_k}, {@code top_p}, {@code min_p},
 * {@code seed}, {@code stop}) generated with {@code --parallel} sequences decoded together; one result
 * line per prompt appended to OUT in input order, so a rerun skips the ids OUT already has. A line's
 * fields act as the same flags of {@code generate} would (a {@code messages} line as {@code --chat}),
 * so each result equals that prompt run alone with those flags; without a seed, line N takes the
 * command's seed + N.
 */
final class BatchFileRun {
    private final ObjectMapper json = new ObjectMapper();

    /** One input line, parsed and validated before anything runs. */
    record Item(String id, int line, int[] prompt, int maxTokens, SamplerSettings settings, List<String> stop) {}

    int run(Engine engine, Path in, Path out, int parallel, int defaultMaxTokens, SamplingOptions sampling, boolean chat,
            boolean parseSpecial, PrintWriter err) throws IOException {
        List<Item> items = read(engine, in, defaultMaxTokens, sampling, chat, parseSpecial);
        Set<String> done = finishedIds(out);
        List<Item> todo = items.stream().filter(i -> !done.contains(i.id())).toList();
        if (todo.size() < items.size()) {
            err.printf(Locale.ROOT, "%s: %d of %d prompts already done, skipped%n", out, items.size() - todo.size(), items.size());
        }
        if (todo.isEmpty()) return 0;
        long t0 = System.nanoTime();
        long tokens = 0;
        int finished = 0;
        try (BatchGenerator gen = BatchGenerator.of(engine, parallel);
             BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            Iterator<Item> source = todo.iterator();
            List<Item> submitted = new ArrayList<>();
            Iterator<Generation> results = gen.generateAll(new Iterator<>() {
                @Override
                public boolean hasNext() { return source.hasNext(); }

                @Override
                public BatchGenerator.Request next() {
                    Item i = source.next();
                    submitted.add(i);
                    Sampler sampler = new Sampler(i.settings(), engine.vocabLimit(), engine.model().maxContext());
                    return new BatchGenerator.Request(i.prompt(), sampler, new Generator.Params(i.maxTokens(), i.stop(), null), null);
                }
            });
            while (results.hasNext()) {
                Generation g = results.next();
                Item i = submitted.get(finished++);
                w.write(json.writeValueAsString(result(i, g)));
                w.newLine();
                w.flush(); // a killed run keeps every finished line
                tokens += g.ids().length;
                double s = (System.nanoTime() - t0) / 1e9;
                err.printf(Locale.ROOT, "\r[%d/%d prompts] %.1f tokens/s", finished, todo.size(), tokens / s);
                err.flush();
            }
        }
        err.println();
        return 0;
    }

    private ObjectNode result(Item i, Generation g) {
        ObjectNode o = json.createObjectNode();
        o.put("id", i.id());
        o.put("text", g.text());
        o.put("finish_reason", g.stopReason());
        ObjectNode u = o.putObject("usage");
        u.put("prompt_tokens", g.promptIds().length);
        u.put("completion_tokens", g.ids().length);
        u.put("total_tokens", g.promptIds().length + g.ids().length);
        ObjectNode t = o.putObject("timings");
        t.put("time_to_first_token_ms", g.prefillNanos() / 1e6);
        t.put("decode_tokens_per_s", g.decodeTokensPerSecond());
        return o;
    }

    /** Ids of the complete lines of an earlier run's output (a line cut off by a kill is ignored). */
    private Set<String> finishedIds(Path out) throws IOException {
        Set<String> ids = new HashSet<>();
        if (!Files.exists(out)) return ids;
        String all = Files.readString(out, StandardCharsets.UTF_8);
        int end = all.lastIndexOf('\n');
        if (end < all.length() - 1) {
            // drop the partial last line so the appended results start on a line of their own
            Files.writeString(out, all.substring(0, end + 1), StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
        }
        for (String line : all.substring(0, end + 1).split("\n")) {
            if (line.isBlank()) continue;
            try {
                JsonNode n = json.readTree(line);
                if (n.hasNonNull("id")) ids.add(n.get("id").asText());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new Qwen4jException(out + ": not a result file of an earlier run (a line is not JSON): " + e.getOriginalMessage());
            }
        }
        return ids;
    }

    private List<Item> read(Engine engine, Path in, int defaultMaxTokens, SamplingOptions sampling, boolean chat,
                            boolean parseSpecial) throws IOException {
        qwen4j.api.GenerationParams modelDefaults = SamplerSettings.forModel(engine.files()).toParams();
        long baseSeed = sampling.seed != null ? sampling.seed : System.nanoTime() ^ 0x5DEECE66DL;
        if (!Files.isRegularFile(in)) throw new Qwen4jException(in + ": no such file");
        List<String> lines = Files.readAllLines(in, StandardCharsets.UTF_8);
        List<Item> items = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        ChatTemplate template = null;
        for (int ln = 1; ln <= lines.size(); ln++) {
            String line = lines.get(ln - 1);
            if (line.isBlank()) continue;
            String where = in.getFileName() + " line " + ln + ": ";
            JsonNode n;
            try {
                n = json.readTree(line);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new Qwen4jException(where + "not JSON: " + e.getOriginalMessage());
            }
            if (!n.isObject()) throw new Qwen4jException(where + "expected a JSON object");
            String id = n.hasNonNull("id") ? n.get("id").asText() : Integer.toString(ln);
            if (!ids.add(id)) throw new Qwen4jException(where + "the id '" + id + "' appears twice");
            int[] prompt;
            if (n.has("messages") || chat) {
                if (template == null) template = ChatTemplate.forModel(engine.files(), engine.tokenizer());
                List<Message> messages = new ArrayList<>();
                if (n.has("messages")) {
                    if (!n.get("messages").isArray()) throw new Qwen4jException(where + "messages must be an array");
                    for (JsonNode m : n.get("messages")) {
                        if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                            throw new Qwen4jException(where + "each message needs a text role and content");
                        }
                        messages.add(new Message(m.get("role").asText(), m.get("content").asText()));
                    }
                } else {
                    messages.add(Message.user(text(n, where)));
                }
                prompt = template.encode(engine.tokenizer(), messages, null, true, false);
            } else {
                prompt = engine.tokenizer().encode(text(n, where), parseSpecial);
            }
            if (prompt.length == 0) throw new Qwen4jException(where + "the prompt is empty");
            int maxTokens = n.has("max_tokens") ? integer(n, "max_tokens", where) : defaultMaxTokens;
            if (maxTokens < -1) throw new Qwen4jException(where + "max_tokens must be -1 or more");
            int ctx = engine.model().maxContext();
            if (prompt.length + Math.max(0, maxTokens) > ctx + 1) {
                throw new Qwen4jException(where + "prompt (" + prompt.length + " tokens) + max_tokens " + maxTokens
                        + " exceeds the context of " + ctx + " tokens (raise --ctx)");
            }
            SamplingOptions flags = sampling.copy();
            if (n.has("temperature")) flags.temperature = (float) number(n, "temperature", where);
            if (n.has("top_k")) flags.topK = integer(n, "top_k", where);
            if (n.has("top_p")) flags.topP = (float) number(n, "top_p", where);
            if (n.has("min_p")) flags.minP = (float) number(n, "min_p", where);
            if (n.has("seed") && !n.get("seed").isIntegralNumber()) throw new Qwen4jException(where + "seed must be a whole number");
            flags.seed = n.has("seed") ? n.get("seed").asLong() : baseSeed + ln;
            SamplerSettings s;
            try {
                s = SamplerSettings.of(flags.resolve(modelDefaults, chat || n.has("messages")));
            } catch (Qwen4jException e) {
                throw new Qwen4jException(where + e.getMessage());
            }
            List<String> stop = new ArrayList<>(sampling.stopStrings());
            JsonNode st = n.get("stop");
            if (st != null) {
                stop.clear();
                if (st.isTextual()) stop.add(st.asText());
                else if (st.isArray()) for (JsonNode x : st) stop.add(x.asText());
                else throw new Qwen4jException(where + "stop must be a string or an array of strings");
            }
            if (stop.stream().anyMatch(String::isEmpty)) throw new Qwen4jException(where + "a stop string may not be empty");
            items.add(new Item(id, ln, prompt, maxTokens, s, stop));
        }
        if (items.isEmpty()) throw new Qwen4jException(in + ": no prompts (one JSON object per line)");
        return items;
    }

    private static double number(JsonNode n, String field, String where) {
        if (!n.get(field).isNumber()) throw new Qwen4jException(where + field + " must be a number");
        return n.get(field).asDouble();
    }

    private static int integer(JsonNode n, String field, String where) {
        if (!n.get(field).canConvertToInt() || !n.get(field).isIntegralNumber()) {
            throw new Qwen4jException(where + field + " must be a whole number");
        }
        return n.get(field).asInt();
    }

    private static String text(JsonNode n, String where) {
        if (!n.path("prompt").isTextual()) throw new Qwen4jException(where + "give \"prompt\" (text) or \"messages\"");
        return n.get("prompt").asText();
    }
}
