package qwen4j.langchain4j;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.internal.JsonSchemaElementUtils;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import java.util.ArrayList;
import java.util.List;
import qwen4j.api.ChatMessage;
import qwen4j.api.ChatResult;
import qwen4j.api.GenerationParams;
import qwen4j.api.Tool;
import qwen4j.api.ToolCall;

/** LangChain4j's request and response types to and from qwen4j's API. */
final class Mapping {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Mapping() {}

    static List<ChatMessage> messages(List<dev.langchain4j.data.message.ChatMessage> in) {
        List<ChatMessage> out = new ArrayList<>(in.size());
        for (dev.langchain4j.data.message.ChatMessage m : in) {
            out.add(switch (m) {
                case SystemMessage s -> ChatMessage.system(s.text());
                case UserMessage u -> ChatMessage.user(userText(u));
                case AiMessage a -> {
                    List<ToolCall> calls = new ArrayList<>();
                    if (a.hasToolExecutionRequests()) {
                        for (ToolExecutionRequest r : a.toolExecutionRequests()) calls.add(new ToolCall(r.id(), r.name(), r.arguments()));
                    }
                    yield ChatMessage.assistant(a.text() == null ? "" : a.text(), calls);
                }
                case ToolExecutionResultMessage t -> ChatMessage.tool(t.toolName(), t.text());
                default -> throw new UnsupportedFeatureException("qwen4j: unsupported message type " + m.type());
            });
        }
        return out;
    }

    /** A user message's text parts, joined (Qwen2.5 reads text only). */
    private static String userText(UserMessage u) {
        if (u.hasSingleText()) return u.singleText();
        StringBuilder sb = new StringBuilder();
        for (Content c : u.contents()) {
            if (!(c instanceof TextContent t)) throw new UnsupportedFeatureException("qwen4j: only text content is supported, got " + c.type());
            sb.append(t.text());
        }
        return sb.toString();
    }

    static List<Tool> tools(List<ToolSpecification> specs) {
        if (specs == null || specs.isEmpty()) return List.of();
        List<Tool> out = new ArrayList<>(specs.size());
        for (ToolSpecification s : specs) {
            String schema = null;
            if (s.parameters() != null) {
                try {
                    // the same schema-to-map helper LangChain4j's own providers use
                    schema = JSON.writeValueAsString(JsonSchemaElementUtils.toMap(s.parameters()));
                } catch (Exception e) {
                    throw new IllegalArgumentException("tool " + s.name() + ": cannot write its parameters schema", e);
                }
            }
            out.add(new Tool(s.name(), s.description(), schema));
        }
        return out;
    }

    static GenerationParams params(ChatRequestParameters p, Long seed) {
        if (p.toolChoice() == ToolChoice.REQUIRED) {
            throw new UnsupportedFeatureException("qwen4j: toolChoice REQUIRED is not supported (the model chooses)");
        }
        if (p.responseFormat() != null && p.responseFormat().type() == ResponseFormatType.JSON) {
            throw new UnsupportedFeatureException("qwen4j: JSON response format is not supported yet");
        }
        GenerationParams.Builder b = GenerationParams.builder();
        if (p.temperature() != null) b.temperature(p.temperature());
        if (p.topP() != null) b.topP(p.topP());
        if (p.topK() != null) b.topK(p.topK());
        if (p.maxOutputTokens() != null) b.maxTokens(p.maxOutputTokens());
        if (p.presencePenalty() != null) b.presencePenalty(p.presencePenalty());
        if (p.frequencyPenalty() != null) b.frequencyPenalty(p.frequencyPenalty());
        if (p.stopSequences() != null) b.stop(p.stopSequences());
        if (seed != null) b.seed(seed);
        return b.build();
    }

    static ChatResponse response(ChatResult r, String modelName) {
        List<ToolExecutionRequest> requests = new ArrayList<>();
        for (ToolCall c : r.toolCalls()) {
            requests.add(ToolExecutionRequest.builder().id(c.id()).name(c.name()).arguments(c.arguments()).build());
        }
        String text = r.content().isEmpty() && !requests.isEmpty() ? null : r.content();
        AiMessage message = AiMessage.builder().text(text).toolExecutionRequests(requests).build();
        return ChatResponse.builder()
                .aiMessage(message)
                .modelName(modelName)
                .tokenUsage(new TokenUsage(r.usage().promptTokens(), r.usage().completionTokens()))
                .finishReason(switch (r.finishReason()) {
                    case STOP -> FinishReason.STOP;
                    case LENGTH -> FinishReason.LENGTH;
                    case TOOL_CALLS -> FinishReason.TOOL_EXECUTION;
                    case CANCELLED -> FinishReason.OTHER;
                })
                .build();
    }

    static List<ChatMessage> messagesOf(ChatRequest request) { return messages(request.messages()); }

    static List<Tool> toolsOf(ChatRequest request) { return tools(request.parameters().toolSpecifications()); }
}
