package qwen4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.Qwen4jException;
import qwen4j.model.Golden;

/** The public API on the tiny fixture, checked against the numpy reference's goldens and the template fixtures. */
class QwenApiTest {
    private static Qwen qwen;

    @BeforeAll
    static void load() {
        qwen = Qwen.load(Fixtures.tiny().resolve("hf"), LoadOptions.builder().threads(2).contextLength(512).build());
    }

    @AfterAll
    static void close() {
        if (qwen != null) qwen.close();
    }

    static Golden answerCase() {
        return Golden.load(Fixtures.tiny().resolve("golden.json")).stream()
                .filter(g -> g.prompt().equals("answer") && g.weights().startsWith("F32/BF16")).findFirst().orElseThrow();
    }

    @Test
    void greedyGenerateReproducesTheReferenceIds() {
        Golden g = answerCase();
        assertThat(qwen.tokenizer().encode("The answer is")).containsExactly(g.promptIds());
        int n = g.greedyPrefixToCheck();
        Completion c = qwen.generate("The answer is", GenerationParams.builder().maxTokens(n).build());
        assertThat(c.tokenIds()).containsExactly(Arrays.copyOf(g.greedyIds(), n));
        assertThat(c.text()).isEqualTo(qwen.tokenizer().decode(c.tokenIds()));
        assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(c.usage()).isEqualTo(new Usage(3, n));
    }

    @Test
    void streamedDeltasJoinToTheBlockingTextInOrder() throws Exception {
        GenerationParams p = GenerationParams.builder().maxTokens(16).build();
        String blocking = qwen.generate("The answer is", p).text();
        List<String> events = new ArrayList<>();
        Completion c = qwen.generate("The answer is", p, new TokenListener() {
            @Override public void onToken(String delta) { events.add("token:" + delta); }
            @Override public void onComplete(Completion done) { events.add("complete"); }
            @Override public void onError(Throwable error) { events.add("error"); }
        });
        assertThat(events).last().isEqualTo("complete");
        assertThat(events.subList(0, events.size() - 1)).allMatch(e -> e.startsWith("token:")).hasSizeGreaterThan(1);
        assertThat(String.join("", events.subList(0, events.size() - 1)).replace("token:", "")).isEqualTo(blocking);
        assertThat(c.text()).isEqualTo(blocking);

        // the Flow.Publisher variant, with demand one item at a time
        List<String> items = new ArrayList<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        qwen.generateStream("The answer is", p).subscribe(new Flow.Subscriber<>() {
            Flow.Subscription s;
            @Override public void onSubscribe(Flow.Subscription s) { this.s = s; s.request(1); }
            @Override public void onNext(String item) { items.add(item); s.request(1); }
            @Override public void onError(Throwable t) { done.completeExceptionally(t); }
            @Override public void onComplete() { done.complete(null); }
        });
        done.get(60, TimeUnit.SECONDS);
        assertThat(String.join("", items)).isEqualTo(blocking);
        assertThat(items).hasSizeGreaterThan(1);
    }

    @Test
    void chatPromptEqualsEveryTemplateFixtureRendering() throws Exception {
        JsonNode cases = new ObjectMapper().readTree(Fixtures.shared().resolve("fixtures/chat/qwen2.5-chat-cases.json").toFile());
        int checked = 0;
        for (JsonNode c : cases) {
            JsonNode input = c.get("input");
            if (!input.path("add_generation_prompt").asBoolean(false)) continue; // chat always asks for the answer
            assertThat(qwen.chatPrompt(messages(input.get("messages")), tools(input.get("tools"))))
                    .as(c.get("name").asText()).isEqualTo(c.get("rendered").asText());
            checked++;
        }
        assertThat(checked).isGreaterThanOrEqualTo(9);
    }

    /** The fixture's OpenAI-shaped messages as API messages. */
    static List<ChatMessage> messages(JsonNode array) {
        List<ChatMessage> out = new ArrayList<>();
        for (JsonNode m : array) {
            List<ToolCall> calls = new ArrayList<>();
            for (JsonNode tc : m.path("tool_calls")) {
                JsonNode f = tc.get("function");
                calls.add(new ToolCall(null, f.get("name").asText(), f.get("arguments").toString()));
            }
            out.add(new ChatMessage(m.get("role").asText(), m.get("content").asText(), calls, null));
        }
        return out;
    }

