package qwen4j.langchain4j;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import qwen4j.api.ChatResult;
import qwen4j.api.Qwen;

/**
 * LangChain4j's {@link StreamingChatModel} on a local Qwen2.5, in process: as {@link QwenChatModel}, with the
 * answer's text streamed to {@link StreamingChatResponseHandler#onPartialResponse(String)} as it is generated
 * (text from a {@code <tool_call>} block on is not streamed; the calls arrive in the complete response).
 *
 * <p>Each request runs on its own virtual thread; requests on one handle run one at a time, in the order
 * they reach it. {@link #close()} releases a model the builder loaded.
 */
public final class QwenStreamingChatModel implements StreamingChatModel, AutoCloseable {
    private final Settings.Built s;

    private QwenStreamingChatModel(Settings.Built s) { this.s = s; }

    /** A builder. */
    public static Builder builder() { return new Builder(); }

    /**
     * Starts answering {@code request} and returns; {@code handler} gets the partial texts in order, then
     * {@code onCompleteResponse} or {@code onError}.
     */
    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        Thread.ofVirtual().name("qwen4j-langchain4j").start(() -> {
            ChatResult r;
            try {
                r = s.qwen().chat(Mapping.messagesOf(request), Mapping.toolsOf(request),
                        Mapping.params(request.parameters(), s.seed()), handler::onPartialResponse);
            } catch (Throwable t) {
                handler.onError(t);
                return;
            }
            handler.onCompleteResponse(Mapping.response(r, s.name()));
        });
    }

    /** The defaults set on the builder. */
    @Override
    public ChatRequestParameters defaultRequestParameters() { return s.defaults(); }

    /** The underlying handle. */
    public Qwen qwen() { return s.qwen(); }

    /** Releases the model if the builder loaded it. */
    @Override
    public void close() {
        if (s.owned()) s.qwen().close();
    }

    /** Builds a {@link QwenStreamingChatModel}: one of {@link #model}, {@link #modelPath} or {@link #modelName}, then defaults (see {@link QwenModelBuilder}). */
    public static final class Builder extends QwenModelBuilder<Builder, QwenStreamingChatModel> {
        private Builder() {}

        @Override
        public QwenStreamingChatModel build() { return new QwenStreamingChatModel(s.build()); }
    }
}
