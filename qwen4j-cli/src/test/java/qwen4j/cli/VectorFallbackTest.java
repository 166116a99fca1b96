package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import qwen4j.Fixtures;
import qwen4j.model.Golden;

/**
 * JVMs on which the Vector API cannot run as vector instructions (2 float lanes; C1 only) fall back
 * to the scalar kernels, say so once on stderr, and still reproduce the reference's greedy tokens
 * (golden.json, independent numpy forward pass) through a real {@code generate} in a child JVM.
 */
class VectorFallbackTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("-XX:MaxVectorSize=8", "tiny-Q8_0-split-00001-of-00003.gguf", "Q8_0", "2 float lanes"),
                Arguments.of("-XX:MaxVectorSize=8", "hf", "F32/BF16", "2 float lanes"),
                Arguments.of("-XX:TieredStopAtLevel=1", "tiny-Q4_0.gguf", "Q4_0", "C2 JIT compiler is off"));
    }

    /** bench too (its bandwidth and FMA probes load the vector classes at 2 lanes): scalar, said once, in the JSON. */
    @org.junit.jupiter.api.Test
    void benchRunsOnScalarKernelsAndSaysSo() throws Exception {
        Path model = Fixtures.tiny().resolve("tiny-Q4_0.gguf");
        Path err = Files.createTempFile("qwen4j-fallback", ".err");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:MaxVectorSize=8",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "bench", "-m", model.toString(), "-p", "8", "-n", "4", "-r", "1", "--json")
                .redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        List<String> stderr = Files.readAllLines(err);
        Files.delete(err);
        assertThat(p.exitValue()).as("exit code; stderr: %s", stderr).isZero();
        assertThat(stderr.stream().filter(l -> l.contains("using the scalar kernels"))).hasSize(1);
        JsonNode json = new ObjectMapper().readTree(out);
        assertThat(json.get("vector_lanes").asInt()).isEqualTo(1);
        assertThat(json.get("tg_tokens_per_s").asDouble()).isPositive();
    }

    /**
     * A JVM started without {@code --add-modules jdk.incubator.vector} (a bare {@code java -cp} or
     * {@code java -jar}): every command, {@code --version} included, says in one line what to add and
     * exits 2, instead of a NoClassDefFoundError's stack trace.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"--version", "generate"})
    void withoutTheVectorModuleSaysWhatToAdd(String command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), command));
        if (command.equals("generate")) cmd.addAll(List.of("-m", Fixtures.tiny().resolve("tiny-Q4_0.gguf").toString(), "-p", "Hi", "-n", "2"));
        Path err = Files.createTempFile("qwen4j-nomodule", ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        List<String> stderr = Files.readAllLines(err);
        Files.delete(err);
        assertThat(p.exitValue()).as("stderr: %s", stderr).isEqualTo(Main.USER_ERROR);
        assertThat(out).isEmpty();
        assertThat(stderr).hasSize(1);
        assertThat(stderr.get(0)).startsWith("qwen4j: error: ")
                .contains("without the Vector API module").contains("--add-modules jdk.incubator.vector");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void fallsBackToScalarOnceAndStaysExact(String flag, String file, String weights, String why) throws Exception {
        Path model = Fixtures.tiny().resolve(file);
        // the 33-token prompt: batched prefill through the matrix-matrix path, then decode
        Golden g = Golden.load(Fixtures.tiny().resolve("golden.json")).stream()
                .filter(c -> c.prompt().equals("math") && c.weights().startsWith(weights)).findFirst().orElseThrow();
        String ids = Arrays.stream(g.promptIds()).mapToObj(Integer::toString).collect(Collectors.joining(","));
        Path err = Files.createTempFile("qwen4j-fallback", ".err");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", flag,
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "generate", "-m", model.toString(), "--prompt-ids", ids, "-n", "24", "--json", "-t", "2"));
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        List<String> stderr = Files.readAllLines(err);
        Files.delete(err);
        assertThat(p.exitValue()).as("exit code; stderr: %s", stderr).isZero();

        List<String> notes = stderr.stream().filter(l -> l.contains("using the scalar kernels")).toList();
        assertThat(notes).hasSize(1);
        assertThat(notes.get(0)).startsWith("qwen4j: note: ").contains(why);

        JsonNode json = new ObjectMapper().readTree(out);
        int[] got = new int[json.get("ids").size()];
        for (int i = 0; i < got.length; i++) got[i] = json.get("ids").get(i).asInt();
        int n = g.greedyPrefixToCheck();
        assertThat(Arrays.copyOf(got, n)).isEqualTo(Arrays.copyOf(g.greedyIds(), n));
    }
}
