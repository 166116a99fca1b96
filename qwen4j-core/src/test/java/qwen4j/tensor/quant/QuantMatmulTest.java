package qwen4j.tensor.quant;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.assertj.core.data.Offset;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/**
 * Quantized batched products: SIMD decode is bit-exact, the tiled matmul matches the reference (token
 * counts covering the matvec, dot-product and token-vector ways of MatMul).
 */
class QuantMatmulTest {
    static final DType[] TYPES = {DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q5_K, DType.Q6_K, DType.Q5_0};

    static Stream<Arguments> shapes() {
        List<Arguments> out = new ArrayList<>();
        for (DType t : TYPES) {
            int[] colsList = t.blockSize() == 32 ? new int[] {32, 96, 288} : new int[] {256, 512};
            for (int cols : colsList) for (int rows : new int[] {1, 7, 21}) for (int n : new int[] {1, 2, 3, 6, 9, 12, 13, 16, 17, 40, 64}) {
                out.add(Arguments.of(t, n, rows, cols));
            }
        }
        // long rows: decoded and multiplied in column slices
        for (DType t : TYPES) out.add(Arguments.of(t, 5, 6, 4608));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} n={1} {2}x{3}")
    @MethodSource("shapes")
    void simdMatmulMatchesScalar(DType t, int n, int rows, int cols) {
        long seed = t.ordinal() * 1_000_003L + rows * 7919L + cols + n;
        MemorySegment seg = RandomBlocks.allocate(t, rows, cols, seed);
        float[] x = RandomBlocks.vector(n * cols, seed + 1);
        QuantMatrix scalar = QuantMatrix.of(t, seg, rows, cols, Kernels.SCALAR);
        QuantMatrix simd = QuantMatrix.of(t, seg, rows, cols, Kernels.SIMD);
        float[] a = new float[cols + 3], b = new float[cols + 3];
        for (int r = 0; r < rows; r++) {
            scalar.row(r, a, 3 - r % 3);
            simd.decodeRow(r, b, 3 - r % 3);
            assertThat(b).as("decoded row %d", r).isEqualTo(a);
        }
        float[] want = new float[n * rows], got = new float[n * rows];
        scalar.matmul(x, n, want, 0, rows);
        simd.matmul(x, n, got, 0, rows);
        float[] w = new float[cols];
        for (int r = 0; r < rows; r++) {
            scalar.row(r, w, 0);
            for (int k = 0; k < n; k++) {
                double exact = 0, s = 0;
                for (int j = 0; j < cols; j++) {
                    exact += (double) w[j] * x[k * cols + j];
                    s += Math.abs((double) w[j] * x[k * cols + j]);
                }
                double bound = cols * 0x1p-24 * s + 1e-30;
                assertThat((double) got[k * rows + r]).as("simd row %d token %d", r, k).isCloseTo(exact, Offset.offset(bound));
                assertThat((double) want[k * rows + r]).as("scalar row %d token %d", r, k).isCloseTo(exact, Offset.offset(bound));
            }
        }
    }

    /**
     * Up to MatMul.MATVEC_TOKENS tokens, each token's products are its matvec's: over rows many row
     * chunks long, within a row range, the same values as the matvec of that token alone.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void fewTokensAreTheirMatvecs(DType t) {
        int cols = t.blockSize() == 32 ? 2048 : 2560;
        QuantMatrix simd = QuantMatrix.of(t, RandomBlocks.allocate(t, 601, cols, 77), 601, cols, Kernels.SIMD);
        assertTokensAreTheirMatvecs(simd, qwen4j.tensor.MatMul.MATVEC_TOKENS, 5, 597, 78);
    }

    /**
     * Where a type fuses a few tokens into one pass over its blocks (Q4_0 and Q8_0 at 16 lanes, 2 to
     * MatMul.FUSED_QUANT_TOKENS_MAX tokens), each token's products are still its matvec's: four rows x 2 or 4 tokens per pass (the last
     * token repeated past n; past 4 tokens, passes of 4 per row chunk), an odd row range, two rows.
     */
    @ParameterizedTest(name = "{0} {1} tokens")
    @org.junit.jupiter.params.provider.CsvSource({"Q4_0, 2", "Q4_0, 3", "Q4_0, 4", "Q4_0, 5", "Q4_0, 7", "Q4_0, 8",
        "Q8_0, 2", "Q8_0, 3", "Q8_0, 4", "Q8_0, 5", "Q8_0, 7", "Q8_0, 8"})
    void fusedTokensAreTheirMatvecs(DType type, int n) {
        QuantMatrix simd = QuantMatrix.of(type, RandomBlocks.allocate(type, 301, 2048, 79), 301, 2048, Kernels.SIMD);
        org.junit.jupiter.api.Assumptions.assumeTrue(simd.fusesTokens(n), "no fused kernel at this vector width");
        assertTokensAreTheirMatvecs(simd, n, 3, 298, 80 + n);
        assertTokensAreTheirMatvecs(simd, n, 5, 7, 90 + n); // fewer than four rows
    }

    /** simd.matmul of n random tokens over rows [from, to) against each token's matvec alone. */
    private static void assertTokensAreTheirMatvecs(QuantMatrix simd, int n, int from, int to, long seed) {
        int rows = simd.rows(), cols = simd.cols();
        float[] x = RandomBlocks.vector(n * cols, seed);
        float[] got = new float[n * rows];
        simd.matmul(x, n, got, from, to, new float[simd.matmulScratch()]);
        float[] w = new float[cols];
        for (int k = 0; k < n; k++) {
            float[] xk = java.util.Arrays.copyOfRange(x, k * cols, (k + 1) * cols), alone = new float[rows];
            simd.matvec(xk, alone, 0, rows);
            for (int r = 0; r < rows; r++) {
                float want = r >= from && r < to ? alone[r] : 0f;
                // the matvec kernels' values; which kernel of a type (rows in fours, pairs or alone)
                // computed a row may move rounding, within the float32 bound of the sum
                simd.row(r, w, 0);
                double s = 0;
                for (int j = 0; j < cols; j++) s += Math.abs((double) w[j] * xk[j]);
                assertThat((double) got[k * rows + r]).as("row %d token %d", r, k).isCloseTo(want, Offset.offset(4 * 0x1p-24 * s + 1e-30));
            }
        }
    }

    /**
     * Q6_K's matvec takes rows four at a time, and two or one in the slots of the same four-row kernel
     * (repeated): each row's values are the same bits whichever way and in whichever slot, over row ranges
     * of 1 to 9 rows at every offset of a 23-row matrix.
     */
    @org.junit.jupiter.api.Test
    void q6kRowsDoNotDependOnTheirGroup() {
        int rows = 23, cols = 256 * 11;
        QuantMatrix simd = QuantMatrix.of(DType.Q6_K, RandomBlocks.allocate(DType.Q6_K, rows, cols, 91), rows, cols, Kernels.SIMD);
        float[] x = RandomBlocks.vector(cols, 92), all = new float[rows];
        simd.matvec(x, all, 0, rows);
        for (int n = 1; n <= 9; n++) {
            for (int from = 0; from + n <= rows; from++) {
                float[] part = new float[rows];
                simd.matvec(x, part, from, from + n);
                assertThat(java.util.Arrays.copyOfRange(part, from, from + n)).as("rows %d..%d", from, from + n)
                        .isEqualTo(java.util.Arrays.copyOfRange(all, from, from + n));
            }
        }
    }

    static Stream<DType> types() { return Stream.of(TYPES); }
}
