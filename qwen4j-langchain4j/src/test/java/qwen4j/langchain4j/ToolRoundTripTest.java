package qwen4j.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.langchain4j.agent.tool.P;
import dev.langchain4j.service.AiServices;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.api.ChatMessage;
import qwen4j.api.ChatResult;
import qwen4j.api.Completion;
import qwen4j.api.FinishReason;
import qwen4j.api.GenerationParams;
import qwen4j.api.LoadOptions;
import qwen4j.api.Qwen;
import qwen4j.api.QwenTokenizer;
import qwen4j.api.Score;
import qwen4j.api.TokenListener;
import qwen4j.api.Tool;
import qwen4j.api.ToolCall;
import qwen4j.api.ToolCalls;
import qwen4j.api.Usage;

/**
 * A tool call round trip through AiServices: a scripted model (the text the model writes is forced) asks for a
 * tool in Qwen's {@code <tool_call>} format, LangChain4j runs the @Tool method with the parsed arguments, feeds
 * the result back, and the scripted final answer comes out. Prompts are rendered by the real template.
 */
class ToolRoundTripTest {

    /** A {@link Qwen} whose answers are scripted texts, parsed as the real handle parses them. */
    static final class ScriptedQwen implements Qwen {
        final Qwen renderer;
        final Iterator<String> script;
        final List<List<ChatMessage>> conversations = new ArrayList<>();
        final List<List<Tool>> tools = new ArrayList<>();

        ScriptedQwen(Qwen renderer, String... answers) {
            this.renderer = renderer;
            this.script = List.of(answers).iterator();
        }

        @Override
        public ChatResult chat(List<ChatMessage> messages, List<Tool> tools, GenerationParams params, TokenListener listener) {
            conversations.add(messages);
            this.tools.add(tools);
            String text = script.next();
            ToolCalls.Filter filter = ToolCalls.filter(listener == null ? s -> {} : listener::onToken);
            filter.accept(text);
            filter.finish();
            ToolCalls.Parsed parsed = ToolCalls.parse(text);
            Usage usage = new Usage(renderer.tokenizer().encode(chatPrompt(messages, tools)).length,
                    renderer.tokenizer().encode(text).length);
            FinishReason reason = parsed.calls().isEmpty() ? FinishReason.STOP : FinishReason.TOOL_CALLS;
            if (listener != null) listener.onComplete(new Completion(text, new int[0], reason, usage));
            return new ChatResult(parsed.content(), parsed.calls(), text, reason, usage);
        }

        @Override
        public String chatPrompt(List<ChatMessage> messages, List<Tool> tools) { return renderer.chatPrompt(messages, tools); }

        @Override
        public Completion generate(String prompt, GenerationParams params, TokenListener listener) { throw new UnsupportedOperationException(); }

        @Override
        public Completion generate(int[] promptIds, GenerationParams params, TokenListener listener) { throw new UnsupportedOperationException(); }

        @Override
        public java.util.concurrent.CompletableFuture<Completion> generateAsync(int[] promptIds, GenerationParams params,
                                                                             TokenListener listener) {
            throw new UnsupportedOperationException();
        }

        @Override
        public java.util.concurrent.CompletableFuture<ChatResult> chatAsync(List<ChatMessage> messages, List<Tool> tools,
                                                                         GenerationParams params, TokenListener listener) {
            return java.util.concurrent.CompletableFuture.completedFuture(chat(messages, tools, params, listener));
        }

        @Override
        public Stats stats() { return renderer.stats(); }

        @Override
        public List<String> compile(qwen4j.api.ResponseFormat format) { return renderer.compile(format); }

        @Override
        public int[] chatPromptIds(List<ChatMessage> messages, List<Tool> tools) { return renderer.chatPromptIds(messages, tools); }

        @Override
        public Score score(int[] ids, int topK) { throw new UnsupportedOperationException(); }

        @Override
        public GenerationParams samplingDefaults() { return renderer.samplingDefaults(); }

        @Override
        public java.time.Duration loadTime() { return java.time.Duration.ZERO; }

