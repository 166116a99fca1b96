package qwen4j.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.json.JsonEnumSchema;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchemaElement;
import dev.langchain4j.model.chat.request.json.JsonStringSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.api.GenerationParams;
import qwen4j.api.LoadOptions;
import qwen4j.api.Qwen;

/** The LangChain4j models on the tiny fixture model and the chat template fixtures. */
class QwenChatModelTest {
    private static Qwen qwen;
    private static QwenChatModel model;
    private static QwenStreamingChatModel streaming;

    @BeforeAll
    static void load() {
        qwen = Qwen.load(Fixtures.tiny().resolve("hf"), LoadOptions.builder().threads(2).contextLength(512).build());
        model = QwenChatModel.builder().model(qwen).maxOutputTokens(12).build();
        streaming = QwenStreamingChatModel.builder().model(qwen).maxOutputTokens(12).build();
    }

    @AfterAll
    static void close() {
        if (qwen != null) qwen.close();
    }

    @Test
    void renderedPromptEqualsTheTemplateFixtures() throws Exception {
        JsonNode cases = new ObjectMapper().readTree(Fixtures.shared().resolve("fixtures/chat/qwen2.5-chat-cases.json").toFile());
        int checked = 0;
        for (JsonNode c : cases) {
            JsonNode input = c.get("input");
            if (!input.path("add_generation_prompt").asBoolean(false)) continue;
            ChatRequest request = ChatRequest.builder().messages(messages(input.get("messages")))
                    .toolSpecifications(tools(input.get("tools"))).build();
            assertThat(model.prompt(request)).as(c.get("name").asText()).isEqualTo(c.get("rendered").asText());
            checked++;
        }
        assertThat(checked).isGreaterThanOrEqualTo(9);
    }

    /** The fixture's OpenAI-shaped messages as LangChain4j messages. */
    static List<ChatMessage> messages(JsonNode array) {
        List<ChatMessage> out = new ArrayList<>();
        List<ToolExecutionRequest> pending = new ArrayList<>();
        for (JsonNode m : array) {
            String content = m.get("content").asText();
            switch (m.get("role").asText()) {
                case "system" -> out.add(SystemMessage.from(content));
                case "user" -> out.add(UserMessage.from(content));
                case "assistant" -> {
                    List<ToolExecutionRequest> calls = new ArrayList<>();
                    for (JsonNode tc : m.path("tool_calls")) {
                        JsonNode f = tc.get("function");
                        calls.add(ToolExecutionRequest.builder().id("id" + calls.size()).name(f.get("name").asText())
                                .arguments(f.get("arguments").toString()).build());
                    }
                    pending = calls;
                    out.add(calls.isEmpty() ? AiMessage.from(content) : AiMessage.from(content, calls));
                }
                case "tool" -> {
                    ToolExecutionRequest r = pending.removeFirst();
                    out.add(ToolExecutionResultMessage.from(r, content));
                }
                default -> throw new IllegalArgumentException(m.toString());
            }
        }
        return out;
    }

    static List<ToolSpecification> tools(JsonNode array) {
        if (array == null) return List.of();
        List<ToolSpecification> out = new ArrayList<>();
        for (JsonNode t : array) {
            JsonNode f = t.get("function");
            out.add(ToolSpecification.builder().name(f.get("name").asText()).description(f.path("description").asText(null))
                    .parameters((JsonObjectSchema) schema(f.get("parameters"))).build());
        }
        return out;
    }

    /** The JSON schema subset the fixtures use, as LangChain4j schema elements. */
    static JsonSchemaElement schema(JsonNode s) {
        String description = s.path("description").asText(null);
        if (s.has("enum")) {
            List<String> values = new ArrayList<>();
            s.get("enum").forEach(v -> values.add(v.asText()));
            return JsonEnumSchema.builder().enumValues(values).description(description).build();
        }
        return switch (s.get("type").asText()) {
            case "string" -> JsonStringSchema.builder().description(description).build();
            case "object" -> {
                JsonObjectSchema.Builder b = JsonObjectSchema.builder().description(description);
                s.path("properties").properties().forEach(e -> b.addProperty(e.getKey(), schema(e.getValue())));
                List<String> required = new ArrayList<>();
                s.path("required").forEach(r -> required.add(r.asText()));
                if (!required.isEmpty()) b.required(required);
                yield b.build();
            }
            default -> throw new IllegalArgumentException(s.toString());
        };
    }

    @Test
    void chatIsTheTemplatedGreedyAnswerWithUsageAndFinishReason() {
        List<ChatMessage> messages = List.of(SystemMessage.from("Be brief."), UserMessage.from("Hello"));
        ChatResponse r = model.chat(messages);
        // independently: the API's chat on the same conversation, greedy, 12 tokens
        var expected = qwen.chat(List.of(qwen4j.api.ChatMessage.system("Be brief."), qwen4j.api.ChatMessage.user("Hello")),
                List.of(), GenerationParams.builder().maxTokens(12).build());
        assertThat(r.aiMessage().text()).isEqualTo(expected.content());
        assertThat(r.aiMessage().hasToolExecutionRequests()).isFalse();
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(expected.usage().promptTokens())
                .isEqualTo(qwen.tokenizer().encode(model.prompt(ChatRequest.builder().messages(messages).build())).length);
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(expected.usage().completionTokens());
        assertThat(r.finishReason()).isEqualTo(expected.finishReason() == qwen4j.api.FinishReason.LENGTH
                ? FinishReason.LENGTH : FinishReason.STOP);
    }

    @Test
    void streamingCallbacksArriveInOrderAndJoinToTheBlockingText() throws Exception {
        List<ChatMessage> messages = List.of(UserMessage.from("Tell me a story."));
        String blocking = model.chat(messages).aiMessage().text();
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat(messages, new StreamingChatResponseHandler() {
            @Override public void onPartialResponse(String partial) { events.add("partial:" + partial); }
            @Override public void onCompleteResponse(ChatResponse response) { events.add("complete"); done.complete(response); }
            @Override public void onError(Throwable error) { events.add("error"); done.completeExceptionally(error); }
        });
        ChatResponse response = done.get(60, TimeUnit.SECONDS);
        assertThat(events).last().isEqualTo("complete");
        List<String> partials = events.subList(0, events.size() - 1);
        assertThat(partials).hasSizeGreaterThan(1).allMatch(e -> e.startsWith("partial:"));
        assertThat(String.join("", partials).replace("partial:", "")).isEqualTo(blocking);
        assertThat(response.aiMessage().text()).isEqualTo(blocking);
        assertThat(response.tokenUsage().outputTokenCount()).isEqualTo(12);
        assertThat(response.finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    interface Assistant {
        @dev.langchain4j.service.SystemMessage("Be brief.")
        String chat(String message);
    }

    @Test
    void aiServicesRunEndToEnd() {
        Assistant assistant = AiServices.builder(Assistant.class).chatModel(model).build();
        String answer = assistant.chat("Hello");
        String direct = model.chat(List.of(SystemMessage.from("Be brief."), UserMessage.from("Hello"))).aiMessage().text();
        assertThat(answer).isEqualTo(direct).isNotEmpty();
    }
}
