package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.format.GenerationConfig;
import qwen4j.generate.SamplerSettings;

class SamplingCliTest {
    private static String hf() { return Fixtures.tiny().resolve("hf").toString(); }

    @Test
    void generateWithoutFlagsStaysGreedy() throws Exception {
        CliTest.Run r = CliTest.run("generate", "-m", hf(), "-p", "The answer is", "-n", "6", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode s = CliTest.json(r.out()).get("sampling");
        assertThat(s.get("greedy").asBoolean()).isTrue();
        assertThat(s.get("repeat_penalty").asDouble()).isEqualTo(1.0);
    }

    @Test
    void seededSamplingIsReproducibleAndUsesModelDefaults() throws Exception {
        String[] args = {"generate", "-m", hf(), "-p", "The answer is", "-n", "10", "--temp", "1.2", "--seed", "5", "--json"};
        JsonNode a = CliTest.json(CliTest.run(args).out()), b = CliTest.json(CliTest.run(args).out());
        assertThat(a.get("ids")).isEqualTo(b.get("ids"));
        JsonNode s = a.get("sampling");
        assertThat(s.get("greedy").asBoolean()).isFalse();
        assertThat(s.get("temperature").asDouble()).isCloseTo(1.2, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(s.get("top_k").asInt()).isEqualTo(20);      // from generation_config.json
        assertThat(s.get("top_p").asDouble()).isCloseTo(0.8, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(s.get("seed").asLong()).isEqualTo(5);
    }

    @Test
    void chatUsesTheTemplateAndGenerationConfig() throws Exception {
        CliTest.Run r = CliTest.run("generate", "-m", Fixtures.tiny().resolve("tiny-BF16.gguf").toString(), "--chat",
                "--system", "Be brief.", "-p", "Hi!", "-n", "4", "--seed", "1", "--top-k", "3", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = CliTest.json(r.out());
        // <|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n
        assertThat(j.get("prompt_ids").get(0).asInt()).isEqualTo(151644);
        assertThat(j.get("sampling").get("greedy").asBoolean()).isFalse();
        assertThat(j.get("sampling").get("top_k").asInt()).isEqualTo(3);
    }

    @Test
    void stopStringCutsTheText() throws Exception {
        JsonNode full = CliTest.json(CliTest.run("generate", "-m", hf(), "-p", "The answer is", "-n", "16", "--json").out());
        String text = full.get("text").asText();
        String stop = text.substring(text.length() / 2, text.length() / 2 + 2);
        JsonNode cut = CliTest.json(CliTest.run("generate", "-m", hf(), "-p", "The answer is", "-n", "16", "--stop", stop,
                "--stop", "never-appears", "--json").out());
        assertThat(cut.get("stop_reason").asText()).isEqualTo("stop");
        assertThat(cut.get("text").asText()).isEqualTo(text.substring(0, text.indexOf(stop)));
    }

    @Test
    void badFlagsAreOneLineErrors() {
        for (String[] args : new String[][] {
                {"generate", "-m", hf(), "-p", "x", "--temp", "-1"},
                {"generate", "-m", hf(), "-p", "x", "--top-p", "0"},
                {"generate", "-m", hf(), "-p", "x", "--system", "S"},
                {"generate", "-m", hf(), "--prompt-ids", "1,2", "--chat"}}) {
            CliTest.Run r = CliTest.run(args);
            assertThat(r.exit()).isEqualTo(2);
            assertThat(r.err().strip().lines().count()).as(r.err()).isEqualTo(1);
        }
    }

    @Test
    void generationConfigDefaults() {
        GenerationConfig g = GenerationConfig.read(Fixtures.tiny().resolve("hf")).orElseThrow();
        assertThat(g.temperature()).isEqualTo(0.7);
        assertThat(g.topK()).isEqualTo(20);
        assertThat(g.topP()).isEqualTo(0.8);
        assertThat(g.repetitionPenalty()).isEqualTo(1.05);
        SamplerSettings s = SamplerSettings.fromGenerationConfig(g);
        assertThat(s.temperature()).isEqualTo(0.7f);
        assertThat(s.topK()).isEqualTo(20);
        assertThat(s.topP()).isEqualTo(0.8f);
        assertThat(s.repeatPenalty()).isEqualTo(1.05f);
        assertThat(s.repeatLastN()).isEqualTo(-1);
        assertThat(SamplerSettings.fromGenerationConfig(new GenerationConfig(false, 0.7, 20, 0.8, null, null)).isGreedy()).isTrue();
    }
}
