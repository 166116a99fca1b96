package qwen4j.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import qwen4j.api.ChatResult;
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

    /** Builds a {@link QwenChatModel}: one of {@link #model}, {@link #modelPath} or {@link #modelName}, then defaults (see {@link QwenModelBuilder}). */
    public static final class Builder extends QwenModelBuilder<Builder, QwenChatModel> {
        private Builder() {}

        @Override
        public QwenChatModel build() { return new QwenChatModel(s.build()); }
    }
}
