package qwen4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The tiled SIMD matmul of every float type against the scalar reference matmul and against the
 * exact (double) products, on shapes that are not multiples of any tile: token counts 1, 2, 3
 * (matvecs over cached row chunks), 2-8 (BF16 at 16 lanes: fused passes), 6, 13 (dot-product kernel; 13 at 16 lanes with columns of even
 * length: column pairs) and 16, 17, 26, 40, 41, 64 (token-vector kernel: column pairs or one token
 * vector at 16 lanes; padded blocks; a full block and a last block whose last pair of token vectors
 * is at most half full at 4, 8 or 16 lanes; two full blocks); rows and columns off the 4/8-row,
 * vector-width and tile sizes, of odd length (one token vector at 16 lanes) and even.
 */
class MatmulKernelsTest {
    static final int[] TOKENS = {1, 2, 3, 4, 5, 6, 8, 13, 16, 17, 26, 40, 41, 64};
    static final int[] ROWS = {1, 5, 13, 37};
    static final int[] COLS = {7, 17, 100, 257, 258};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (DType t : TestData.TYPES) for (int n : TOKENS) for (int r : ROWS) for (int c : COLS) out.add(Arguments.of(t, n, r, c));
        // rows longer than MatMul.LONG_ROW go in column slices: partial sums added up
        for (DType t : TestData.TYPES) out.add(Arguments.of(t, 6, 9, 2 * MatMul.SLICE + 37));
        for (DType t : TestData.TYPES) out.add(Arguments.of(t, 40, 19, 2 * MatMul.SLICE + 37));
        // even: the last block in column pairs at 16 lanes, its sums continued across slices
        for (DType t : TestData.TYPES) out.add(Arguments.of(t, 16, 19, 2 * MatMul.SLICE + 38));
        for (DType t : TestData.TYPES) out.add(Arguments.of(t, 40, 19, 2 * MatMul.SLICE + 38));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} n={1} {2}x{3}")
    @MethodSource("cases")
    void simdMatmulMatchesScalar(DType type, int n, int rows, int cols) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = TestData.randomTensor(arena, type, rows, cols, 131L * rows + cols + n);
            Matrix scalar = Matrices.of(t, Kernels.SCALAR);
            Matrix simd = Matrices.of(t, Kernels.SIMD);
            float[] x = TestData.randomVector(n * cols, 17L * n + cols);
            check(scalar, simd, x, n, rows, cols);
        }
    }

    /** Checks simd.matmul and scalar.matmul against the double products, full range and sub-ranges. */
    static void check(Matrix scalar, Matrix simd, float[] x, int n, int rows, int cols) {
        float[] want = new float[n * rows], got = new float[n * rows];
        scalar.matmul(x, n, want, 0, rows);
        simd.matmul(x, n, got, 0, rows);
        float[] w = new float[cols];
        double[] bounds = new double[n * rows];
        for (int r = 0; r < rows; r++) {
            scalar.row(r, w, 0);
            for (int tk = 0; tk < n; tk++) {
                double exact = 0, s = 0;
                for (int j = 0; j < cols; j++) {
                    exact += (double) w[j] * x[tk * cols + j];
                    s += Math.abs((double) w[j] * x[tk * cols + j]);
                }
                double bound = cols * 0x1p-24 * s + 1e-30;
                bounds[tk * rows + r] = bound;
                assertThat((double) got[tk * rows + r]).as("simd row %d token %d", r, tk).isCloseTo(exact, Offset.offset(bound));
                assertThat((double) want[tk * rows + r]).as("scalar row %d token %d", r, tk).isCloseTo(exact, Offset.offset(bound));
            }
        }
        // A result must not depend on which row range computes it (threads split rows): the same
        // products in the same order; only the lane sum (reduceLanes, whose order the JIT may
        // change between interpreted and compiled code) can move the last bit.
        int from = rows / 3;
        float[] part = new float[n * rows];
        simd.matmul(x, n, part, from, rows);
        for (int tk = 0; tk < n; tk++) {
            for (int r = from; r < rows; r++) {
                assertThat((double) part[tk * rows + r]).as("row %d token %d from %d", r, tk, from)
                        .isCloseTo(got[tk * rows + r], Offset.offset(2 * bounds[tk * rows + r]));
            }
        }
    }

    /** 2 tokens: matvecs; 9: dot-product kernel; 45: token vectors, x packed by both threads of the pool. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {2, 9, 45})
    void poolMatmul3MatchesSingleThread(int n) {
        try (Arena arena = Arena.ofShared(); WorkerPool one = new WorkerPool(1); WorkerPool two = new WorkerPool(2)) {
            int cols = 96;
            Matrix a = Matrices.of(TestData.randomTensor(arena, DType.BF16, 301, cols, 1), Kernels.SIMD);
            Matrix b = Matrices.of(TestData.randomTensor(arena, DType.F16, 45, cols, 2), Kernels.SIMD);
            Matrix c = Matrices.of(TestData.randomTensor(arena, DType.F32, 77, cols, 3), Kernels.SIMD);
            float[] x = TestData.randomVector(n * cols, 5);
            float[][] r1 = {new float[n * 301], new float[n * 45], new float[n * 77]};
            float[][] r2 = {new float[n * 301], new float[n * 45], new float[n * 77]};
            one.matmul3(a, r1[0], b, r1[1], c, r1[2], x, n);
            two.matmul3(a, r2[0], b, r2[1], c, r2[2], x, n);
            for (int i = 0; i < 3; i++) assertClose(r2[i], r1[i]);
            // and each equals the matrix's own matmul
            float[] direct = new float[n * 301];
            a.matmul(x, n, direct, 0, 301);
            assertClose(r1[0], direct);
            float[] two2 = new float[n * 45];
            two.matmul(b, x, n, two2);
            assertClose(two2, r1[1]);
        }
    }

    /**
     * BF16 and finite F16 fuse 2 to MatMul.FUSED_TOKENS_MAX tokens into four-row passes (past 4, passes of
     * 4 per row chunk): each token's products are bit for bit its matvec's. Columns off the vector width (tails),
     * a row range off the quarters and chunks, and one of fewer than four rows; rows wide enough that each chunk
     * is read first (MatMul.READ_FIRST_X_BYTES) and rows narrow enough that the passes read memory themselves.
     */
    @ParameterizedTest(name = "{0} {1} tokens")
    @org.junit.jupiter.params.provider.CsvSource({"BF16, 2", "BF16, 3", "BF16, 4", "BF16, 5", "BF16, 6", "BF16, 7", "BF16, 8",
            "BF16, 9", "BF16, 12", "BF16, 13", "BF16, 16",
            "F16, 2", "F16, 3", "F16, 4", "F16, 5", "F16, 6", "F16, 7", "F16, 8", "F16, 11", "F16, 16"})
    void fusedHalfTokensAreTheirMatvecs(DType type, int n) {
        for (int cols : new int[] {2055, 517}) fusedHalfTokensAreTheirMatvecs(type, n, cols);
    }

    private static void fusedHalfTokensAreTheirMatvecs(DType type, int n, int cols) {
        try (Arena arena = Arena.ofConfined()) {
            int rows = 301;
            assertThat(MatMul.readsFirst(n, cols)).as("%d columns read first", cols).isEqualTo(cols == 2055);
            Matrix m = Matrices.of(TestData.randomTensor(arena, type, rows, cols, 90 + n), Kernels.SIMD);
            boolean fuses = m instanceof SimdBF16Matrix b ? b.fusesTokens(n) : ((SimdF16Matrix) m).fusesTokens(n);
            org.junit.jupiter.api.Assumptions.assumeTrue(fuses, "no fused kernel at this vector width");
            float[] x = TestData.randomVector(n * cols, 91 + n);
            for (int[] range : new int[][] {{3, 298}, {0, rows}, {150, 152}}) {
                float[] got = new float[n * rows];
                m.matmul(x, n, got, range[0], range[1], new float[m.matmulScratch()]);
                for (int t = 0; t < n; t++) {
                    float[] alone = new float[rows];
                    m.matvec(java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), alone, 0, rows);
                    for (int r = 0; r < rows; r++) {
                        float want = r >= range[0] && r < range[1] ? alone[r] : 0f;
                        assertThat(got[t * rows + r]).as("%d columns, rows %s row %d token %d", cols, java.util.Arrays.toString(range), r, t).isEqualTo(want);
                    }
                }
            }
        }
    }

    /**
     * F32, and F16 with an Inf or NaN (finite F16 fuses them: above), take up to MatMul.MATVEC_TOKENS tokens
     * as matvecs over cached row chunks (faster than float tiles there): each token's products are bit for
     * bit its matvec's, over a row range many chunks long and off the chunk bounds.
     */
    @ParameterizedTest(name = "{0} {1} tokens")
    @org.junit.jupiter.params.provider.CsvSource({"F16, 2", "F16, 3", "F32, 2", "F32, 3"})
    void fewFloatTokensAreTheirMatvecs(DType type, int n) {
        try (Arena arena = Arena.ofConfined()) {
            int rows = 301, cols = 2055;
            Tensor w = TestData.randomTensor(arena, type, rows, cols, 95 + n);
            if (type == DType.F16) w.data().set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 2L * (7 * cols + 5), (short) 0x7C00); // +Inf
            Matrix m = Matrices.of(w, Kernels.SIMD);
            if (type == DType.F16) assertThat(((SimdF16Matrix) m).fusesTokens(n)).as("F16 with an Inf fuses no tokens").isFalse();
            float[] x = TestData.randomVector(n * cols, 96 + n), got = new float[n * rows];
            m.matmul(x, n, got, 3, 298, new float[m.matmulScratch()]);
            for (int t = 0; t < n; t++) {
                float[] alone = new float[rows];
                m.matvec(java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), alone, 0, rows);
                for (int r = 0; r < rows; r++) {
                    float want = r >= 3 && r < 298 ? alone[r] : 0f;
                    assertThat(got[t * rows + r]).as("row %d token %d", r, t).isEqualTo(want);
                }
            }
        }
    }

    /** Equal up to what a JIT-dependent lane-sum order can move (relative to the largest entry). */
    static void assertClose(float[] got, float[] want) {
        assertThat(got).hasSameSizeAs(want);
        float max = 0;
        for (float v : want) max = Math.max(max, Math.abs(v));
        for (int i = 0; i < got.length; i++) {
            assertThat(got[i]).as("element %d", i).isCloseTo(want[i], Offset.offset(1e-5f * max + 1e-30f));
        }
    }

    /** The prefetching touch reads one byte per 64 and the last, inside the range, nothing when empty. */
    @Test
    void touchReadsOneBytePerCacheLineWithinTheRange() {
        java.lang.foreign.MemorySegment seg = java.lang.foreign.MemorySegment.ofArray(new byte[300]);
        for (int i = 0; i < 300; i++) seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (i % 7 + 1));
        // bytes 10, 74, 138 of the range [10, 10 + 150) and its last byte, 159
        int expected = (10 % 7 + 1) + (74 % 7 + 1) + (138 % 7 + 1) + (159 % 7 + 1);
        assertThat(MatMul.touch(seg, 10, 150)).isEqualTo(expected);
        assertThat(MatMul.touch(seg, 299, 1)).isEqualTo(2 * (299 % 7 + 1));
        assertThat(MatMul.touch(seg, 300, 0)).isZero();
    }

    /** The fused products' chunk read takes one long at every 64th byte whose 8 bytes lie inside the range, none past its end. */
    @Test
    void touchLinesReadsOneLongPerCacheLineAndNothingPastTheEnd() {
        try (Arena arena = Arena.ofConfined()) {
            java.lang.foreign.MemorySegment seg = arena.allocate(256, 64);
            java.lang.foreign.ValueLayout.OfLong at = java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
            for (int i = 0; i < 32; i++) seg.set(at, 8L * i, 1L << i); // a distinct bit per 8-byte word
            long a = seg.address();
            long words0to3 = 1L | 1L << 8 | 1L << 16 | 1L << 24; // the longs at bytes 0, 64, 128, 192
            assertThat(MatMul.touchLines(a, 200)).as("192 + 8 <= 200: the long at 192 is inside").isEqualTo(words0to3);
            assertThat(MatMul.touchLines(a, 199)).as("the long at 192 would pass the end").isEqualTo(words0to3 & ~(1L << 24));
            assertThat(MatMul.touchLines(a + 8, 64)).as("from byte 8: the longs at 8 and none at 72").isEqualTo(1L << 1);
            assertThat(MatMul.touchLines(a, 7)).isZero();
            assertThat(MatMul.touchLines(a, 0)).isZero();
        }
    }

    /**
     * Token vectors over three column slices, split by the pool's threads into row chunks: each
     * thread keeps its partial sums between slices, and every result is the same FMA chain
     * whatever chunk computed it, so two threads give exactly the single-threaded result (the
     * last tile of 301 rows has 8 + 5 rows; 45 tokens leave a half-full token block).
     */
    @Test
    void tokenVectorsOverSeveralSlicesAreExactAcrossThreads() {
        try (Arena arena = Arena.ofShared(); WorkerPool one = new WorkerPool(1); WorkerPool two = new WorkerPool(2)) {
            int rows = 301, cols = 2 * MatMul.SLICE + 37, n = 45;
            Matrix a = Matrices.of(TestData.randomTensor(arena, DType.BF16, rows, cols, 7), Kernels.SIMD);
            float[] x = TestData.randomVector(n * cols, 8);
            float[] r1 = new float[n * rows], r2 = new float[n * rows];
            one.matmul(a, x, n, r1);
            two.matmul(a, x, n, r2);
            assertThat(r2).containsExactly(r1);
            // and against the scalar kernel (different order: within the rounding bound)
            float[] want = new float[n * rows];
            Matrices.of(TestData.randomTensor(arena, DType.BF16, rows, cols, 7), Kernels.SCALAR).matmul(x, n, want, 0, rows);
            assertClose(r1, want);
        }
    }
}
