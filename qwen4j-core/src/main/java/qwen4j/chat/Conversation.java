package qwen4j.chat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import qwen4j.Qwen4jException;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.Generator;
import qwen4j.generate.Sampler;
import qwen4j.generate.SamplerSettings;
import qwen4j.model.Session;

/**
 * A multi-turn chat over one KV cache. Each turn renders the whole conversation with the model's template,
 * keeps the longest prefix of tokens already in the cache ({@link Session#truncate}) and prefills only the
 * rest, then generates the answer and appends it to the history.
 */
public final class Conversation {
    /** The rendered conversation does not fit the context. */
    public static final class ContextFullException extends Qwen4jException {
        public final int needed, capacity;

        ContextFullException(int needed, int capacity) {
            super("the conversation needs " + needed + " tokens but the context holds " + capacity);
            this.needed = needed;
            this.capacity = capacity;
        }
    }

    /** One answered turn: the generation, how many prompt tokens were reused from the cache and prefilled. */
    public record Turn(Generation generation, int reusedTokens, int prefilledTokens, int contextTokens) {}

    private final Engine engine;
    private final ChatTemplate template;
    private final Generator generator;
    private final Session session;
    private final Sampler sampler;
    private final List<Message> messages = new ArrayList<>();
    private String system;
    private boolean parseSpecialInMessages;
    private int[] cached = new int[0];
    private long reusedTotal, prefilledTotal, generatedTotal;
    private Turn last;

    public Conversation(Engine engine, ChatTemplate template, SamplerSettings settings, String system) {
        this.engine = engine;
        this.template = template;
        this.generator = engine.generator();
        this.session = engine.newSession();
        this.sampler = new Sampler(settings, engine.vocabLimit(), session.capacity());
        this.system = system;
    }

    /** Whether special-token text in messages acts as special tokens (off by default: it cannot forge turns). */
    public void parseSpecialInMessages(boolean on) { this.parseSpecialInMessages = on; }

    public List<Message> messages() { return List.copyOf(messages); }

    public String system() { return system; }

    /** Replaces the system prompt (null: the template's default); the next turn re-prefills from there. */
    public void setSystem(String text) { this.system = text; }

    /** Forgets the conversation (the system prompt stays) and the penalty window. */
    public void reset() {
        messages.clear();
        sampler.resetHistory();
    }

    public Session session() { return session; }

    public SamplerSettings settings() { return sampler.settings(); }

    /** Tokens now in the KV cache. */
    public int contextTokens() { return session.position(); }

    public int capacity() { return session.capacity(); }

    public long reusedTotal() { return reusedTotal; }

    public long prefilledTotal() { return prefilledTotal; }

    public long generatedTotal() { return generatedTotal; }

    public Turn lastTurn() { return last; }

    private List<Message> withSystem(List<Message> turns) {
        List<Message> all = new ArrayList<>();
        if (system != null) all.add(Message.system(system));
        all.addAll(turns);
        return all;
    }

    /** The conversation so far plus {@code user}, rendered and tokenized, ready for the assistant's answer. */
    int[] promptFor(String user) {
        List<Message> turns = new ArrayList<>(messages);
        turns.add(Message.user(user));
        return template.encode(engine.tokenizer(), withSystem(turns), null, true, parseSpecialInMessages);
    }

    /**
     * Sends a user message and streams the answer. Throws {@link ContextFullException} (history unchanged)
     * when the conversation no longer fits; a cut or cancelled answer is kept in the history as far as it went.
     */
    public Turn send(String user, int maxTokens, List<String> stops, BooleanSupplier cancelled, Consumer<String> onText) {
        int[] prompt = promptFor(user);
        if (prompt.length >= session.capacity()) throw new ContextFullException(prompt.length + 1, session.capacity());
        int common = 0;
        int limit = Math.min(Math.min(cached.length, session.position()), prompt.length - 1);
        while (common < limit && cached[common] == prompt[common]) common++;
        session.truncate(common);
        int[] suffix = Arrays.copyOfRange(prompt, common, prompt.length);
        int room = session.capacity() - session.position() - suffix.length + 1;
        int budget = maxTokens < 0 ? -1 : Math.min(maxTokens, room);
        Generation g = generator.generate(session, suffix, sampler, new Generator.Params(budget, stops, cancelled), onText);
        // what the cache now holds: the prompt then the generated ids, as far as they were fed
        int[] fed = Arrays.copyOf(prompt, prompt.length + g.ids().length);
        System.arraycopy(g.ids(), 0, fed, prompt.length, g.ids().length);
        cached = Arrays.copyOf(fed, Math.min(fed.length, session.position()));
        messages.add(Message.user(user));
        messages.add(Message.assistant(g.text()));
        reusedTotal += common;
        prefilledTotal += g.promptIds().length;
        generatedTotal += g.ids().length;
        last = new Turn(g, common, g.promptIds().length, session.position());
        return last;
    }
}
