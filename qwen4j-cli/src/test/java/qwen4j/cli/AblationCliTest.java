package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;
import qwen4j.model.Golden;

/** {@code bench --ablation} end to end on the tiny fixture: JSON shape, statuses, speedups, report files. */
class AblationCliTest {
    static final int N = 5;

    @Test
    void ablationOnTinyModelWritesConsistentReport(@TempDir Path dir) throws Exception {
        Path md = dir.resolve("ablation.md"), png = dir.resolve("ablation.png");
        CliTest.Run r = CliTest.run("bench", "--ablation", "-m", Fixtures.tiny().resolve("hf").toString(), "-n", "" + N,
                "--report", md.toString(), "--chart", png.toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = CliTest.json(r.out());

        assertThat(j.get("config").isObject()).isTrue();
        assertThat(j.get("config").get("prompt").asText()).isEqualTo("The answer is");
        JsonNode rows = j.get("rows");
        assertThat(rows.size()).isEqualTo(14);
        for (JsonNode row : rows) {
            for (String f : List.of("name", "switches", "s_per_token", "prefill_s", "speedup", "text", "ids", "identical",
                    "first_diff", "gc_count", "alloc_bytes_per_token")) {
                assertThat(row.has(f)).as(row.get("name") + " has " + f).isTrue();
            }
            for (String s : List.of("kernels", "threads", "rope", "mask", "prompt", "attention", "kv_cache", "weights")) {
                assertThat(row.get("switches").has(s)).as(s).isTrue();
            }
            assertThat(row.get("s_per_token").asDouble()).isPositive();
            assertThat(row.get("prefill_s").asDouble()).isPositive();
            assertThat(row.get("ids").size()).isEqualTo(N);
        }

        // the baseline is the float32 engine: it reproduces the numpy reference's greedy tokens
        Golden g = CliTest.answerCase();
        JsonNode base = rows.get(0);
        assertThat(base.get("name").asText()).isEqualTo("Baseline");
        assertThat(ids(base)).containsExactly(Arrays.copyOf(g.greedyIds(), N));
        assertThat(j.get("config").get("prompt_ids").toString()).isEqualTo(Arrays.toString(g.promptIds()).replace(" ", ""));

        double baseS = base.get("s_per_token").asDouble();
        for (JsonNode row : rows) {
            String name = row.get("name").asText();
            assertThat(row.get("speedup").asDouble()).as(name).isCloseTo(baseS / row.get("s_per_token").asDouble(), within(1e-9));
            // status is consistent with the ids: identical <=> same ids, else first_diff names the first difference
            boolean same = Arrays.equals(ids(row), ids(base));
            assertThat(row.get("identical").asBoolean()).as(name).isEqualTo(same);
            if (same) {
                assertThat(row.get("first_diff").isNull()).as(name).isTrue();
            } else {
                int pos = 0;
                while (ids(row)[pos] == ids(base)[pos]) pos++;
                JsonNode d = row.get("first_diff");
                assertThat(d.get("position").asInt()).isEqualTo(pos);
                assertThat(d.get("ref_id").asInt()).isEqualTo(ids(base)[pos]);
                assertThat(d.get("id").asInt()).isEqualTo(ids(row)[pos]);
                assertThat(d.get("ref_margin").asDouble()).isGreaterThanOrEqualTo(0);
                assertThat(d.get("margin").asDouble()).isGreaterThanOrEqualTo(0);
            }
        }
        // RoPE and mask variants are the same math: identical tokens
        for (JsonNode row : rows) {
            String name = row.get("name").asText();
            if (name.contains("RoPE") || name.contains("mask") || name.startsWith("Baseline")) {
                assertThat(row.get("identical").asBoolean()).as(name).isTrue();
            }
        }

        String report = Files.readString(md);
        assertThat(report).contains("## Test configuration", "## Results", "## Key insights", "![speedups](ablation.png)");
        assertThat(Files.readString(dir.resolve("ablation.json"))).contains("\"rows\"");
        byte[] image = Files.readAllBytes(png);
        assertThat(image.length).isGreaterThan(1000);
        assertThat(Arrays.copyOf(image, 4)).containsExactly(0x89, 'P', 'N', 'G');
    }

    @Test
    void kvCacheAndAttentionPrecisionAreOptionsOfGenerate() throws Exception {
        CliTest.Run r = CliTest.run("generate", "-m", Fixtures.tiny().resolve("hf").toString(), "-p", "The answer is",
                "-n", "4", "--kv-cache", "bf16", "--attention-precision", "bf16", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(CliTest.json(r.out()).get("ids").size()).isEqualTo(4);
        CliTest.Run bad = CliTest.run("generate", "-m", Fixtures.tiny().resolve("hf").toString(), "-p", "x", "--kv-cache", "f8");
        assertThat(bad.exit()).isEqualTo(2);
    }

    private static int[] ids(JsonNode row) {
        int[] a = new int[row.get("ids").size()];
        for (int i = 0; i < a.length; i++) a[i] = row.get("ids").get(i).asInt();
        return a;
    }
}
