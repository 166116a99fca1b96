package qwen4j.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import qwen4j.tensor.DType;

/**
 * A conversion interrupted by Ctrl-C (SIGINT) or a TERM signal leaves no ".NAME.PID.partial" file
 * behind (issue 18 item 14): a child JVM writes a GGUF whose tensor source blocks once the partial
 * file exists; the test signals it and looks at the folder.
 */
class ConvertInterruptTest {

    /** The child: writes OUT with one tensor whose rows never finish, after saying so on stdout. */
    public static void main(String[] args) {
        new GgufWriter().putString("general.architecture", "qwen2")
                .addTensor("t", DType.F32, new long[] {4, 32}, (from, to, dst) -> {
                    System.out.println("writing");
                    System.out.flush();
                    try {
                        Thread.sleep(120_000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                })
                .write(Path.of(args[0]), false, b -> {});
    }

    @ParameterizedTest
    @ValueSource(strings = {"INT", "TERM"})
    void signalRemovesThePartialFile(String signal, @TempDir Path dir) throws Exception {
        // A build started in the background by a non-interactive shell inherits SIGINT ignored, and so
        // does the child: the JVM keeps an ignored INT ignored (no shutdown, the test would time out).
        org.junit.jupiter.api.Assumptions.assumeFalse(signal.equals("INT") && sigintIgnored(),
                "SIGINT is ignored in this process (started in the background), so in the child too");
        Path out = dir.resolve("model.gguf");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                ConvertInterruptTest.class.getName(), out.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (var in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(in.readLine()).isEqualTo("writing");
            assertThat(partials(dir)).as("the partial file exists while writing").hasSize(1);
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start();
            assertThat(kill.waitFor()).isZero();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            p.destroyForcibly();
        }
        assertThat(partials(dir)).isEmpty();
        assertThat(out).doesNotExist();
    }

    /** Whether this process ignores SIGINT (Linux: the SigIgn mask of /proc/self/status; elsewhere: no). */
    private static boolean sigintIgnored() throws Exception {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) return false;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("SigIgn:")) return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & (1L << (2 - 1))) != 0;
        }
        return false;
    }

    private static List<Path> partials(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> f.getFileName().toString().endsWith(".partial")).toList();
        }
    }
}
