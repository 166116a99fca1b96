package qwen4j.api;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.SubmissionPublisher;
import java.util.function.Function;

/**
 * A loaded Qwen2.5 model: generate, chat (with tools), score, tokenize.
 *
 * <p><b>Lifetime.</b> {@link #load} maps the model's files and starts its worker threads; {@link #close()} stops
 * a generation in progress (it ends with {@link FinishReason#CANCELLED}), then releases the mapping and the
 * threads. Every call on a closed handle throws {@link IllegalStateException}.
 *
 * <p><b>Threads.</b> A handle is safe to share between threads. One thread of the handle owns the model and
 * decodes every generation in progress together, one pass over the weights per token for all of them (up to
 * {@link LoadOptions#parallel()} at once, the others wait in order), so concurrent calls cost little more than
 * one on a memory-bound machine. Prompts that begin like an earlier one (a system prompt, the previous turns
 * of a chat) reuse its cached keys and values ({@link Usage#cachedTokens()}). Listener callbacks run on the
 * model's thread: keep them short, and do not wait for the model from them. Interrupting a thread blocked in
 * {@link #generate} or {@link #chat} stops its generation, which returns {@link FinishReason#CANCELLED}.
 *
 * <p>Bad input (a missing file, a prompt longer than the context, a parameter out of range) throws
 * {@link qwen4j.Qwen4jException} with a one-line message.
 */
public interface Qwen extends AutoCloseable {

    /** Loads a model with the default options; see {@link #load(Path, LoadOptions)}. */
    static Qwen load(Path model) { return load(model, LoadOptions.defaults()); }

    /**
     * Loads a model: an HF folder (config.json, safetensors, tokenizer) or a {@code .gguf} file (any part of a
     * split one).
     */
    static Qwen load(Path model, LoadOptions options) { return qwen4j.generate.LocalQwen.open(model, options); }

    /**
     * Loads a model named by a path, or (later) a Hugging Face repo id such as {@code Qwen/Qwen2.5-7B-Instruct}.
     * A name that is not an existing file or folder is looked up as a repo id.
     */
    static Qwen load(String model, LoadOptions options) { return qwen4j.generate.LocalQwen.open(ModelLocator.locate(model), options); }

    /** Continues {@code prompt} (special-token text in it is parsed) and returns the whole text. */
    default Completion generate(String prompt, GenerationParams params) { return generate(prompt, params, null); }

    /**
     * As {@link #generate(String, GenerationParams)}, telling {@code listener} (nullable) each text delta as it is
     * made, then the result (or the error, which is also thrown).
     */
    Completion generate(String prompt, GenerationParams params, TokenListener listener);

    /**
     * As {@link #generate(String, GenerationParams, TokenListener)}, after a prompt given as token ids (from
     * {@link #tokenizer()} or {@link #chatPromptIds}).
     */
    Completion generate(int[] promptIds, GenerationParams params, TokenListener listener);

    /**
     * Starts a generation and returns at once; the future completes with it (or with the error). Cancelling the
     * future stops the generation at the next step. {@code listener} (nullable) is told as for {@link #generate}.
     */
    CompletableFuture<Completion> generateAsync(int[] promptIds, GenerationParams params, TokenListener listener);

    /**
     * The generation as a publisher of text deltas. Each subscription runs its own generation (on a new
     * virtual thread, once subscribed); items honour the subscriber's demand; an error completes it exceptionally.
     */
    default Flow.Publisher<String> generateStream(String prompt, GenerationParams params) {
        return publisher(listener -> generate(prompt, params, listener));
    }

    /**
     * Answers a conversation, rendered with the model's own chat template with {@code tools} (nullable or empty:
     * none). {@code <tool_call>} blocks the model writes are parsed into {@link ChatResult#toolCalls()}.
     */
    default ChatResult chat(List<ChatMessage> messages, List<Tool> tools, GenerationParams params) {
        return chat(messages, tools, params, null);
    }