    static List<Tool> tools(JsonNode array) {
        if (array == null) return List.of();
        List<Tool> out = new ArrayList<>();
        for (JsonNode t : array) {
            JsonNode f = t.get("function");
            out.add(new Tool(f.get("name").asText(), f.path("description").asText(null), f.get("parameters").toString()));
        }
        return out;
    }

    @Test
    void chatAnswersWithTheTemplatePromptAndStreamsItsText() {
        List<ChatMessage> messages = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hello"));
        GenerationParams p = GenerationParams.builder().maxTokens(12).build();
        // what chat does, spelled out: the rendered prompt, greedy
        Completion expected = qwen.generate(qwen.chatPrompt(messages, List.of()), p);
        StringBuilder streamed = new StringBuilder();
        ChatResult r = qwen.chat(messages, List.of(), p, streamed::append);
        assertThat(r.rawText()).isEqualTo(expected.text());
        assertThat(r.usage().promptTokens()).isEqualTo(expected.usage().promptTokens());
        assertThat(r.usage().completionTokens()).isEqualTo(expected.usage().completionTokens());
        // the same prompt a second time: its first whole KV block (16 positions) comes from the cache
        assertThat(r.usage().cachedTokens()).isEqualTo((expected.usage().promptTokens() - 1) / 16 * 16);
        assertThat(streamed.toString()).isEqualTo(r.rawText());
        assertThat(r.hasToolCalls()).isFalse();
        assertThat(r.finishReason()).isEqualTo(expected.finishReason());
    }

    @Test
    void toolCallsAreParsedAsTheServerDoes() {
        ToolCalls.Parsed p = ToolCalls.parse("Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>");
        assertThat(p.content()).isEqualTo("Let me look.");
        assertThat(p.calls()).extracting(ToolCall::name, ToolCall::arguments).containsExactly(
                org.assertj.core.groups.Tuple.tuple("get_weather", "{\"city\":\"Oslo\"}"));
        assertThat(ToolCalls.parse("<tool_call>not json</tool_call>").calls()).isEmpty();
        StringBuilder out = new StringBuilder();
        ToolCalls.Filter f = ToolCalls.filter(out::append);
        for (String piece : List.of("Hi <to", "ol_call>{\"name\"", "}</tool_call>")) f.accept(piece);
        f.finish();
        assertThat(out).hasToString("Hi ");
        assertThat(f.sawCall()).isTrue();
    }

    @Test
    void scoreIsTheSumOfLogprobsAndItsPerplexity() {
        Score s = qwen.score("The answer is 42, and the question is unknown.");
        assertThat(s.tokenCount()).isEqualTo(qwen.tokenizer().encode("The answer is 42, and the question is unknown.").length);
        assertThat(s.predictions()).isEqualTo(s.tokenCount() - 1);
        assertThat(s.logprobSum()).isNegative();
        assertThat(s.perplexity()).isCloseTo(Math.exp(-s.logprobSum() / s.predictions()), org.assertj.core.data.Offset.offset(1e-9));
        assertThatThrownBy(() -> qwen.score("")).isInstanceOf(Qwen4jException.class).hasMessageContaining("nothing to score");
    }

    @Test
    void tokenizerAccess() {
        QwenTokenizer t = qwen.tokenizer();
        assertThat(t.specialId("<|im_end|>")).hasValue(151645);
        assertThat(t.eosIds()).isNotEmpty();
        assertThat(t.vocabSize()).isGreaterThan(151000);
        assertThat(t.decode(t.encode("Hello world"))).isEqualTo("Hello world");
        assertThat(t.encode("<|im_end|>", false)).hasSizeGreaterThan(1);
    }

