package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;
import qwen4j.hub.FakeHub;
import qwen4j.model.Golden;

/**
 * {@code pull} and {@code -m REPO} through the real environment (HF_ENDPOINT, HF_HOME, HF_TOKEN), so
 * in a child JVM: the variables cannot be set in this one.
 */
class PullCliTest {
    static final String REPO = "qwen4j-test/tiny";
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    @TempDir Path home;

    record Run(int exit, String out, List<String> err) {}

    Run qwen4j(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Path err = Files.createTempFile(home, "qwen4j", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("HF_") || k.startsWith("HUGGING") || k.equals("QWEN4J_MODEL"));
        pb.environment().put("HOME", home.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        List<String> lines = Files.readAllLines(err).stream().filter(l -> !l.startsWith("WARNING: Using incubator modules")).toList();
        return new Run(p.exitValue(), out, lines);
    }

    @Test
    void pullThenGenerateByNameAndTheErrorsAreOneLine() throws Exception {
        try (FakeHub hub = new FakeHub()) {
            Map<String, Path> files = new LinkedHashMap<>();
            for (String f : List.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
                files.put(f, Fixtures.tiny().resolve("hf").resolve(f));
            }
            hub.add(REPO, COMMIT, files, Set.of("model.safetensors", "tokenizer.json"));
            hub.requiredToken = "hf_cli";
            Map<String, String> env = Map.of("HF_ENDPOINT", hub.endpoint(), "HF_HOME", home.resolve("hf").toString());

            Run denied = qwen4j(env, "pull", REPO);
            assertThat(denied.exit()).isEqualTo(Main.USER_ERROR);
            assertThat(denied.err()).hasSize(1);
            assertThat(denied.err().get(0)).startsWith("qwen4j: error: " + REPO + " at revision main on " + hub.endpoint()
                    + ": access denied (HTTP 401").contains("set HF_TOKEN");

            Map<String, String> withToken = new LinkedHashMap<>(env);
            withToken.put("HF_TOKEN", "hf_cli");
            Run pulled = qwen4j(withToken, "pull", REPO);
            assertThat(pulled.exit()).as("%s", pulled.err()).isZero();
            Path snapshot = home.resolve("hf/hub/models--qwen4j-test--tiny/snapshots/" + COMMIT);
            assertThat(pulled.out().strip()).isEqualTo(snapshot.toString());
            assertThat(String.join("\n", pulled.err())).contains("downloading " + REPO).contains("100%")
                    .contains("qwen4j: " + REPO + " at " + COMMIT + ": 5 files");

            Golden g = Golden.load(Fixtures.tiny().resolve("golden.json")).stream()
                    .filter(c -> c.prompt().equals("answer") && c.weights().startsWith("F32/BF16")).findFirst().orElseThrow();
            Run gen = qwen4j(env, "generate", "-m", REPO, "-p", "The answer is", "-n", "8", "--json", "-t", "2");
            assertThat(gen.exit()).as("%s", gen.err()).isZero();
            JsonNode ids = new ObjectMapper().readTree(gen.out()).get("ids");
            int[] got = new int[ids.size()];
            for (int i = 0; i < got.length; i++) got[i] = ids.get(i).asInt();
            assertThat(got).containsExactly(Arrays.copyOf(g.greedyIds(), 8));

            Run missing = qwen4j(env, "tokenize", "-m", "Qwen/Qwen2.5-0.5B-Instruct", "hello");
            assertThat(missing.exit()).isEqualTo(Main.USER_ERROR);
            assertThat(missing.err()).hasSize(1);
            assertThat(missing.err().get(0)).startsWith("qwen4j: error: Qwen/Qwen2.5-0.5B-Instruct: no such file or folder")
                    .contains("download it with: bin/qwen4j pull Qwen/Qwen2.5-0.5B-Instruct");

            Run notFound = qwen4j(withToken, "pull", REPO, "--revision", "v9");
            assertThat(notFound.exit()).isEqualTo(Main.USER_ERROR);
            assertThat(notFound.err()).containsExactly("qwen4j: error: " + REPO + " at revision v9 on " + hub.endpoint()
                    + ": not found (HTTP 404, RevisionNotFound) (try 'qwen4j pull --help')");
        }
    }
}
