package qwen4j.langchain4j;

import dev.langchain4j.model.chat.request.ChatRequestParameters;
import java.nio.file.Path;
import java.util.List;
import qwen4j.api.LoadOptions;
import qwen4j.api.Qwen;

/**
 * What the builders of {@link QwenChatModel} and {@link QwenStreamingChatModel} share: one of {@link #model},
 * {@link #modelPath} or {@link #modelName}, then defaults.
 *
 * @param <B> the builder itself (each setter returns it)
 * @param <M> the model it builds
 */
public abstract sealed class QwenModelBuilder<B extends QwenModelBuilder<B, M>, M>
        permits QwenChatModel.Builder, QwenStreamingChatModel.Builder {
    final Settings s = new Settings();

    QwenModelBuilder() {}

    @SuppressWarnings("unchecked")
    private B self() { return (B) this; }

    /** Uses an open handle; the model does not close it. */
    public B model(Qwen qwen) { s.qwen = qwen; return self(); }

    /** Loads the model at {@code path} (HF folder or .gguf); the model's {@code close()} releases it. */
    public B modelPath(Path path) { s.modelPath = path; return self(); }

    /** Loads a model by path or name (see {@link Qwen#load(String, LoadOptions)}); the model's {@code close()} releases it. */
    public B modelName(String name) { s.modelName = name; return self(); }

    /** Options for loading with {@link #modelPath} or {@link #modelName}. */
    public B loadOptions(LoadOptions options) { s.loadOptions = options; return self(); }

    /** Default parameters; the ones set one by one below take precedence. */
    public B defaultRequestParameters(ChatRequestParameters p) { s.defaults = p; return self(); }

    /** Default sampling temperature (unset: 0, greedy). */
    public B temperature(Double t) { s.temperature = t; return self(); }

    /** Default nucleus sampling threshold. */
    public B topP(Double p) { s.topP = p; return self(); }

    /** Default top-k. */
    public B topK(Integer k) { s.topK = k; return self(); }

    /** Default most tokens per answer (unset: 256). */
    public B maxOutputTokens(Integer n) { s.maxOutputTokens = n; return self(); }

    /** Default stop sequences. */
    public B stopSequences(List<String> stops) { s.stopSequences = stops; return self(); }

    /** Sampling seed (LangChain4j's parameters have none): same seed, same answer. */
    public B seed(Long seed) { s.seed = seed; return self(); }

    /** The model; loads it when a path or name was given. */
    public abstract M build();
}
