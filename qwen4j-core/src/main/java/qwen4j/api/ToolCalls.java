package qwen4j.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Qwen2.5's tool-call convention: the model writes {@code <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>}
 * blocks. {@link #parse} splits a finished answer into its plain content and its calls (the server's {@code tool_calls} use
 * it too); {@link #filter} passes streamed text through until a block starts.
 */
public final class ToolCalls {
    /** The opening marker of a call. */
    public static final String OPEN = "<tool_call>";
    /** The closing marker of a call. */
    public static final String CLOSE = "</tool_call>";

    private static final ObjectMapper JSON = new ObjectMapper();

    private ToolCalls() {}

    /**
     * The parsed answer.
     *
     * @param content text before the first block (trimmed), or the whole text when there are no calls
     * @param calls   the calls, in order
     */
    public record Parsed(String content, List<ToolCall> calls) {}

    /**
     * Splits {@code text} into content and calls. When any block is not a JSON object with a string
     * {@code name}, the text is taken as plain content with no calls (the model did not follow the format).
     */
    public static Parsed parse(String text) {
        int first = text.indexOf(OPEN);
        if (first < 0) return new Parsed(text, List.of());
        List<ToolCall> calls = new ArrayList<>();
        int at = first;
        while (at >= 0) {
            int start = at + OPEN.length();
            int end = text.indexOf(CLOSE, start);
            String body = end < 0 ? text.substring(start) : text.substring(start, end);
            try {
                JsonNode n = JSON.readTree(body.strip());
                if (n == null || !n.isObject() || !n.path("name").isTextual()) return new Parsed(text, List.of());
                JsonNode args = n.get("arguments");
                String a = args == null || args.isNull() ? "{}" : args.isTextual() ? args.asText() : JSON.writeValueAsString(args);
                calls.add(new ToolCall("call_" + calls.size(), n.get("name").asText(), a));
            } catch (Exception e) {
                return new Parsed(text, List.of());
            }
            if (end < 0) break;
            at = text.indexOf(OPEN, end + CLOSE.length());
        }
        return new Parsed(text.substring(0, first).strip(), calls);
    }

    /**
     * A streaming filter: passes text to {@code out} until {@link #OPEN} appears, holding back a possible start
     * of it, and swallows everything from there on. Call {@link Filter#finish()} at the end.
     */
    public static Filter filter(Consumer<String> out) { return new Filter(out); }

    /** See {@link ToolCalls#filter}. Not thread-safe. */
    public static final class Filter implements Consumer<String> {
        private final Consumer<String> out;
        private final StringBuilder held = new StringBuilder();
        private boolean inCall;

        private Filter(Consumer<String> out) { this.out = out; }

        /** Takes the next piece of streamed text. */
        @Override
        public void accept(String piece) {
            if (inCall) return;
            held.append(piece);
            int i = held.indexOf(OPEN);
            if (i >= 0) {
                inCall = true;
                String before = held.substring(0, i);
                if (!before.isEmpty()) out.accept(before);
                held.setLength(0);
                return;
            }
            int keep = 0;
            for (int k = Math.min(OPEN.length() - 1, held.length()); k > 0; k--) {
                if (endsWithStartOf(held, k)) {
                    keep = k;
                    break;
                }
            }
            int emit = held.length() - keep;
            if (emit > 0 && Character.isHighSurrogate(held.charAt(emit - 1))) emit--;
            if (emit > 0) {
                out.accept(held.substring(0, emit));
                held.delete(0, emit);
            }
        }

        private static boolean endsWithStartOf(StringBuilder sb, int k) {
            int from = sb.length() - k;
            for (int i = 0; i < k; i++) if (sb.charAt(from + i) != OPEN.charAt(i)) return false;
            return true;
        }

        /** At the end: passes on text still held back (it never became a block). */
        public void finish() {
            if (!inCall && held.length() > 0) out.accept(held.toString());
            held.setLength(0);
        }

        /** Whether a {@code <tool_call>} block started. */
        public boolean sawCall() { return inCall; }
    }
}
