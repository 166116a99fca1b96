package qwen4j.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import java.nio.file.Path;
import java.util.List;
import qwen4j.api.ChatResult;
import qwen4j.api.LoadOptions;
import qwen4j.api.Qwen;

/**
 * LangChain4j's {@link ChatModel} on a local Qwen2.5, in process. Messages (system, user, AI with tool
 * execution requests, tool results) and tool specifications are rendered with the model's own chat template;
 * {@code <tool_call>} blocks in the answer become {@link dev.langchain4j.agent.tool.ToolExecutionRequest}s
 * (finish reason {@code TOOL_EXECUTION}). Parameters: temperature, topP, topK, maxOutputTokens, stop
 * sequences, presence and frequency penalties, and a seed on the builder; unset temperature means greedy.
 *
 * <p>Thread-safe: requests on one handle run one at a time. {@link #close()} releases a model the builder
 * loaded (one given with {@link Builder#model} stays open).
 */
public final class QwenChatModel implements ChatModel, AutoCloseable {
    private final Settings.Built s;

    private QwenChatModel(Settings.Built s) { this.s = s; }

    /** A builder. */
    public static Builder builder() { return new Builder(); }

    /** Answers {@code request} (already merged with {@link #defaultRequestParameters()} by {@code chat}). */
    @Override
    public ChatResponse doChat(ChatRequest request) {
        ChatResult r = s.qwen().chat(Mapping.messagesOf(request), Mapping.toolsOf(request),
                Mapping.params(request.parameters(), s.seed()));
        return Mapping.response(r, s.name());
    }

    /** The defaults set on the builder. */
    @Override
    public ChatRequestParameters defaultRequestParameters() { return s.defaults(); }

    /** The prompt the model is given for {@code request}: its messages and tools through the chat template. */
    public String prompt(ChatRequest request) {
        return s.qwen().chatPrompt(Mapping.messagesOf(request), Mapping.toolsOf(request));
    }

    /** The underlying handle. */
    public Qwen qwen() { return s.qwen(); }

    /** Releases the model if the builder loaded it. */
    @Override
    public void close() {
        if (s.owned()) s.qwen().close();
    }

    /** Builds a {@link QwenChatModel}: one of {@link #model}, {@link #modelPath} or {@link #modelName}, then defaults. */
    public static final class Builder {
        private final Settings s = new Settings();

        private Builder() {}

        /** Uses an open handle; the model does not close it. */
        public Builder model(Qwen qwen) { s.qwen = qwen; return this; }

        /** Loads the model at {@code path} (HF folder or .gguf); {@link QwenChatModel#close()} releases it. */
        public Builder modelPath(Path path) { s.modelPath = path; return this; }

        /** Loads a model by path or name (see {@link Qwen#load(String, LoadOptions)}); {@link QwenChatModel#close()} releases it. */
        public Builder modelName(String name) { s.modelName = name; return this; }

        /** Options for loading with {@link #modelPath} or {@link #modelName}. */
        public Builder loadOptions(LoadOptions options) { s.loadOptions = options; return this; }

        /** Default parameters; the ones set one by one below take precedence. */
        public Builder defaultRequestParameters(ChatRequestParameters p) { s.defaults = p; return this; }

        /** Default sampling temperature (unset: 0, greedy). */
        public Builder temperature(Double t) { s.temperature = t; return this; }

        /** Default nucleus sampling threshold. */
        public Builder topP(Double p) { s.topP = p; return this; }

        /** Default top-k. */
        public Builder topK(Integer k) { s.topK = k; return this; }

        /** Default most tokens per answer (unset: 256). */
        public Builder maxOutputTokens(Integer n) { s.maxOutputTokens = n; return this; }

        /** Default stop sequences. */
        public Builder stopSequences(List<String> stops) { s.stopSequences = stops; return this; }

        /** Sampling seed (LangChain4j's parameters have none): same seed, same answer. */
        public Builder seed(Long seed) { s.seed = seed; return this; }

        /** The model; loads it when a path or name was given. */
        public QwenChatModel build() { return new QwenChatModel(s.build()); }
    }
}
