package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;
import qwen4j.model.Golden;

/** The commands end to end, through the same entry point bin/qwen4j uses, checked on their JSON. */
class CliTest {
    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    static JsonNode json(String s) throws Exception {
        return new ObjectMapper().readTree(s);
    }

    static Golden answerCase() {
        return Golden.load(Fixtures.tiny().resolve("golden.json")).stream()
                .filter(g -> g.prompt().equals("answer") && g.weights().startsWith("F32/BF16")).findFirst().orElseThrow();
    }

    static String ids(int[] a) {
        return Arrays.stream(a).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    @Test
    void generateJsonReproducesReferenceGreedyTokens() throws Exception {
        Golden g = answerCase();
        Run r = run("generate", "-m", Fixtures.tiny().resolve("hf").toString(), "-p", "The answer is", "-n", "8", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = json(r.out());
        assertThat(j.get("prompt_ids").toString()).isEqualTo(Arrays.toString(g.promptIds()).replace(" ", ""));
        int[] expected = Arrays.copyOf(g.greedyIds(), 8);
        int[] got = new int[j.get("ids").size()];
        for (int i = 0; i < got.length; i++) got[i] = j.get("ids").get(i).asInt();
        assertThat(got).containsExactly(expected);
        JsonNode t = j.get("timings");
        assertThat(t.get("decode_ms").size()).isEqualTo(7);
        assertThat(t.get("load_ms").asDouble()).isPositive();
        assertThat(t.get("decode_tokens_per_s").asDouble()).isPositive();
        assertThat(j.get("text").asText()).isNotEmpty();
    }

    @Test
    void generateStreamsTextThenOneTimingLine() {
        Run r = run("generate", "-m", Fixtures.tiny().resolve("tiny-BF16.gguf").toString(), "--prompt-ids", "785,4226,374", "-n", "4");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isNotBlank();
        assertThat(r.err().lines().filter(l -> l.startsWith("[prompt 3 tokens")).count()).isEqualTo(1);
    }

    @Test
    void perplexityJsonMatchesReferenceLogits() throws Exception {
        Golden g = answerCase();
        int[] seq = new int[g.promptIds().length + 3];
        System.arraycopy(g.promptIds(), 0, seq, 0, g.promptIds().length);
        System.arraycopy(g.greedyIds(), 0, seq, g.promptIds().length, 3);
        Run r = run("perplexity", "-m", Fixtures.tiny().resolve("hf-sharded").toString(), "--ids", ids(seq), "--top", "5", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode positions = json(r.out()).get("positions");
        assertThat(positions.size()).isEqualTo(seq.length);
        assertThat(positions.get(seq.length - 1).get("next_id").isNull()).isTrue();
        // entry (prompt length - 1 + s) predicts continuation token s: compare its top logits with the reference
        for (int s = 0; s < 3; s++) {
            JsonNode p = positions.get(g.promptIds().length - 1 + s);
            Golden.Step ref = g.steps().get(s);
            assertThat(p.get("next_id").asInt()).isEqualTo(g.greedyIds()[s]);
            assertThat(p.get("logprob").asDouble()).isNegative();
            for (int k = 0; k < 5; k++) {
                assertThat(p.get("top").get(k).get(0).asInt()).isEqualTo(ref.ids()[k]);
                assertThat(p.get("top").get(k).get(1).asDouble()).isCloseTo(ref.logits()[k], org.assertj.core.data.Offset.offset(1e-3));
            }
        }
        assertThat(json(r.out()).get("perplexity").asDouble()).isGreaterThan(1.0);
    }

    @Test
    void tokenizeJsonGivesIdsAndPieces() throws Exception {
        Run r = run("tokenize", "-m", Fixtures.tiny().resolve("hf").toString(), "The answer is", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = json(r.out());
        assertThat(j.get("ids").toString()).isEqualTo("[785,4226,374]"); // golden.json prompt_ids of "answer"
        assertThat(j.get("pieces").toString()).isEqualTo("[\"The\",\" answer\",\" is\"]");
    }

    @Test
    void userErrorsAreOneLineAndExitTwo(@TempDir Path tmp) throws Exception {
        Path missing = tmp.resolve("nope");
        Path junk = Files.writeString(tmp.resolve("junk.gguf"), "not a gguf file at all");
        List<String[]> cases = List.of(
                new String[] {"generate", "-m", missing.toString(), "-p", "x"},
                new String[] {"generate", "-m", junk.toString(), "-p", "x"},
                new String[] {"generate", "-m", Fixtures.tiny().resolve("hf").toString(), "--prompt-ids", "1,x"},
                new String[] {"generate", "-m", Fixtures.tiny().resolve("hf").toString(), "--prompt-ids", "999999"},
                new String[] {"generate", "-m", Fixtures.tiny().resolve("hf").toString(), "-p", "hi", "-n", "100", "--ctx", "16"},
                new String[] {"perplexity", "-m", Fixtures.tiny().resolve("hf").toString(), "-f", missing.toString()},
                new String[] {"generate", "--bogus-option"});
        for (String[] args : cases) {
            Run r = run(args);
            assertThat(r.exit()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err()).as(String.join(" ", args)).doesNotContain("\tat ").doesNotContain("Exception");
            assertThat(r.err().strip()).isNotEmpty();
        }
        Run r = run("generate", "-m", junk.toString(), "-p", "x");
        assertThat(r.err().strip().lines().count()).isEqualTo(1);
        assertThat(r.err()).contains("junk.gguf");
    }

    @Test
    void benchJsonReportsEveryField() throws Exception {
        Run r = run("bench", "-m", Fixtures.tiny().resolve("tiny-BF16.gguf").toString(), "-p", "4", "-n", "3", "-r", "1",
                "-d", "0,8", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = json(r.out());
        for (String f : List.of("pp_tokens_per_s", "tg_tokens_per_s", "tg_s_per_token", "weight_bytes_per_token",
                "achieved_gb_s", "machine_gb_s", "roofline")) {
            assertThat(j.get(f)).as(f).isNotNull();
            assertThat(j.get(f).asDouble()).as(f).isPositive();
        }
        // tiny model: 2 layers x (q,k,v,o,gate,up,down) + the tied output matrix, all BF16
        long expected = 2L * 2 * (64 * 64 + 32 * 64 + 32 * 64 + 64 * 64 + 3 * 128 * 64) + 2L * 151936 * 64;
        assertThat(j.get("weight_bytes_per_token").asLong()).isEqualTo(expected);
        assertThat(j.get("by_depth").size()).isEqualTo(2);
        // issue 18 item 17: each entry says its depth
        assertThat(j.get("by_depth").get(0).get("depth").asInt()).isZero();
        assertThat(j.get("by_depth").get(1).get("depth").asInt()).isEqualTo(8);
        // issue 17: the roofline divides by a read of the model file's own mapping, reported beside the anonymous probe
        assertThat(j.get("file_read_gb_s").asDouble()).isPositive();
        assertThat(j.get("roofline").asDouble())
                .isCloseTo(j.get("achieved_gb_s").asDouble() / j.get("file_read_gb_s").asDouble(), org.assertj.core.data.Offset.offset(1e-9));
    }
}
