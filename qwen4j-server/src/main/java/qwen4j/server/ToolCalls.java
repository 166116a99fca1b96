package qwen4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Qwen2.5's tool-call convention: the model writes {@code <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>}
 * blocks. {@link #parse} splits a finished answer into its plain content and its calls; {@link Filter} passes
 * streamed text through until a block starts and keeps everything from there on for {@link #parse}.
 */
final class ToolCalls {
    static final String OPEN = "<tool_call>";
    static final String CLOSE = "</tool_call>";

    private ToolCalls() {}

    /** One parsed call: the function name and its arguments as a JSON string (OpenAI's shape). */
    record Call(String name, String arguments) {}

    /** Content before the first block (trimmed) and the calls; no calls when any block is not valid JSON with a name. */
    record Parsed(String content, List<Call> calls) {}

    static Parsed parse(String text, ObjectMapper json) {
        int first = text.indexOf(OPEN);
        if (first < 0) return new Parsed(text, List.of());
        List<Call> calls = new ArrayList<>();
        int at = first;
        while (at >= 0) {
            int start = at + OPEN.length();
            int end = text.indexOf(CLOSE, start);
            String body = end < 0 ? text.substring(start) : text.substring(start, end);
            try {
                JsonNode n = json.readTree(body.strip());
                if (n == null || !n.isObject() || !n.path("name").isTextual()) return new Parsed(text, List.of());
                JsonNode args = n.get("arguments");
                String a = args == null || args.isNull() ? "{}" : args.isTextual() ? args.asText() : json.writeValueAsString(args);
                calls.add(new Call(n.get("name").asText(), a));
            } catch (Exception e) {
                return new Parsed(text, List.of());
            }
            if (end < 0) break;
            at = text.indexOf(OPEN, end + CLOSE.length());
        }
        return new Parsed(text.substring(0, first).strip(), calls);
    }

    /** Streams text to {@code out} until {@link #OPEN} appears; holds back a possible start of it. */
    static final class Filter implements Consumer<String> {
        private final Consumer<String> out;
        private final StringBuilder held = new StringBuilder();
        private boolean inCall;

        Filter(Consumer<String> out) { this.out = out; }

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

        /** At the end: text still held back (it never became a block). */
        void finish() {
            if (!inCall && held.length() > 0) out.accept(held.toString());
            held.setLength(0);
        }

        boolean sawCall() { return inCall; }
    }
}
