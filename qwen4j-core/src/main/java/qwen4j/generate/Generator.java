package qwen4j.generate;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import qwen4j.Qwen4jException;
import qwen4j.generate.constraint.Constraint;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Session;
import qwen4j.tokenizer.StreamingDecoder;
import qwen4j.tokenizer.Tokenizer;

/**
 * The generation loop: prefill the prompt, then pick a token with a {@link Sampler}, stream its text, feed it
 * back, until an end-of-sequence id, a stop string, the token budget, the end of the context or a cancel.
 * Without a sampler (or at temperature 0 without penalties) it is plain greedy decoding.
 */
public final class Generator {
    private final Qwen2Model model;
    private final Tokenizer tokenizer;
    private final Set<Integer> eosIds;

    public Generator(Qwen2Model model, Tokenizer tokenizer, Set<Integer> eosIds) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.eosIds = eosIds;
    }

    /**
     * What to generate besides the prompt.
     *
     * @param maxTokens   token budget; negative runs to eos or the end of the context
     * @param stopStrings generation stops before the first occurrence of any; the text never includes it
     * @param cancelled   polled before every model step; true stops with reason "cancelled"
     * @param onToken     nullable; told every generated id with the logits it was picked from (raw; masked
     *                    to -inf for tokens a constraint ruled out)
     * @param constraint  nullable; masks the logits before sampling so the output stays in its language
     */
    public record Params(int maxTokens, List<String> stopStrings, BooleanSupplier cancelled, TokenObserver onToken,
                         Constraint constraint) {
        public Params {
            stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
            for (String s : stopStrings) if (s.isEmpty()) throw new Qwen4jException("a stop string may not be empty");
            if (cancelled == null) cancelled = () -> false;
        }

        public Params(int maxTokens, List<String> stopStrings, BooleanSupplier cancelled, TokenObserver onToken) {
            this(maxTokens, stopStrings, cancelled, onToken, null);
        }

        public Params(int maxTokens, List<String> stopStrings, BooleanSupplier cancelled) {
            this(maxTokens, stopStrings, cancelled, null, null);
        }

        public Params withConstraint(Constraint c) { return new Params(maxTokens, stopStrings, cancelled, onToken, c); }

        public static Params maxTokens(int n) { return new Params(n, List.of(), null); }
    }

    /** Sees each generated id with the logits it was chosen from (before any sampler stage); must not keep them. */
    @FunctionalInterface
    public interface TokenObserver {
        void token(int id, float[] logits);
    }

    /** Greedy generation of up to {@code maxTokens} tokens (negative: to eos or the context end). */
    public Generation generate(Session session, int[] prompt, int maxTokens, Consumer<String> onText) {
        return generate(session, prompt, null, Params.maxTokens(maxTokens), onText);
    }

    /**
     * Prefills {@code prompt} after whatever {@code session} already holds, then generates. {@code sampler}
     * null = greedy; otherwise every prompt and generated token is {@linkplain Sampler#accept accepted} into
     * its penalty window. {@code onText} receives text as soon as it forms complete characters and cannot be
     * the start of a stop string.
     */
    public Generation generate(Session session, int[] prompt, Sampler sampler, Params params, Consumer<String> onText) {
        if (prompt.length == 0) throw new Qwen4jException("the prompt is empty: give at least one token");
        int room = session.capacity() - session.position();
        if (prompt.length > room) {
            throw new Qwen4jException("the prompt has " + prompt.length + " tokens but the context has room for "
                    + room + " (raise --ctx)");
        }
        int maxTokens = params.maxTokens();
        if (maxTokens >= 0 && prompt.length + maxTokens > room + 1) {
            throw new Qwen4jException("prompt (" + prompt.length + " tokens) + -n " + maxTokens
                    + " exceeds the context of " + session.capacity() + " tokens (raise --ctx or lower -n)");
        }
        int vocabLimit = Engine.vocabLimit(tokenizer, model.config().vocabSize());
        StreamingDecoder decoder = tokenizer.streamingDecoder();
        StopStrings stops = new StopStrings(params.stopStrings(), onText);
        BooleanSupplier cancelled = params.cancelled();
        Constraint constraint = params.constraint();

        long t0 = System.nanoTime();
        float[] logits = null;
        String stop = null;
        int fed = 0;
        if (cancelled.getAsBoolean()) {
            stop = "cancelled";
        } else {
            logits = model.prefill(session, prompt); // batched or token by token, as the options say
            fed = prompt.length;
        }
        long prefillNanos = System.nanoTime() - t0;
        if (sampler != null) for (int i = 0; i < fed; i++) sampler.accept(prompt[i]);

        int budget = maxTokens < 0 ? Integer.MAX_VALUE : maxTokens;
        int[] out = new int[Math.max(1, Math.min(budget, Math.max(16, room)))];
        long[] decodeNanos = new long[Math.max(0, out.length - 1)];
        int n = 0, steps = 0;
        if (stop == null) {
            stop = "length";
            while (n < budget) {
                if (constraint != null) constraint.mask(logits); // before the sampler chain: every stage sees it
                int next = sampler == null ? Greedy.argmax(logits, vocabLimit) : sampler.sample(logits);
                if (params.onToken() != null) params.onToken().token(next, logits);
                if (n == out.length) {
                    out = Arrays.copyOf(out, out.length * 2);
                    decodeNanos = Arrays.copyOf(decodeNanos, out.length);
                }
                out[n++] = next;
                if (constraint != null) constraint.accept(next);
                if (sampler != null) sampler.accept(next);
                if (eosIds.contains(next)) {
                    stop = "eos";
                    break;
                }
                if (stops.add(decoder.accept(next))) {
                    stop = "stop";
                    break;
                }
                if (n == budget) break;
                if (session.position() >= session.capacity()) {
                    stop = "context";
                    break;
                }
                if (cancelled.getAsBoolean()) {
                    stop = "cancelled";
                    break;
                }
                long t = System.nanoTime();
                logits = model.forward(session, next);
                decodeNanos[steps++] = System.nanoTime() - t;
            }
        }
        if (!stop.equals("stop") && stops.add(decoder.flush())) stop = "stop";
        stops.finish();
        return new Generation(Arrays.copyOf(prompt, fed), Arrays.copyOf(out, n), stops.text(), prefillNanos,
                Arrays.copyOf(decodeNanos, steps), stop);
    }

    /**
     * Stop-string matching over streamed text: text is passed on only once it can no longer be the start of
     * a stop string; on a match everything from the stop string on is dropped.
     */
    static final class StopStrings {
        private final List<String> stops;
        private final int longest;
        private final Consumer<String> onText;
        private final StringBuilder text = new StringBuilder();
        private int emitted;
        private boolean stopped;

        StopStrings(List<String> stops, Consumer<String> onText) {
            this.stops = stops;
            this.onText = onText;
            int l = 0;
            for (String s : stops) l = Math.max(l, s.length());
            this.longest = l;
        }

        /** Adds decoded text; returns true when a stop string has appeared (the text is then final). */
        boolean add(String piece) {
            if (stopped) return true;
            if (piece.isEmpty()) return false;
            int searchFrom = Math.max(0, text.length() - longest + 1);
            text.append(piece);
            int at = -1;
            for (String s : stops) {
                int i = text.indexOf(s, searchFrom);
                if (i >= 0 && (at < 0 || i < at)) at = i;
            }
            if (at >= 0) {
                text.setLength(at);
                emit(at);
                stopped = true;
                return true;
            }
            emit(text.length() - heldBack());
            return false;
        }

        /** Length of the longest suffix of the text that is a proper prefix of a stop string. */
        private int heldBack() {
            int best = 0;
            int len = text.length();
            for (String s : stops) {
                for (int k = Math.min(s.length() - 1, len); k > best; k--) {
                    if (matches(text, len - k, s, k)) {
                        best = k;
                        break;
                    }
                }
            }
            return best;
        }

        private static boolean matches(StringBuilder text, int from, String s, int k) {
            for (int i = 0; i < k; i++) if (text.charAt(from + i) != s.charAt(i)) return false;
            return true;
        }

        private void emit(int upTo) {
            // never split a surrogate pair
            if (upTo > emitted && upTo < text.length() && Character.isHighSurrogate(text.charAt(upTo - 1))) upTo--;
            if (upTo > emitted) {
                onText.accept(text.substring(emitted, upTo));
                emitted = upTo;
            }
        }

        /** Emits what was held back (generation ended without the stop string completing). */
        void finish() {
            emit(text.length());
        }

        String text() { return text.toString(); }
    }
}
