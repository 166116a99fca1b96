package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import qwen4j.Fixtures;

/**
 * The same {@code perplexity} command (batched prompt blocks, 2 threads) gives the same numbers, bit
 * for bit, whatever the JIT did meanwhile (issue 18, item 17): each run is a child JVM, one with C2
 * only (kernels interpreted for longer). Two Vector API operations give different bits compiled and
 * interpreted: {@code lanewise(EXP)} (replaced by {@code SimdExp}) and {@code reduceLanes(ADD)}
 * (pairwise in C2, sequential in the interpreter; the scoring path sums with {@code Simd.sum}).
 * Without either change the runs differed at 1e-8 (and by one thread count to the next: 1 and 2
 * threads now agree too). (A JVM without C2 runs the scalar kernels, other numbers by design.)
 */
class ReproducibleScoringTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-BF16.gguf", "tiny-Q4_0.gguf", "tiny-Q8_0-split-00001-of-00003.gguf"})
    void sameCommandSameNumbers(String file) throws Exception {
        Path text = Files.createTempFile("qwen4j-score", ".txt");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 1500; i++) {
            sb.append("Line ").append(i).append(": the quick brown fox jumps over ").append(i * 7 % 13).append(" lazy dogs.\n");
        }
        Files.writeString(text, sb);
        try {
            JsonNode a = score(file, text, null, 2), b = score(file, text, "-XX:-TieredCompilation", 2),
                    c = score(file, text, null, 1);
            assertThat(a.get("positions").size()).isGreaterThan(250);
            assertThat(b).as("C2 only").isEqualTo(a);
            assertThat(c).as("one thread").isEqualTo(a);
        } finally {
            Files.delete(text);
        }
    }

    private static JsonNode score(String file, Path text, String jvmFlag, int threads) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add") || a.startsWith("--enable") || a.startsWith("-XX:") || a.startsWith("@")).toList());
        if (jvmFlag != null) cmd.add(jvmFlag);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "perplexity", "-m", Fixtures.tiny().resolve(file).toString(), "-f", text.toString(), "--json", "-t", String.valueOf(threads)));
        Path err = Files.createTempFile("qwen4j-score", ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String stderr = Files.readString(err);
        Files.delete(err);
        assertThat(p.exitValue()).as("exit code; stderr: %s", stderr).isZero();
        return new ObjectMapper().readTree(out);
    }
}