    @Test
    void closedHandleAndMissingModelGiveClearErrors() {
        Qwen q = Qwen.load(Fixtures.tiny().resolve("tiny-BF16.gguf").toString(), LoadOptions.builder().threads(1).contextLength(64).build());
        q.close();
        q.close(); // idempotent
        assertThatThrownBy(() -> q.generate("x", GenerationParams.defaults()))
                .isInstanceOf(IllegalStateException.class).hasMessage("this Qwen handle is closed");
        assertThatThrownBy(q::tokenizer).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> Qwen.load("Qwen/NoSuchModel-0.5B", LoadOptions.defaults()))
                .isInstanceOf(Qwen4jException.class).hasMessageContaining("Qwen/NoSuchModel-0.5B is not in the Hugging Face cache")
                .hasMessageContaining("pull Qwen/NoSuchModel-0.5B");
        assertThatThrownBy(() -> GenerationParams.builder().topP(0).build())
                .isInstanceOf(Qwen4jException.class).hasMessageContaining("topP");
    }

    @Test
    void promptLongerThanTheContextIsRefusedInOneLine() {
        String longText = "word ".repeat(600);
        assertThatThrownBy(() -> qwen.generate(longText, GenerationParams.defaults()))
                .isInstanceOf(Qwen4jException.class).hasMessageContaining("context holds 512");
    }

    @Test
    void scoringTheGreedyIdsTopsEachPositionWithTheReferenceToken() {
        Golden g = answerCase();
        int n = g.greedyPrefixToCheck();
        int p = g.promptIds().length;
        int[] ids = Arrays.copyOf(g.promptIds(), p + n);
        System.arraycopy(g.greedyIds(), 0, ids, p, n);
        Score s = qwen.score(ids, 3);
        assertThat(s.positions()).hasSize(ids.length);
        for (int i = 0; i < n; i++) {
            Score.Position pos = s.positions().get(p - 1 + i);
            assertThat(pos.nextId()).isEqualTo(g.greedyIds()[i]);
            assertThat(pos.topIds()).hasSize(3);
            assertThat(pos.topIds()[0]).as("position " + (p - 1 + i)).isEqualTo(g.greedyIds()[i]);
            Golden.Step ref = g.steps().get(i);
            for (int k = 0; k < ref.ids().length; k++) {
                if (ref.ids()[k] == pos.topIds()[0]) {
                    assertThat(pos.topLogits()[0]).isCloseTo(ref.logits()[k], org.assertj.core.data.Offset.offset(1e-3f));
                }
            }
        }
        Score.Position last = s.positions().get(ids.length - 1);
        assertThat(last.nextId()).isEqualTo(-1);
        assertThat(last.logprob()).isNaN();
        assertThatThrownBy(() -> qwen.score(new int[] {1, -5}, 0)).isInstanceOf(Qwen4jException.class)
                .hasMessageContaining("token id -5");
    }

    @Test
    void generationFromIdsEqualsGenerationFromTextAndIsTimed() {
        Golden g = answerCase();
        GenerationParams params = GenerationParams.builder().maxTokens(4).build();
        Completion fromIds = qwen.generate(g.promptIds(), params, null);
        assertThat(fromIds.tokenIds()).containsExactly(qwen.generate("The answer is", params).tokenIds());
        assertThat(fromIds.stopReason()).isEqualTo("length");
        assertThat(fromIds.timings().promptTokens()).isEqualTo(g.promptIds().length);
        assertThat(fromIds.timings().prefillNanos()).isPositive();
        assertThat(fromIds.timings().decodeNanos()).hasSize(3); // the first token comes from the prefill
        assertThat(qwen.loadTime()).isPositive();
    }

    @Test
    void aListenerCanCancelAndAGrammarHoldsTheOutput() {
        int[] count = {0};
        Completion c = qwen.generate("The answer is", GenerationParams.builder().maxTokens(20).build(), new TokenListener() {
            @Override public void onToken(String delta) { count[0]++; }
            @Override public boolean cancelled() { return count[0] >= 1; }
        });
        assertThat(c.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(c.tokenIds().length).isLessThan(20);

        GenerationParams yesNo = GenerationParams.builder().maxTokens(10).temperature(1).seed(3)
                .responseFormat(ResponseFormat.grammar("root ::= (\"yes\" | \"no\") \".\"")).build();
        assertThat(qwen.generate("Hi", yesNo).text()).isIn("yes.", "no.");
        GenerationParams bad = GenerationParams.builder().responseFormat(ResponseFormat.grammar("root ::= [a-").from("g.gbnf")).build();
        assertThatThrownBy(() -> qwen.generate("Hi", bad)).isInstanceOf(Qwen4jException.class).hasMessageStartingWith("g.gbnf: grammar line 1");
    }

    @Test
    void samplingDefaultsComeFromGenerationConfig() throws Exception {
        JsonNode config = new ObjectMapper().readTree(Fixtures.tiny().resolve("hf/generation_config.json").toFile());
        GenerationParams d = qwen.samplingDefaults();
        assertThat(d.temperature()).isEqualTo((float) config.get("temperature").asDouble());
        assertThat(d.topK()).isEqualTo(config.get("top_k").asInt());
        assertThat(d.topP()).isEqualTo((float) config.get("top_p").asDouble());
        assertThat(d.repeatPenalty()).isEqualTo((float) config.get("repetition_penalty").asDouble());
        assertThat(d.repeatLastN()).isEqualTo(-1); // transformers' penalty sees the whole context
    }

    @Test
    void theTokenizerLoadsAloneAndEncodesAsTheModelDoes() {
        QwenTokenizer alone = QwenTokenizer.load(Fixtures.tokenizerDir());
        String text = "Hello, world! <|im_start|>user";
        assertThat(alone.encode(text)).containsExactly(qwen.tokenizer().encode(text));
        int[] ids = alone.encode("Hello");
        assertThat(alone.piece(ids[0])).isEqualTo("Hello");
    }

    @Test
    void quantizingOnLoadReportsProgressAndStaysNearTheFloatModel() {
        List<long[]> progress = new ArrayList<>();
        LoadOptions o = LoadOptions.builder().threads(2).contextLength(64).quantize(LoadOptions.Quantization.Q8_0)
                .quantizeProgress((done, total) -> progress.add(new long[] {done, total})).build();
        String text = "The answer is 42, and the question is unknown.";
        try (Qwen q8 = Qwen.load(Fixtures.tiny().resolve("hf"), o)) {
            assertThat(progress).isNotEmpty();
            long[] last = progress.get(progress.size() - 1);
            assertThat(last[0]).isEqualTo(last[1]);
            double ratio = q8.score(text).perplexity() / qwen.score(text).perplexity();
            assertThat(ratio).isBetween(0.95, 1.05);
        }
    }

    @Test
    void hugePageWeightsScoreExactlyAsTheMapping() {
        String text = "The answer is 42, and the question is unknown.";
        try (Qwen huge = Qwen.load(Fixtures.tiny().resolve("hf"),
                LoadOptions.builder().threads(2).contextLength(64).hugePages(true).build())) {
            assertThat(huge.score(text).perplexity()).isEqualTo(qwen.score(text).perplexity());
        }
    }

    /** Each generated token's log-probability equals the teacher-forced score of the same ids (another code path). */
    @Test
    void logprobsOfGeneratedTokensEqualTheScoreOfTheText() {
        int[] prompt = qwen.tokenizer().encode("The answer is");
        List<TokenLogprob> told = new ArrayList<>();
        Completion c = qwen.generate(prompt, GenerationParams.builder().maxTokens(8).logprobs(3).build(), new TokenListener() {
            @Override public void onToken(String delta) { }
            @Override public void onLogprob(TokenLogprob lp) { told.add(lp); }
        });
        assertThat(c.logprobs()).hasSize(8).isEqualTo(told);
        int[] all = Arrays.copyOf(prompt, prompt.length + 8);
        System.arraycopy(c.tokenIds(), 0, all, prompt.length, 8);
        Score s = qwen.score(all, 3);
        for (int k = 0; k < 8; k++) {
            TokenLogprob lp = c.logprobs().get(k);
            Score.Position p = s.positions().get(prompt.length - 1 + k);
            assertThat(lp.id()).isEqualTo(c.tokenIds()[k]).isEqualTo(p.nextId());
            assertThat((double) lp.logprob()).isCloseTo(p.logprob(), org.assertj.core.api.Assertions.within(2e-3));
            assertThat(lp.topIds()).containsExactly(p.topIds());
            assertThat(lp.topIds()[0]).isEqualTo(lp.id()); // greedy
            assertThat(lp.topLogprobs()[0]).isEqualTo(lp.logprob());
        }
        assertThat(qwen.generate(prompt, GenerationParams.builder().maxTokens(2).build(), null).logprobs()).isEmpty();
    }

    @Test
    void compilingAFormatGivesItsWarningsOrOneClearError() {
        String schema = "{\"type\": \"object\", \"properties\": {\"age\": {\"type\": \"integer\", \"minimum\": 0}}}";
        assertThat(qwen.compile(ResponseFormat.jsonSchema(schema, false))).singleElement().asString()
                .contains("minimum").contains("#/properties/age");
        assertThatThrownBy(() -> qwen.compile(ResponseFormat.jsonSchema(schema))).isInstanceOf(Qwen4jException.class)
                .hasMessageContaining("unsupported JSON Schema keyword 'minimum'");
        assertThatThrownBy(() -> qwen.compile(ResponseFormat.grammar("root ::= missing").from("g.gbnf")))
                .isInstanceOf(Qwen4jException.class).hasMessageStartingWith("g.gbnf: ");
        assertThat(qwen.compile(ResponseFormat.jsonObject())).isEmpty();
    }
}
