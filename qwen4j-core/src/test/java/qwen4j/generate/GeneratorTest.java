package qwen4j.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.model.Options;

class GeneratorTest {
    private static Engine engine;

    @BeforeAll
    static void open() {
        engine = Engine.open(Fixtures.tiny().resolve("hf"), Options.defaults().withThreads(2), 256);
    }

    @AfterAll
    static void close() {
        if (engine != null) engine.close();
    }

    private static List<String> feed(List<String> stops, String... pieces) {
        List<String> out = new ArrayList<>();
        Generator.StopStrings s = new Generator.StopStrings(stops, out::add);
        boolean stopped = false;
        for (String p : pieces) if (!stopped) stopped = s.add(p);
        s.finish();
        out.add("=" + s.text());
        return out;
    }

    @Test
    void stopStringsAreCutAndHeldBack() {
        // "Hello " goes out as soon as it cannot start "World"; the stop string never does
        assertThat(feed(List.of("World"), "Hel", "lo W", "or", "ld", "!")).containsExactly("Hel", "lo ", "=Hello ");
        // a partial match that turns out not to be one is released
        assertThat(feed(List.of("</s>"), "a<", "/", "x")).containsExactly("a", "</x", "=a</x");
        // text held back at the end of generation is released by finish()
        assertThat(feed(List.of("</s>"), "a</")).containsExactly("a", "</", "=a</");
        // the earliest of several stop strings wins; a stop string inside one piece
        assertThat(feed(List.of("cd", "bc"), "abcde")).containsExactly("a", "=a");
        assertThat(feed(List.of("xyz"), "plain text")).containsExactly("plain text", "=plain text");
    }

    private static Generation run(int[] prompt, Sampler sampler, Generator.Params params, StringBuilder streamed) {
        return engine.generator().generate(engine.newSession(), prompt, sampler, params, streamed::append);
    }

    @Test
    void temperatureZeroIsExactlyGreedy() {
        int[] prompt = engine.tokenizer().encode("The answer is");
        Generation greedy = engine.generator().generate(engine.newSession(), prompt, 20, p -> {});
        Generation viaSampler = run(prompt, new Sampler(SamplerSettings.greedy(), engine.vocabLimit(), 256),
                Generator.Params.maxTokens(20), new StringBuilder());
        assertThat(viaSampler.ids()).containsExactly(greedy.ids());
        assertThat(viaSampler.text()).isEqualTo(greedy.text());
    }

    @Test
    void sameSeedSameOutput() {
        int[] prompt = engine.tokenizer().encode("The answer is");
        SamplerSettings s = new SamplerSettings(1.5f, 0, 1f, 0f, 1f, 64, 0f, 0f, 99);
        Generation a = run(prompt, new Sampler(s, engine.vocabLimit(), 256), Generator.Params.maxTokens(16), new StringBuilder());
        Generation b = run(prompt, new Sampler(s, engine.vocabLimit(), 256), Generator.Params.maxTokens(16), new StringBuilder());
        Generation c = run(prompt, new Sampler(s.withSeed(100), engine.vocabLimit(), 256), Generator.Params.maxTokens(16), new StringBuilder());
        assertThat(a.ids()).containsExactly(b.ids());
        assertThat(a.ids()).isNotEqualTo(c.ids());
        for (int id : a.ids()) assertThat(id).isLessThan(engine.vocabLimit());
    }

    @Test
    void stopStringEndsGenerationAndIsNotInTheText() {
        int[] prompt = engine.tokenizer().encode("The answer is");
        Generation full = engine.generator().generate(engine.newSession(), prompt, 24, p -> {});
        String text = full.text();
        assertThat(text.length()).isGreaterThan(10);
        String stop = text.substring(text.length() / 2, text.length() / 2 + 3);
        StringBuilder streamed = new StringBuilder();
        Generation g = run(prompt, null, new Generator.Params(24, List.of(stop), null), streamed);
        assertThat(g.stopReason()).isEqualTo("stop");
        assertThat(g.text()).isEqualTo(text.substring(0, text.indexOf(stop)));
        assertThat(streamed.toString()).isEqualTo(g.text());
    }

    @Test
    void minusOneRunsToTheContextEndAndCancelStops() {
        int[] prompt = engine.tokenizer().encode("The answer is");
        Generation g = engine.generator().generate(engine.newSession(), prompt, -1, p -> {});
        assertThat(g.stopReason()).isIn("eos", "context");
        if (g.stopReason().equals("context")) assertThat(prompt.length + g.ids().length).isEqualTo(256 + 1);
        int[] calls = {0};
        Generation c = run(prompt, null, new Generator.Params(-1, List.of(), () -> ++calls[0] > 5), new StringBuilder());
        assertThat(c.stopReason()).isEqualTo("cancelled");
    }
}
