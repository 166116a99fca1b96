package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;

/**
 * {@code generate --batch-file}: prompts and chats with their own settings, decoded together, give per
 * line what {@code generate} gives for that prompt alone with the same flags; a rerun resumes; a bad
 * line is one error naming it.
 */
class BatchFileCliTest {
    static final String MODEL = Fixtures.tiny().resolve("hf").toString();

    /** One input line and the flags that run the same request alone. */
    record Case(String id, String line, String[] alone) {}

    static final List<Case> CASES = List.of(
            new Case("a", "{\"id\": \"a\", \"prompt\": \"The answer is\", \"max_tokens\": 6}",
                    new String[] {"-p", "The answer is", "-n", "6"}),
            new Case("b", "{\"id\": \"b\", \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
                    + "{\"role\": \"user\", \"content\": \"Hello there\"}], \"max_tokens\": 5, \"temperature\": 0}",
                    new String[] {"--chat", "--system", "Be brief.", "-p", "Hello there", "-n", "5", "--temp", "0"}),
            // no id: the line number is the id
            new Case("3", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 9, \"temperature\": 0.9, \"seed\": 42}",
                    new String[] {"-p", "Once upon a time", "-n", "9", "--temp", "0.9", "--seed", "42"}),
            new Case("d", "{\"id\": \"d\", \"messages\": [{\"role\": \"user\", \"content\": \"Tell me a story\"}], "
                    + "\"max_tokens\": 8, \"temperature\": 0.7, \"top_k\": 5, \"seed\": 7}",
                    new String[] {"--chat", "-p", "Tell me a story", "-n", "8", "--temp", "0.7", "--top-k", "5", "--seed", "7"}),
            new Case("e", "{\"id\": \"e\", \"prompt\": \"hello world\", \"max_tokens\": 12, \"temperature\": 1.2, \"seed\": 3, "
                    + "\"top_p\": 0.9, \"stop\": [\"e\"]}",
                    new String[] {"-p", "hello world", "-n", "12", "--temp", "1.2", "--seed", "3", "--top-p", "0.9", "--stop", "e"}));

    private static String[] generate(String... args) {
        List<String> all = new ArrayList<>(List.of("generate", "-m", MODEL));
        all.addAll(List.of(args));
        return all.toArray(String[]::new);
    }

    @Test
    void eachLineEqualsThatPromptAloneAndARerunResumes(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("prompts.jsonl"), out = tmp.resolve("out.jsonl");
        Files.write(in, CASES.stream().map(Case::line).toList());
        CliTest.Run r = CliTest.run(generate("--batch-file", in.toString(), "-o", out.toString(), "--parallel", "3"));
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> lines = Files.readAllLines(out);
        assertThat(lines).hasSize(CASES.size());
        for (int i = 0; i < CASES.size(); i++) {
            Case c = CASES.get(i);
            List<String> args = new ArrayList<>(List.of(c.alone()));
            args.add("--json");
            CliTest.Run alone = CliTest.run(generate(args.toArray(String[]::new)));
            assertThat(alone.exit()).as(alone.err()).isZero();
            JsonNode want = CliTest.json(alone.out()), got = CliTest.json(lines.get(i));
            assertThat(got.get("id").asText()).isEqualTo(c.id());
            assertThat(got.get("text").asText()).as(c.id()).isEqualTo(want.get("text").asText());
            assertThat(got.get("finish_reason").asText()).as(c.id()).isEqualTo(want.get("stop_reason").asText());
            JsonNode u = got.get("usage");
            assertThat(u.get("prompt_tokens").asInt()).as(c.id()).isEqualTo(want.get("prompt_ids").size());
            assertThat(u.get("completion_tokens").asInt()).as(c.id()).isEqualTo(want.get("ids").size());
            assertThat(u.get("total_tokens").asInt()).isEqualTo(want.get("prompt_ids").size() + want.get("ids").size());
        }

        // a run cut short: the last line is missing; the rerun computes only that one
        Files.write(out, lines.subList(0, lines.size() - 1));
        r = CliTest.run(generate("--batch-file", in.toString(), "-o", out.toString(), "--parallel", "3"));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains(CASES.size() - 1 + " of " + CASES.size() + " prompts already done");
        List<String> resumed = Files.readAllLines(out);
        assertThat(resumed).hasSize(CASES.size());
        assertThat(resumed.subList(0, lines.size() - 1)).isEqualTo(lines.subList(0, lines.size() - 1));
        assertThat(withoutTimings(resumed.getLast())).isEqualTo(withoutTimings(lines.getLast()));

        // complete: nothing to do, nothing written
        r = CliTest.run(generate("--batch-file", in.toString(), "-o", out.toString()));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(Files.readAllLines(out)).isEqualTo(resumed);
    }

    private static JsonNode withoutTimings(String line) throws Exception {
        ObjectNode o = (ObjectNode) CliTest.json(line);
        o.remove("timings");
        return o;
    }

    @Test
    void aMalformedLineIsOneErrorNamingIt(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out.jsonl");
        List<String[]> files = List.of(
                new String[] {"{\"prompt\": \"ok\"}", "{\"prompt\": \"cut\", \"max_tokens\": }", "line 2"},
                new String[] {"{\"prompt\": \"ok\"}", "", "{\"max_tokens\": 3}", "line 3"},
                new String[] {"{\"prompt\": \"ok\", \"temperature\": \"hot\"}", "line 1"},
                new String[] {"{\"prompt\": \"ok\", \"id\": \"x\"}", "{\"prompt\": \"again\", \"id\": \"x\"}", "line 2"},
                new String[] {"{\"messages\": \"hi\"}", "line 1"});
        for (String[] f : files) {
            Path in = tmp.resolve("bad.jsonl");
            Files.write(in, List.of(f).subList(0, f.length - 1));
            CliTest.Run r = CliTest.run(generate("--batch-file", in.toString(), "-o", out.toString()));
            String what = String.join(" / ", f);
            assertThat(r.exit()).as(what).isEqualTo(2);
            assertThat(r.err().strip()).as(what).startsWith("qwen4j: error: bad.jsonl " + f[f.length - 1] + ": ")
                    .doesNotContain("\n").doesNotContain("Exception");
            assertThat(out).as("nothing written for " + what).doesNotExist();
        }
    }
}
