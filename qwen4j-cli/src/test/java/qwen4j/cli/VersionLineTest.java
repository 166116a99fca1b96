package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import qwen4j.tensor.VectorSupport;

/** {@code --version} and the first line of {@code --help} name the vector width the kernels run at. */
class VersionLineTest {
    private static String run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        assertThat(Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args)).isZero();
        return out.toString();
    }

    @Test
    void versionAndHelpNameTheVectorWidth() {
        String version = run("--version").strip();
        assertThat(version).startsWith("qwen4j 0.1.0 (Java " + Runtime.version().feature() + ".");
        if (VectorSupport.usable()) {
            assertThat(version).endsWith("kernels: SIMD " + VectorSupport.BITS + "-bit, " + VectorSupport.LANES + " float lanes"
                    + (System.getProperty("os.arch").equals("amd64") ? switch (VectorSupport.BITS) {
                        case 512 -> " (AVX-512)";
                        case 256 -> " (AVX2)";
                        default -> " (SSE/AVX)";
                    } : ""));
            assertThat(run("--help").lines().findFirst()).hasValue(version); // fits the help's 80 columns
        } else {
            assertThat(version).endsWith("kernels: scalar (" + VectorSupport.reason() + ")");
        }
    }
}
