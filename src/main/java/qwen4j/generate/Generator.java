package qwen4j.generate;

import java.util.Arrays;
import java.util.Set;
import java.util.function.Consumer;
import qwen4j.Qwen4jException;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Session;
import qwen4j.tokenizer.StreamingDecoder;
import qwen4j.tokenizer.Tokenizer;

/**
 * The generation loop: prefill the prompt, then pick a token, stream its text, feed it back,
 * until an end-of-sequence id or the token budget. Greedy for now.
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
     * Generates up to {@code maxTokens} tokens after {@code prompt} (a negative budget runs to eos
     * or the end of the context). {@code onText} receives text as soon as it forms complete
     * characters.
     */
    public Generation generate(Session session, int[] prompt, int maxTokens, Consumer<String> onText) {
        if (prompt.length == 0) throw new Qwen4jException("the prompt is empty: give at least one token");
        int room = session.capacity() - session.position();
        if (prompt.length > room) {
            throw new Qwen4jException("the prompt has " + prompt.length + " tokens but the context has room for "
                    + room + " (raise --ctx)");
        }
        if (maxTokens >= 0 && prompt.length + maxTokens > room + 1) {
            throw new Qwen4jException("prompt (" + prompt.length + " tokens) + -n " + maxTokens
                    + " exceeds the context of " + session.capacity() + " tokens (raise --ctx or lower -n)");
        }
        int vocabLimit = Engine.vocabLimit(tokenizer, model.config().vocabSize());
        StreamingDecoder decoder = tokenizer.streamingDecoder();
        StringBuilder text = new StringBuilder();

        long t0 = System.nanoTime();
        float[] logits = model.prefill(session, prompt); // batched or token by token, as the options say
        long prefillNanos = System.nanoTime() - t0;

        int budget = maxTokens < 0 ? Integer.MAX_VALUE : maxTokens;
        int[] out = new int[Math.min(budget, Math.max(16, room))];
        long[] decodeNanos = new long[Math.max(0, out.length - 1)];
        int n = 0, steps = 0;
        String stop = "length";
        while (n < budget) {
            int next = Greedy.argmax(logits, vocabLimit);
            if (n == out.length) {
                out = Arrays.copyOf(out, out.length * 2);
                decodeNanos = Arrays.copyOf(decodeNanos, out.length);
            }
            out[n++] = next;
            if (eosIds.contains(next)) {
                stop = "eos";
                break;
            }
            emit(decoder.accept(next), text, onText);
            if (n == budget) break;
            if (session.position() >= session.capacity()) {
                stop = "context";
                break;
            }
            long t = System.nanoTime();
            logits = model.forward(session, next);
            decodeNanos[steps++] = System.nanoTime() - t;
        }
        emit(decoder.flush(), text, onText);
        return new Generation(prompt, Arrays.copyOf(out, n), text.toString(), prefillNanos,
                Arrays.copyOf(decodeNanos, steps), stop);
    }

    private static void emit(String piece, StringBuilder text, Consumer<String> onText) {
        if (!piece.isEmpty()) {
            text.append(piece);
            onText.accept(piece);
        }
    }
}
