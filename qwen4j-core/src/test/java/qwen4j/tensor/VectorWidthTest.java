package qwen4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/**
 * The surefire executions for other vector widths (pom: avx2, vector128) set
 * {@code qwen4j.expect.lanes}: this checks their JVM flags took effect, so those runs really test
 * 8 and 4 float lanes and not this machine's 16 again.
 */
class VectorWidthTest {
    @Test
    void runsAtTheWidthTheExecutionAsksFor() {
        String expected = System.getProperty("qwen4j.expect.lanes");
        assumeTrue(expected != null, "no width expected in this execution");
        String arch = System.getProperty("os.arch");
        assumeTrue(arch.equals("amd64") || arch.equals("x86_64"), "the width flags are x86 ones");
        assertThat(VectorSupport.LANES).isEqualTo(Integer.parseInt(expected));
        assertThat(VectorSupport.usable()).as(String.valueOf(VectorSupport.reason())).isTrue();
        assertThat(Kernels.SIMD.usable()).isEqualTo(Kernels.SIMD);
        assertThat(Simd.L).isEqualTo(VectorSupport.LANES);
    }
}
