package qwen4j.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import qwen4j.Qwen4jException;
import qwen4j.api.ChatMessage;
import qwen4j.api.Completion;
import qwen4j.api.GenerationParams;
import qwen4j.api.Qwen;
import qwen4j.api.TokenListener;

/**
 * The terminal chat's conversation on the public API: each turn renders the whole history with the model's
 * template and generates the answer; the handle's KV prefix cache skips the prefill of what the previous turns
 * left in it, so only the new turn is computed.
 */
final class ChatSession {
    /** The rendered conversation does not fit the context. */
    static final class ContextFullException extends Qwen4jException {
        ContextFullException(int needed, int capacity) {
            super("the conversation needs " + needed + " tokens but the context holds " + capacity);
        }
    }

    /** One answered turn: the completion, prompt tokens reused from the cache and prefilled, context in use. */
    record Turn(Completion completion, int reusedTokens, int prefilledTokens, int contextTokens) {}

    private final Qwen qwen;
    private final GenerationParams params;
    private final List<ChatMessage> messages = new ArrayList<>();
    private String system;
    private boolean parseSpecialInMessages;
    private long reusedTotal, prefilledTotal, generatedTotal;
    private int turns;
    private Turn last;

    ChatSession(Qwen qwen, GenerationParams params, String system) {
        this.qwen = qwen;
        this.params = params;
        this.system = system;
    }

    /** Whether special-token text in messages acts as special tokens (off by default: it cannot forge turns). */
    void parseSpecialInMessages(boolean on) { this.parseSpecialInMessages = on; }

    List<ChatMessage> messages() { return List.copyOf(messages); }

    String system() { return system; }

    /** Replaces the system prompt (null: the template's default). */
    void setSystem(String text) { this.system = text; }

    /** Forgets the conversation; the system prompt stays. */
    void reset() {
        messages.clear();
        last = null;
    }

    GenerationParams params() { return params; }

    /** Tokens the conversation holds after the last answer. */
    int contextTokens() { return last == null ? 0 : last.contextTokens(); }

    int capacity() { return qwen.contextLength(); }

    long reusedTotal() { return reusedTotal; }

    long prefilledTotal() { return prefilledTotal; }

    long generatedTotal() { return generatedTotal; }

    Turn lastTurn() { return last; }

    /** The conversation so far plus {@code user}, rendered and tokenized, ready for the assistant's answer. */
    int[] promptFor(String user) {
        List<ChatMessage> all = new ArrayList<>();
        if (system != null) all.add(ChatMessage.system(system));
        all.addAll(messages);
        all.add(ChatMessage.user(user));
        return parseSpecialInMessages ? qwen.tokenizer().encode(qwen.chatPrompt(all, null), true)
                : qwen.chatPromptIds(all, null);
    }

    /**
     * Sends a user message and streams the answer. Throws {@link ContextFullException} (history unchanged)
     * when the conversation no longer fits; a cut or cancelled answer is kept in the history as far as it went.
     */
    Turn send(String user, int maxTokens, List<String> stops, BooleanSupplier cancelled, Consumer<String> onText) {
        int[] prompt = promptFor(user);
        if (prompt.length >= capacity()) throw new ContextFullException(prompt.length + 1, capacity());
        // each turn its own random stream: the same seed every turn would repeat the same draws
        GenerationParams p = params.toBuilder().maxTokens(maxTokens).stop(stops).seed(params.seed() + turns++).build();
        Completion c = qwen.generate(prompt, p, new TokenListener() {
            @Override
            public void onToken(String delta) { onText.accept(delta); }

            @Override
            public boolean cancelled() { return cancelled.getAsBoolean(); }
        });
        messages.add(ChatMessage.user(user));
        messages.add(ChatMessage.assistant(c.text()));
        int reused = c.usage().cachedTokens(), prefilled = prompt.length - reused;
        reusedTotal += reused;
        prefilledTotal += prefilled;
        generatedTotal += c.tokenIds().length;
        last = new Turn(c, reused, prefilled, prompt.length + c.tokenIds().length);
        return last;
    }
}