    /**
     * As {@link #chat(List, List, GenerationParams)}, streaming the answer's text to {@code listener} (nullable);
     * text from a {@code <tool_call>} block on is not streamed. {@code onComplete} receives the raw completion.
     */
    ChatResult chat(List<ChatMessage> messages, List<Tool> tools, GenerationParams params, TokenListener listener);

    /** As {@link #chat(List, List, GenerationParams, TokenListener)}, returning at once; see {@link #generateAsync}. */
    CompletableFuture<ChatResult> chatAsync(List<ChatMessage> messages, List<Tool> tools, GenerationParams params,
                                            TokenListener listener);

    /** The chat answer as a publisher of text deltas; see {@link #generateStream}. */
    default Flow.Publisher<String> chatStream(List<ChatMessage> messages, List<Tool> tools, GenerationParams params) {
        return publisher(listener -> chat(messages, tools, params, listener));
    }

    /** The prompt {@link #chat} gives the model: the conversation and tools rendered, ready for the answer. */
    String chatPrompt(List<ChatMessage> messages, List<Tool> tools);

    /**
     * The prompt {@link #chat} gives the model, as token ids: message text is plain text (special-token text in it
     * stays text), the template's own markers are special tokens.
     */
    int[] chatPromptIds(List<ChatMessage> messages, List<Tool> tools);

    /** Teacher-forced score of {@code text}: the log-probability of each token given the ones before it. */
    default Score score(String text) { return score(tokenizer().encode(text), 0); }

    /** Teacher-forced score of token ids, with the {@code topK} largest logits at each position (0: none). */
    Score score(int[] ids, int topK);

    /**
     * The model's own sampling settings: its generation_config.json (HF folders), else llama.cpp's defaults (GGUF).
     * Other fields are at their defaults; start from these with {@link GenerationParams#toBuilder()}.
     */
    GenerationParams samplingDefaults();

    /** How long {@link #load} took (mapping, checking, quantizing). */
    java.time.Duration loadTime();

    /** The model's tokenizer. */
    QwenTokenizer tokenizer();

    /** The context length in tokens: prompt plus generated tokens of one call fit in it. */
    int contextLength();

    /**
     * Compiles {@code format} now (generations that use it later find it ready) and returns its warnings: the
     * keywords of a non-strict JSON Schema that are not enforced. A bad schema or grammar throws
     * {@link qwen4j.Qwen4jException} saying what is wrong and where.
     */
    List<String> compile(ResponseFormat format);

    /** What the handle is doing now: generations running and waiting, tokens so far, KV cache use. */
    Stats stats();

    /**
     * A snapshot of a handle's work.
     *
     * @param running         generations being decoded
     * @param waiting         generations waiting for a place
     * @param tokensGenerated tokens generated since load
     * @param tokensPrefilled prompt tokens run through the model since load (cached ones are not)
     * @param kvBlocksUsed    KV cache blocks held by generations
     * @param kvBlocksFree    KV cache blocks free (some may hold cached prefixes)
     * @param kvBlockTokens   positions per KV cache block
     */
    record Stats(int running, int waiting, long tokensGenerated, long tokensPrefilled, int kvBlocksUsed, int kvBlocksFree,
                 int kvBlockTokens) {}

    /** Stops every generation in progress (they end as {@link FinishReason#CANCELLED}) and releases the model; idempotent. */
    @Override
    void close();

    private static Flow.Publisher<String> publisher(Function<TokenListener, ?> run) {
        return subscriber -> {
            SubmissionPublisher<String> out = new SubmissionPublisher<>();
            out.subscribe(subscriber);
            Thread.ofVirtual().name("qwen4j-stream").start(() -> {
                try {
                    run.apply(out::submit);
                    out.close();
                } catch (Throwable t) {
                    out.closeExceptionally(t);
                }
            });
        };
    }
}
