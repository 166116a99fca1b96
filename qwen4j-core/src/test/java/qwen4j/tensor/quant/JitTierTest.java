package qwen4j.tensor.quant;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import qwen4j.tensor.DType;

/**
 * A quantized matvec, and a few tokens' product (batched decode: the fused kernels at 16 lanes), have the same
 * bits whichever JIT tier computes them: the first call of a freshly loaded kernel class runs in the
 * interpreter (each Vector API operation its Java fallback), later calls in C2's code. A lane sum whose order
 * differs between the two (reduceLanes(ADD): lane after lane in the fallback, halves in C2) made a row's last
 * bits depend on when the JIT got to its kernel. The kernels load here in a class loader of their own, so that
 * nothing has compiled them yet.
 */
class JitTierTest {
    static final int ROWS = 11, COLS = 512, CALLS = 12_000;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void interpretedAndCompiledKernelsAgree(DType type) throws Throwable {
        MemorySegment w = RandomBlocks.allocate(type, ROWS, COLS, 31 + type.ordinal());
        float[] x = RandomBlocks.vector(COLS, 32);
        Fresh fresh = new Fresh(type, w);
        float[] first = new float[ROWS], later = new float[ROWS];
        fresh.matvec(x, first);
        for (int i = 0; i < CALLS; i++) fresh.matvec(x, later);
        for (int i = 0; i < ROWS; i++) {
            assertThat(Float.floatToRawIntBits(later[i])).as("%s row %d: %s first, %s after %d calls", type, i, first[i], later[i], CALLS)
                    .isEqualTo(Float.floatToRawIntBits(first[i]));
        }
    }

    /** 2, 3, 4 and 8 tokens: the fused kernel's pairs and fours, and two groups of four. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_0", "Q8_0"})
    void interpretedAndCompiledFewTokenProductsAgree(DType type) throws Throwable {
        MemorySegment w = RandomBlocks.allocate(type, ROWS, COLS, 41 + type.ordinal());
        Fresh fresh = new Fresh(type, w);
        for (int n : new int[] {2, 3, 4, 8}) {
            float[] x = RandomBlocks.vector(n * COLS, 42 + n);
            float[] first = new float[n * ROWS], later = new float[n * ROWS];
            fresh.matmul(x, n, first);
            for (int i = 0; i < CALLS / n; i++) fresh.matmul(x, n, later);
            for (int i = 0; i < n * ROWS; i++) {
                assertThat(Float.floatToRawIntBits(later[i])).as("%s x %d tokens, token %d row %d: %s first, %s after %d calls",
                        type, n, i / ROWS, i % ROWS, first[i], later[i], CALLS / n).isEqualTo(Float.floatToRawIntBits(first[i]));
            }
        }
    }

    /** The kernels of this build, loaded anew (none of their methods has run, so none is compiled). */
    private static final class Fresh {
        private final Object matrix;
        private final MethodHandle matvec, matmul;
        private final float[] scratch;

        @SuppressWarnings({"unchecked", "rawtypes"})
        Fresh(DType type, MemorySegment w) throws Throwable {
            String path = System.getProperty("qwen4j.tier.classpath",
                    Path.of(QuantMatrix.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
            URLClassLoader loader = new URLClassLoader(new URL[] {Path.of(path).toUri().toURL()}, ClassLoader.getPlatformClassLoader());
            Class<?> dt = loader.loadClass("qwen4j.tensor.DType"), kernels = loader.loadClass("qwen4j.tensor.Kernels");
            Class<?> qm = loader.loadClass("qwen4j.tensor.quant.QuantMatrix");
            assertThat(qm).isNotSameAs(QuantMatrix.class);
            matrix = qm.getMethod("of", dt, MemorySegment.class, int.class, int.class, kernels)
                    .invoke(null, Enum.valueOf((Class) dt, type.name()), w, ROWS, COLS, Enum.valueOf((Class) kernels, "SIMD"));
            var lookup = MethodHandles.privateLookupIn(qm, MethodHandles.lookup());
            matvec = lookup.findVirtual(qm, "matvec", MethodType.methodType(void.class, float[].class, float[].class, int.class, int.class));
            matmul = lookup.findVirtual(qm, "matmul",
                    MethodType.methodType(void.class, float[].class, int.class, float[].class, int.class, int.class, float[].class));
            scratch = new float[(int) qm.getMethod("matmulScratch").invoke(matrix)];
        }

        /** out = the matrix times n tokens' x (row-major, token after token): rows 3 .. ROWS, then 0 .. 3. */
        void matmul(float[] x, int n, float[] out) throws Throwable {
            matmul.invoke(matrix, x, n, out, 3, ROWS, scratch);
            matmul.invoke(matrix, x, n, out, 0, 3, scratch);
        }

        /** out = the matrix times x: rows 3 .. ROWS in fours, rows 0 .. 3 as a pair and one alone (each its own kernel). */
        void matvec(float[] x, float[] out) throws Throwable {
            matvec.invoke(matrix, x, out, 3, ROWS);
            matvec.invoke(matrix, x, out, 0, 3);
        }
    }
}
