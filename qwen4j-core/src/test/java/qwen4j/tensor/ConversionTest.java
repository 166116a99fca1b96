package qwen4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** BF16 and F16 to float, every one of the 65536 bit patterns, in both kernels. */
class ConversionTest {
    static float reference(DType type, int bits) {
        return type == DType.BF16 ? Float.intBitsToFloat(bits << 16) : Float.float16ToFloat((short) bits);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void allBitPatternsConvertExactly(DType type) {
        // 65536 + 5 columns so the last few go through the scalar tail too; 2 rows, the second
        // shifted by 5, so every pattern is seen by the vector path and the tail.
        int cols = 65536 + 5;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(2L * cols * 2);
            for (int r = 0; r < 2; r++) {
                for (int j = 0; j < cols; j++) seg.set(TestData.LE_SHORT, 2L * (r * cols + j), (short) (j + 5 * r));
            }
            Tensor t = new Tensor("all", type, new long[] {2, cols}, seg, "test");
            for (Kernels k : Kernels.values()) {
                Matrix m = Matrices.of(t, k);
                float[] row = new float[cols];
                for (int r = 0; r < 2; r++) {
                    m.row(r, row, 0);
                    for (int j = 0; j < cols; j++) {
                        int bits = (j + 5 * r) & 0xFFFF;
                        float want = reference(type, bits);
                        if (Float.floatToRawIntBits(row[j]) != Float.floatToRawIntBits(want)) {
                            throw new AssertionError(String.format("%s %s: 0x%04x -> %s (0x%08x), want %s (0x%08x)",
                                    type, k, bits, row[j], Float.floatToRawIntBits(row[j]), want,
                                    Float.floatToRawIntBits(want)));
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void matvecWithOneHotXSeesEveryValue(DType type) {
        // The matvec path converts too: with x = e_k every row's dot is its element k (x 1, + 0s).
        // Rows are patterns; NaN/inf rows are skipped (0 * inf = NaN would pollute the sum).
        int cols = 48;
        int rows = 65536 / cols + 1;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate((long) rows * cols * 2);
            for (int i = 0; i < rows * cols; i++) seg.set(TestData.LE_SHORT, 2L * i, (short) i);
            Tensor t = new Tensor("all", type, new long[] {rows, cols}, seg, "test");
            Matrix m = Matrices.of(t, Kernels.SIMD);
            float[] out = new float[rows];
            for (int k = 0; k < cols; k++) {
                float[] x = new float[cols];
                x[k] = 1f;
                m.matvec(x, out, 0, rows);
                for (int r = 0; r < rows; r++) {
                    boolean finiteRow = true;
                    for (int j = 0; j < cols; j++) {
                        if (!Float.isFinite(reference(type, (r * cols + j) & 0xFFFF))) finiteRow = false;
                    }
                    if (!finiteRow) continue;
                    float want = reference(type, (r * cols + k) & 0xFFFF) + 0f; // -0 + 0 = +0
                    assertThat(out[r]).as("row %d col %d", r, k).isEqualTo(want);
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void compiledConversionLoopMatchesFloat16ToFloatBitForBit() {
        // SimdF16Matrix converts rows with a loop that C2 auto-vectorizes (vcvtph2ps); run it until
        // it is compiled, then every half, NaN payloads included, must convert exactly as
        // Float.float16ToFloat does.
        int cols = 65536;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(2L * cols);
            for (int j = 0; j < cols; j++) seg.set(TestData.LE_SHORT, 2L * j, (short) j);
            Matrix m = Matrices.of(new Tensor("all", DType.F16, new long[] {1, cols}, seg, "test"), Kernels.SIMD);
            float[] row = new float[cols];
            for (int it = 0; it < 300; it++) m.row(0, row, 0);
            for (int j = 0; j < cols; j++) {
                assertThat(Float.floatToRawIntBits(row[j])).as("half 0x%04x", j)
                        .isEqualTo(Float.floatToRawIntBits(Float.float16ToFloat((short) j)));
            }
        }
    }

    @org.junit.jupiter.api.Test
    void finiteHalvesTakeTheFiniteKernelWithTheSameValues() {
        // Every finite half (exponent < 31) as a weight: the view is the Finite kernel, and with
        // x = e_k each row's dot is exactly its element k, as Float.float16ToFloat gives it
        // (65 rows: the halves pairing and the leftover row).
        int cols = 1000;
        int[] finite = java.util.stream.IntStream.range(0, 65536).filter(b -> (b & 0x7C00) != 0x7C00).toArray();
        int rows = (finite.length + cols - 1) / cols;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate((long) rows * cols * 2);
            for (int i = 0; i < rows * cols; i++) seg.set(TestData.LE_SHORT, 2L * i, (short) finite[i % finite.length]);
            Matrix m = Matrices.of(new Tensor("finite", DType.F16, new long[] {rows, cols}, seg, "test"), Kernels.SIMD);
            assertThat(m).isInstanceOf(SimdF16Matrix.Finite.class);
            float[] out = new float[rows];
            for (int k : new int[] {0, 1, 15, 16, 17, 500, 991, 992, 999}) {
                float[] x = new float[cols];
                x[k] = 1f;
                m.matvec(x, out, 0, rows);
                for (int r = 0; r < rows; r++) {
                    float want = Float.float16ToFloat((short) finite[(r * cols + k) % finite.length]) + 0f;
                    assertThat(out[r]).as("row %d col %d", r, k).isEqualTo(want);
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void anInfinityInARowGivesInfinity() {
        int rows = 4, cols = 32;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate((long) rows * cols * 2);
            for (int i = 0; i < rows * cols; i++) seg.set(TestData.LE_SHORT, 2L * i, Float.floatToFloat16(0.5f));
            seg.set(TestData.LE_SHORT, 2L * (2 * cols + 7), (short) 0x7C00); // +Inf in row 2
            Matrix m = Matrices.of(new Tensor("inf", DType.F16, new long[] {rows, cols}, seg, "test"), Kernels.SIMD);
            assertThat(m).isNotInstanceOf(SimdF16Matrix.Finite.class);
            float[] x = new float[cols], out = new float[rows];
            java.util.Arrays.fill(x, 1f);
            m.matvec(x, out, 0, rows);
            assertThat(out).containsExactly(16f, 16f, Float.POSITIVE_INFINITY, 16f);
        }
    }
}
