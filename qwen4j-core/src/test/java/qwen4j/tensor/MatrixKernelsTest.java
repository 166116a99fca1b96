package qwen4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Every SIMD matvec against its scalar twin, on sizes that exercise every tail. */
class MatrixKernelsTest {
    static final int[] COLS = {1, 7, 15, 16, 17, 33, 100, 257, 1000};
    static final int[] ROWS = {1, 3, 5, 6, 13, 37};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (DType t : TestData.TYPES) for (int c : COLS) for (int r : ROWS) out.add(Arguments.of(t, r, c));
        return out.stream();
    }

    /**
     * Both kernels sum the same exact-in-float products w*x in different orders (the scalar one
     * rounds each product, the SIMD one fuses it). Each result is within gamma_n * S of the exact
     * dot, S = sum |w x|, gamma_n ~ n * 2^-24 (recursive summation bound, n terms); so they are
     * within 2 * n * 2^-24 * S of each other. Checked against a double reference as well.
     */
    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("cases")
    void simdMatvecMatchesScalar(DType type, int rows, int cols) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = TestData.randomTensor(arena, type, rows, cols, 31L * rows + cols);
            Matrix scalar = Matrices.of(t, Kernels.SCALAR);
            Matrix simd = Matrices.of(t, Kernels.SIMD);
            assertThat(simd.getClass()).isNotEqualTo(scalar.getClass());
            assertThat(simd.type()).isEqualTo(type);
            assertThat(simd.byteSize()).isEqualTo(scalar.byteSize());
            float[] x = TestData.randomVector(cols + 3, cols); // longer than cols: only cols are used
            float[] want = new float[rows], got = new float[rows];
            scalar.matvec(x, want, 0, rows);
            simd.matvec(x, got, 0, rows);
            float[] w = new float[cols];
            for (int r = 0; r < rows; r++) {
                scalar.row(r, w, 0);
                double exact = 0, s = 0;
                for (int j = 0; j < cols; j++) {
                    exact += (double) w[j] * x[j];
                    s += Math.abs((double) w[j] * x[j]);
                }
                double bound = cols * 0x1p-24 * s;
                assertThat((double) got[r]).as("row %d vs double", r).isCloseTo(exact, org.assertj.core.data.Offset.offset(bound + 1e-30));
                assertThat((double) got[r]).as("row %d vs scalar", r).isCloseTo(want[r], org.assertj.core.data.Offset.offset(2 * bound + 1e-30));
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("cases")
    void simdRowAndSubrangesAreExact(DType type, int rows, int cols) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = TestData.randomTensor(arena, type, rows, cols, 7L * rows + cols);
            Matrix scalar = Matrices.of(t, Kernels.SCALAR);
            Matrix simd = Matrices.of(t, Kernels.SIMD);
            float[] a = new float[cols + 2], b = new float[cols + 2];
            for (int r = 0; r < rows; r++) {
                scalar.row(r, a, 1);
                simd.row(r, b, 1);
                assertThat(b).isEqualTo(a);
            }
            // A row's result must not depend on which range (and so which row group) computes it.
            float[] x = TestData.randomVector(cols, 99);
            float[] whole = new float[rows];
            simd.matvec(x, whole, 0, rows);
            for (int from = 0; from < rows; from++) {
                float[] part = new float[rows];
                simd.matvec(x, part, from, rows);
                for (int r = from; r < rows; r++) {
                    assertThat(Float.floatToRawIntBits(part[r])).as("row %d from %d", r, from)
                            .isEqualTo(Float.floatToRawIntBits(whole[r]));
                }
                for (int r = 0; r < from; r++) assertThat(part[r]).isZero();
            }
        }
    }
}
