package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
 * The same {@code perplexity --prompt-mode sequential} command gives the same numbers, bit for bit,
 * whatever the JIT did meanwhile: each run is a child JVM, one of them with C2 only (kernels
 * interpreted for longer). {@code Exp} (not {@code lanewise(EXP)}, whose compiled and interpreted
 * forms differ in the last bit) made it so; before it the runs differed at 1e-8. The batched
 * (GEMM) path is not there yet: MatMul's lane sums use {@code reduceLanes}, and a fixed-order sum
 * there exceeds C2's inlining budget (boxed vectors); nor are the quantized kernels (reduceLanes too).
 */
class ReproducibleScoringTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-BF16.gguf", "hf"})
    void sameCommandSameNumbers(String file) throws Exception {
        Path text = Files.createTempFile("qwen4j-score", ".txt");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 1500; i++) {
            sb.append("Line ").append(i).append(": the quick brown fox jumps over ").append(i * 7 % 13).append(" lazy dogs.\n");
        }
        Files.writeString(text, sb);
        try {
            JsonNode a = score(file, text, null), b = score(file, text, "-XX:-TieredCompilation"), c = score(file, text, null);
            assertThat(a.get("positions").size()).isGreaterThan(250);
            assertThat(b).isEqualTo(a);
            assertThat(c).isEqualTo(a);
        } finally {
            Files.delete(text);
        }
    }

    private static JsonNode score(String file, Path text, String jvmFlag) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"));
        if (jvmFlag != null) cmd.add(jvmFlag);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "perplexity", "-m", Fixtures.tiny().resolve(file).toString(), "-f", text.toString(), "--json", "-t", "2",
                "--prompt-mode", "sequential"));
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
