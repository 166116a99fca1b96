package qwen4j.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.model.Options;

/** The official OpenAI Java SDK against the server. */
class OpenAiSdkTest {
    @Test
    void officialClientChatsStreamsAndListsModels() throws Exception {
        try (Engine engine = Engine.open(Fixtures.tiny().resolve("hf"), Options.defaults().withThreads(1), 512);
             OpenAiServer server = OpenAiServer.start(qwen4j.generate.LocalQwen.borrowing(engine, 2), new OpenAiServer.Config("127.0.0.1", 0, "sekret", 2, 8,
                     OpenAiServer.Config.DEFAULT_MAX_BODY, "tiny"))) {
            String base = "http://127.0.0.1:" + server.port() + "/v1";
            OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(base).apiKey("sekret").maxRetries(0).build();
            try {
                assertThat(client.models().list().data()).extracting(m -> m.id()).containsExactly("tiny");
                ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("tiny")
                        .addSystemMessage("Be brief.").addUserMessage("Hello!").maxCompletionTokens(10).temperature(0.0)
                        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
                ChatCompletion c = client.chat().completions().create(params.toBuilder().streamOptions(java.util.Optional.empty()).build());
                String text = c.choices().get(0).message().content().orElseThrow();
                assertThat(text).isNotEmpty();
                assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.LENGTH);
                assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(10);

                StringBuilder streamed = new StringBuilder();
                long[] usage = {-1};
                try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params)) {
                    s.stream().forEach(chunk -> {
                        chunk.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append));
                        chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
                    });
                }
                assertThat(streamed.toString()).isEqualTo(text);
                assertThat(usage[0]).isEqualTo(10);

                OpenAIClient wrong = OpenAIOkHttpClient.builder().baseUrl(base).apiKey("nope").maxRetries(0).build();
                try {
                    assertThatThrownBy(() -> wrong.chat().completions().create(params))
                            .isInstanceOf(UnauthorizedException.class);
                } finally {
                    wrong.close();
                }
            } finally {
                client.close();
            }
        }
    }
}
