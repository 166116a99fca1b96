package qwen4j.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.Qwen4jException;

/**
 * An application that embeds the library but starts its JVM without the Vector API module gets a
 * {@link Qwen4jException} from {@link Qwen#load} naming the options to add, not a
 * NoClassDefFoundError from inside the kernels (run in a child JVM started without the module).
 */
class JvmRequirementsTest {

    /** The child JVM's program: loads the tiny fixture and prints what came out of {@code Qwen.load}. */
    public static final class LoadWithoutModule {
        public static void main(String[] args) {
            try (Qwen q = Qwen.load(Path.of(args[0]))) {
                System.out.println("loaded");
            } catch (Throwable e) {
                System.out.println(e.getClass().getName() + ": " + e.getMessage());
            }
        }
    }

    @Test
    void loadWithoutTheVectorModuleThrowsAOneLineQwen4jException() throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LoadWithoutModule.class.getName(),
                Fixtures.tiny().resolve("tiny-Q4_0.gguf").toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out.strip()).startsWith(Qwen4jException.class.getName() + ": ")
                .contains("without the Vector API module").contains("--add-modules jdk.incubator.vector")
                .doesNotContain("\n");
    }
}
