package qwen4j.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.model.Options;

/**
 * The step-wise generator: requests of different lengths and settings stepped together (some waiting
 * for a slot, joining later; long prompts prefilled in chunks between decode steps) give exactly what
 * each gives alone through {@link Generator}: ids, text, stop reason, streamed text.
 */
class BatchGeneratorTest {
    private static Engine engine;

    @BeforeAll
    static void open() {
        engine = Engine.open(Fixtures.tiny().resolve("hf"), Options.defaults().withThreads(2), 256);
    }

    @AfterAll
    static void close() {
        if (engine != null) engine.close();
    }

    record Case(String prompt, SamplerSettings settings, int maxTokens, List<String> stop) {}

    static List<Case> cases() {
        List<Case> cs = new ArrayList<>();
        String shared = "You are a helpful assistant. Answer in one short sentence, and do not repeat the question. ";
        for (int i = 0; i < 7; i++) {
            SamplerSettings s = i % 3 == 0 ? SamplerSettings.greedy()
                    : SamplerSettings.greedy().withTemperature(0.8f).withTopK(40).withSeed(100 + i);
            String prompt = (i % 2 == 0 ? shared : "") + "Question " + i + ": " + "why ".repeat(1 + 9 * i) + "?";
            cs.add(new Case(prompt, s, 6 + 3 * i, i == 4 ? List.of("e") : List.of()));
        }
        return cs;
    }

    static Generation alone(Case c, StringBuilder streamed) {
        int[] ids = engine.tokenizer().encode(c.prompt());
        Sampler sampler = new Sampler(c.settings(), engine.vocabLimit(), 256);
        return engine.generator().generate(engine.newSession(), ids, sampler,
                new Generator.Params(c.maxTokens(), c.stop(), null), streamed::append);
    }

    @Test
    void requestsSteppedTogetherGiveWhatEachGivesAlone() {
        List<Case> cases = cases();
        // parallel 3: the rest wait and join as others leave; 8 prompt tokens per step: chunked prefill
        try (BatchGenerator gen = new BatchGenerator(engine.model(), engine.tokenizer(), engine.eosIds(), 3, 256, 8, 0)) {
            List<BatchGenerator.Task> tasks = new ArrayList<>();
            List<StringBuilder> streamed = new ArrayList<>();
            for (Case c : cases) {
                StringBuilder sb = new StringBuilder();
                streamed.add(sb);
                tasks.add(gen.submit(new BatchGenerator.Request(engine.tokenizer().encode(c.prompt()),
                        new Sampler(c.settings(), engine.vocabLimit(), 256), new Generator.Params(c.maxTokens(), c.stop(), null),
                        sb::append)));
            }
            gen.runUntilIdle();
            assertThat(gen.cache().blocksUsed()).isZero();
            for (int i = 0; i < cases.size(); i++) {
                StringBuilder sb = new StringBuilder();
                Generation a = alone(cases.get(i), sb);
                Generation b = tasks.get(i).result().join();
                assertThat(b.ids()).as("case %d ids", i).containsExactly(a.ids());
                assertThat(b.text()).as("case %d text", i).isEqualTo(a.text());
                assertThat(b.stopReason()).as("case %d stop", i).isEqualTo(a.stopReason());
                assertThat(streamed.get(i).toString()).as("case %d streamed", i).isEqualTo(sb.toString());
            }
            assertThat(cases.get(4).stop()).isNotEmpty();
            // requests with the shared preamble that joined after the first one's prefill took its blocks from the cache
            assertThat(tasks.get(4).cachedTokens()).isGreaterThanOrEqualTo(16);
            assertThat(tasks.get(6).cachedTokens()).isGreaterThanOrEqualTo(16);
        }
    }

    @Test
    void generateAllYieldsInInputOrderAndSurvivesAFullCache() {
        List<Case> cases = cases();
        // 14 blocks for 4 sequences that need up to 6 each: some are sent back to wait when the pool runs dry
        try (BatchGenerator gen = new BatchGenerator(engine.model(), engine.tokenizer(), engine.eosIds(), 4, 256, 32, 14)) {
            var it = gen.generateAll(cases.stream().map(c -> new BatchGenerator.Request(engine.tokenizer().encode(c.prompt()),
                    new Sampler(c.settings(), engine.vocabLimit(), 256), new Generator.Params(c.maxTokens(), c.stop(), null),
                    null)).iterator());
            int i = 0;
            while (it.hasNext()) {
                Generation g = it.next(), a = alone(cases.get(i), new StringBuilder());
                assertThat(g.ids()).as("case %d", i).containsExactly(a.ids());
                // nothing streams here: without stop strings the text is decoded only at the end
                assertThat(g.text()).as("case %d text", i).isEqualTo(a.text());
                assertThat(g.stopReason()).as("case %d stop", i).isEqualTo(a.stopReason());
                i++;
            }
            assertThat(i).isEqualTo(cases.size());
        }
    }

    @Test
    void aRequestLargerThanThePoolFailsClearly() {
        try (BatchGenerator gen = new BatchGenerator(engine.model(), engine.tokenizer(), engine.eosIds(), 2, 256, 64, 2)) {
            int[] ids = engine.tokenizer().encode("word ".repeat(40));
            var t = gen.submit(new BatchGenerator.Request(ids, null, Generator.Params.maxTokens(4), null));
            gen.runUntilIdle();
            assertThat(t.result()).isCompletedExceptionally();
            assertThat(t.result().handle((g, e) -> e.getMessage()).join()).contains("KV cache is full");
            assertThat(gen.cache().blocksUsed()).isZero();
        }
    }
}