        @Override
        public QwenTokenizer tokenizer() { return renderer.tokenizer(); }

        @Override
        public int contextLength() { return renderer.contextLength(); }

        @Override
        public void close() {}
    }

    static final class Weather {
        final List<String> calls = new ArrayList<>();

        @dev.langchain4j.agent.tool.Tool("Current temperature in a city, in degrees Celsius")
        double temperature(@P(name = "city", value = "the city") String city) {
            calls.add(city);
            return 14.5;
        }
    }

    interface Assistant {
        String chat(String message);
    }

    @Test
    void toolCallIsExecutedAndItsResultFedBack() {
        try (Qwen real = Qwen.load(Fixtures.tiny().resolve("hf"), LoadOptions.builder().threads(1).contextLength(512).build())) {
            ScriptedQwen scripted = new ScriptedQwen(real,
                    "<tool_call>\n{\"name\": \"temperature\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
                    "It is 14.5 degrees in Paris.");
            Weather weather = new Weather();
            Assistant assistant = AiServices.builder(Assistant.class)
                    .chatModel(QwenChatModel.builder().model(scripted).build()).tools(weather).build();

            assertThat(assistant.chat("How warm is it in Paris?")).isEqualTo("It is 14.5 degrees in Paris.");
            assertThat(weather.calls).containsExactly("Paris");

            // the tool reached the template as a function with its JSON schema
            Tool tool = scripted.tools.getFirst().getFirst();
            assertThat(tool.name()).isEqualTo("temperature");
            assertThat(tool.description()).isEqualTo("Current temperature in a city, in degrees Celsius");
            assertThat(tool.parameters()).isEqualTo(
                    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"description\":\"the city\"}},\"required\":[\"city\"]}");

            // the second request carries the call and its result, rendered in Qwen's format
            List<ChatMessage> second = scripted.conversations.get(1);
            assertThat(second).extracting(ChatMessage::role).containsExactly("user", "assistant", "tool");
            ToolCall call = second.get(1).toolCalls().getFirst();
            assertThat(call.name()).isEqualTo("temperature");
            assertThat(call.arguments()).isEqualTo("{\"city\":\"Paris\"}");
            assertThat(second.get(2).content()).isEqualTo("14.5");
            String prompt = scripted.chatPrompt(second, scripted.tools.get(1));
            assertThat(prompt).contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"temperature\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
                    + "<|im_start|>user\n<tool_response>\n14.5\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
        }
    }

    interface StreamingAssistant {
        dev.langchain4j.service.TokenStream chat(String message);
    }

    @Test
    void toolCallRoundTripWhileStreaming() throws Exception {
        try (Qwen real = Qwen.load(Fixtures.tiny().resolve("hf"), LoadOptions.builder().threads(1).contextLength(512).build())) {
            ScriptedQwen scripted = new ScriptedQwen(real,
                    "<tool_call>\n{\"name\": \"temperature\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>",
                    "It is 14.5 degrees in Oslo.");
            Weather weather = new Weather();
            StreamingAssistant assistant = AiServices.builder(StreamingAssistant.class)
                    .streamingChatModel(QwenStreamingChatModel.builder().model(scripted).build()).tools(weather).build();
            StringBuilder partials = new StringBuilder();
            java.util.concurrent.CompletableFuture<dev.langchain4j.model.chat.response.ChatResponse> done = new java.util.concurrent.CompletableFuture<>();
            assistant.chat("How warm is it in Oslo?").onPartialResponse(partials::append)
                    .onCompleteResponse(done::complete).onError(done::completeExceptionally).start();
            var response = done.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(weather.calls).containsExactly("Oslo");
            // the <tool_call> block is not streamed as text; the final answer is
            assertThat(partials).hasToString("It is 14.5 degrees in Oslo.");
            assertThat(response.aiMessage().text()).isEqualTo("It is 14.5 degrees in Oslo.");
            assertThat(response.finishReason()).isEqualTo(dev.langchain4j.model.output.FinishReason.STOP);
        }
    }
}
