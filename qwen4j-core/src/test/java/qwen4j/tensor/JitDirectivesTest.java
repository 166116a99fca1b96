package qwen4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The JIT hints of config/jvm.flags reach JVMs started without them (an application using qwen4j as a library). */
class JitDirectivesTest {
    @Test
    void everyInlineHintOfTheFlagsFileIsPackaged() throws Exception {
        List<String> commands = JitDirectives.compileCommands();
        assertThat(commands).contains("inline,qwen4j.tensor.Simd*::*", "dontinline,qwen4j.tensor.LaneSums::sums",
                "dontinline,qwen4j.tensor.SimdBF16Matrix::matvec");
    }

    @Test
    void exclusionsComeBeforeTheForcedInlineTheyNarrow() {
        String d = JitDirectives.directives(List.of("inline,qwen4j.tensor.Simd*::*", "dontinline,qwen4j.tensor.SimdF32Matrix::matvec"));
        assertThat(d).isEqualTo("[{ match: \"*.*\", inline: [\"-qwen4j/tensor/SimdF32Matrix.matvec\", \"+qwen4j/tensor/Simd*.*\"] }]\n");
    }

    /** In the zero-allocation-library execution (no hints on the command line) they are installed. */
    @Test
    void installReportsWhatItDid() {
        JitDirectives.install();
        String expected = System.getProperty("qwen4j.expect.jit", "given on the command line");
        assertThat(JitDirectives.outcome()).startsWith(expected);
    }
}
