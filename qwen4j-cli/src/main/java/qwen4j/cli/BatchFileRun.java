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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import qwen4j.Qwen4jException;
import java.util.concurrent.CompletableFuture;
import qwen4j.api.ChatMessage;
import qwen4j.api.Completion;
import qwen4j.api.GenerationParams;
import qwen4j.api.Qwen;

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
    record Item(String id, int line, int[] prompt, GenerationParams params) {}

    int run(Qwen qwen, Path in, Path out, int parallel, int defaultMaxTokens, SamplingOptions sampling, boolean chat,
            boolean parseSpecial, PrintWriter err) throws IOException {
        List<Item> items = read(qwen, in, defaultMaxTokens, sampling, chat, parseSpecial);
        Set<String> done = finishedIds(out);
        List<Item> todo = items.stream().filter(i -> !done.contains(i.id())).toList();
        if (todo.size() < items.size()) {
            err.printf(Locale.ROOT, "%s: %d of %d prompts already done, skipped%n", out, items.size() - todo.size(), items.size());
        }
        if (todo.isEmpty()) return 0;
        long t0 = System.nanoTime();
        long tokens = 0;
        // a few more in flight than are decoded at once, so a place freed is taken at the next step
        ArrayDeque<CompletableFuture<Completion>> inFlight = new ArrayDeque<>();
        int submitted = 0;
        try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            for (int finished = 0; finished < todo.size(); finished++) {
                while (submitted < todo.size() && inFlight.size() < 2 * parallel) {
                    Item i = todo.get(submitted++);
                    inFlight.add(qwen.generateAsync(i.prompt(), i.params(), null));
                }
                Completion c;
                try {
                    c = inFlight.poll().join();
                } catch (java.util.concurrent.CompletionException e) {
                    throw e.getCause() instanceof RuntimeException re ? re : e;
                }
                w.write(json.writeValueAsString(result(todo.get(finished), c)));
                w.newLine();
                w.flush(); // a killed run keeps every finished line
                tokens += c.tokenIds().length;
                double s = (System.nanoTime() - t0) / 1e9;
                err.printf(Locale.ROOT, "\r[%d/%d prompts] %.1f tokens/s", finished + 1, todo.size(), tokens / s);
                err.flush();
            }
        } finally {
            for (CompletableFuture<Completion> f : inFlight) f.cancel(true);
        }
        err.println();
        return 0;
    }

    private ObjectNode result(Item i, Completion c) {
        ObjectNode o = json.createObjectNode();
        o.put("id", i.id());
        o.put("text", c.text());
        o.put("finish_reason", c.stopReason());
        ObjectNode u = o.putObject("usage");
        u.put("prompt_tokens", c.usage().promptTokens());
        u.put("completion_tokens", c.usage().completionTokens());
        u.put("total_tokens", c.usage().totalTokens());
        ObjectNode t = o.putObject("timings");
        t.put("time_to_first_token_ms", c.timings().prefillNanos() / 1e6);
        t.put("decode_tokens_per_s", c.timings().decodeTokensPerSecond());
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

    private List<Item> read(Qwen qwen, Path in, int defaultMaxTokens, SamplingOptions sampling, boolean chat,
                            boolean parseSpecial) throws IOException {
        GenerationParams modelDefaults = qwen.samplingDefaults();
        long baseSeed = sampling.seed != null ? sampling.seed : System.nanoTime() ^ 0x5DEECE66DL;
        if (!Files.isRegularFile(in)) throw new Qwen4jException(in + ": no such file");
        List<String> lines = Files.readAllLines(in, StandardCharsets.UTF_8);
        List<Item> items = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        int ctx = qwen.contextLength();
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
                List<ChatMessage> messages = new ArrayList<>();
                if (n.has("messages")) {
                    if (!n.get("messages").isArray()) throw new Qwen4jException(where + "messages must be an array");
                    for (JsonNode m : n.get("messages")) {
                        if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                            throw new Qwen4jException(where + "each message needs a text role and content");
                        }
                        messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText(), List.of(), null));
                    }
                } else {
                    messages.add(ChatMessage.user(text(n, where)));
                }
                prompt = qwen.chatPromptIds(messages, null);
            } else {
                prompt = qwen.tokenizer().encode(text(n, where), parseSpecial);
            }
            if (prompt.length == 0) throw new Qwen4jException(where + "the prompt is empty");
            int maxTokens = n.has("max_tokens") ? integer(n, "max_tokens", where) : defaultMaxTokens;
            if (maxTokens < -1) throw new Qwen4jException(where + "max_tokens must be -1 or more");
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
            List<String> stop = new ArrayList<>(sampling.stopStrings());
            JsonNode st = n.get("stop");
            if (st != null) {
                stop.clear();
                if (st.isTextual()) stop.add(st.asText());
                else if (st.isArray()) for (JsonNode x : st) stop.add(x.asText());
                else throw new Qwen4jException(where + "stop must be a string or an array of strings");
            }
            GenerationParams params;
            try {
                params = flags.resolve(modelDefaults, chat || n.has("messages")).toBuilder().maxTokens(maxTokens).stop(stop).build();
            } catch (Qwen4jException e) {
                throw new Qwen4jException(where + e.getMessage());
            }
            items.add(new Item(id, ln, prompt, params));
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
