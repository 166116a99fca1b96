package qwen4j.tensor.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import qwen4j.Qwen4jException;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/** SIMD against the scalar reference on random blocks and many shapes. */
class QuantMatrixRandomTest {

    static final DType[] TYPES = {DType.Q8_0, DType.Q4_0, DType.Q4_1, DType.Q5_0, DType.Q5_1,
        DType.Q2_K, DType.Q3_K, DType.Q4_K, DType.Q5_K, DType.Q6_K};

    static Stream<Arguments> shapes() {
        List<Arguments> out = new ArrayList<>();
        for (DType t : TYPES) {
            int[] colsList = t.blockSize() == 32 ? new int[] {32, 64, 288, 896, 1024, 1568} : new int[] {256, 512, 2304};
            for (int cols : colsList) {
                // 2, 3: the two-row kernel; 4, 7, 13: the four-row pass (quarters, then the last four again)
                for (int rows : new int[] {1, 2, 3, 4, 7, 13}) out.add(Arguments.of(t, rows, cols));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("shapes")
    void simdAgreesWithScalar(DType t, int rows, int cols) {
        long seed = t.ordinal() * 1_000_003L + rows * 7919L + cols;
        MemorySegment seg = RandomBlocks.allocate(t, rows, cols, seed);
        float[] x = RandomBlocks.vector(cols, seed + 1);
        QuantMatrix scalar = QuantMatrix.of(t, seg, rows, cols, Kernels.SCALAR);
        QuantMatrix simd = QuantMatrix.of(t, seg, rows, cols, Kernels.SIMD);
        assertThat(simd.isSimd()).isTrue();
        float[] a = new float[rows], b = new float[rows];
        scalar.matvec(x, a, 0, rows);
        simd.matvec(x, b, 0, rows);
        float[] w = new float[cols];
        double[] tols = new double[rows];
        for (int r = 0; r < rows; r++) {
            scalar.row(r, w, 0);
            double s = 0, exact = 0;
            for (int j = 0; j < cols; j++) {
                s += Math.abs((double) w[j] * x[j]);
                exact += (double) w[j] * x[j];
            }
            double tol = QuantMatrixFixtureTest.bound(cols, s);
            tols[r] = tol;
            assertThat(Math.abs(a[r] - exact)).as("scalar row " + r).isLessThanOrEqualTo(tol + 1e-3 * tol);
            assertThat(Math.abs(b[r] - exact)).as("SIMD row " + r).isLessThanOrEqualTo(tol + 1e-3 * tol);
            assertThat(Math.abs((double) a[r] - b[r])).as("SIMD vs scalar row " + r).isLessThanOrEqualTo(2 * tol);
        }
        // A row's operations do not depend on how rows are grouped into passes, but the same kernel can
        // differ in the last bits between calls: reduceLanes may add lanes in another order once C2
        // has compiled it (and more so where a block offset is folded out and cancels). So the
        // regrouped results are compared within the lane-reordering bound, not for bit equality.
        // a sub-range writes only its rows
        if (rows > 2) {
            float[] c = new float[rows];
            java.util.Arrays.fill(c, Float.NaN);
            simd.matvec(x, c, 1, rows - 1);
            assertThat(c[0]).isNaN();
            assertThat(c[rows - 1]).isNaN();
            for (int r = 1; r < rows - 1; r++) {
                assertThat(Math.abs((double) c[r] - b[r])).as("sub-range row " + r).isLessThanOrEqualTo(tols[r]);
            }
        }
        // rows are independent of their neighbours and of the pass that ran them: a one-row view at an
        // offset (the one-row kernel) gives the same dot as the two- or four-row kernel
        for (int r = 0; r < rows; r++) {
            QuantMatrix one = QuantMatrix.of(t, seg.asSlice(r * t.bytesFor(cols), t.bytesFor(cols)), 1, cols, Kernels.SIMD);
            float[] o = new float[1];
            one.matvec(x, o, 0, 1);
            assertThat(Math.abs((double) o[0] - b[r])).as("one-row view of row " + r).isLessThanOrEqualTo(tols[r]);
        }
    }

    /** The pool's spread schedule (WorkerPool.matvecShare): rows [from, to) of each quarter, in any pieces. */
    @Test
    void matvecQuartersGivesTheMatvecRows() {
        for (DType t : TYPES) {
            int cols = t.blockSize() == 32 ? 96 : 512;
            for (int quarter : new int[] {1, 5, 9}) {
                int rows = 4 * quarter + 3; // rows past the four quarters are not touched
                MemorySegment seg = RandomBlocks.allocate(t, rows, cols, 17L * quarter + t.ordinal());
                float[] x = RandomBlocks.vector(cols, quarter);
                for (Kernels k : new Kernels[] {Kernels.SCALAR, Kernels.SIMD}) {
                    QuantMatrix m = QuantMatrix.of(t, seg, rows, cols, k);
                    float[] want = new float[rows], got = new float[rows];
                    m.matvec(x, want, 0, rows);
                    java.util.Arrays.fill(got, Float.NaN);
                    int cut = quarter / 2;
                    m.matvecQuarters(x, got, 0, cut, quarter);
                    m.matvecQuarters(x, got, cut, cut, quarter); // an empty piece
                    m.matvecQuarters(x, got, cut, quarter, quarter);
                    float[] w = new float[cols];
                    for (int r = 0; r < rows; r++) {
                        if (r >= 4 * quarter) {
                            assertThat(got[r]).as(t + " " + k + " row " + r + " past the quarters").isNaN();
                            continue;
                        }
                        if (k == Kernels.SCALAR) {
                            assertThat(Float.floatToRawIntBits(got[r])).as(t + " scalar row " + r).isEqualTo(Float.floatToRawIntBits(want[r]));
                            continue;
                        }
                        m.row(r, w, 0);
                        double s = 0;
                        for (int j = 0; j < cols; j++) s += Math.abs((double) w[j] * x[j]);
                        assertThat(Math.abs((double) got[r] - want[r])).as(t + " SIMD row " + r + " of " + rows)
                                .isLessThanOrEqualTo(QuantMatrixFixtureTest.bound(cols, s));
                    }
                    QuantMatrix mm = m;
                    assertThatThrownBy(() -> mm.matvecQuarters(x, new float[rows], 0, quarter + 1, quarter))
                            .isInstanceOf(IndexOutOfBoundsException.class);
                    assertThatThrownBy(() -> mm.matvecQuarters(x, new float[rows], 0, 1, quarter + 1))
                            .isInstanceOf(IndexOutOfBoundsException.class);
                }
            }
        }
    }

    @Test
    void heapSegmentsWorkToo() {
        for (DType t : TYPES) {
            int cols = t.blockSize() == 32 ? 96 : 512;
            byte[] bytes = new byte[(int) t.bytesFor(3L * cols)];
            RandomBlocks.fill(MemorySegment.ofArray(bytes), t, 42);
            float[] x = RandomBlocks.vector(cols, 43);
            float[] a = new float[3], b = new float[3];
            QuantMatrix.of(t, MemorySegment.ofArray(bytes), 3, cols, Kernels.SIMD).matvec(x, a, 0, 3);
            QuantMatrix m = QuantMatrix.of(t, QuantFixtures.offHeap(bytes), 3, cols, Kernels.SIMD);
            m.matvec(x, b, 0, 3);
            // Same kernel, other memory: equal up to the order of the final lane sum, which the JIT may
            // change (reduceLanes sums in one order when compiled, another when interpreted).
            float[] w = new float[cols];
            for (int r = 0; r < 3; r++) {
                m.row(r, w, 0);
                double s = 0;
                for (int j = 0; j < cols; j++) s += Math.abs(w[j] * x[j]);
                assertThat(a[r]).as(t + " row " + r).isCloseTo(b[r], org.assertj.core.data.Offset.offset((float) (2 * cols * 0x1p-24 * s)));
            }
        }
    }

    @Test
    void rejectsBadShapes() {
        MemorySegment seg = MemorySegment.ofArray(new byte[34 * 4]);
        assertThatThrownBy(() -> QuantMatrix.of(DType.Q8_0, seg, 1, 48, Kernels.SIMD)).isInstanceOf(Qwen4jException.class);
        assertThatThrownBy(() -> QuantMatrix.of(DType.Q8_0, seg, 5, 32, Kernels.SIMD)).isInstanceOf(Qwen4jException.class);
        assertThatThrownBy(() -> QuantMatrix.of(DType.IQ4_NL, seg, 1, 32, Kernels.SIMD)).isInstanceOf(Qwen4jException.class);
        assertThat(QuantMatrix.supports(DType.Q6_K)).isTrue();
        assertThat(QuantMatrix.supports(DType.Q8_K)).isFalse();
    }
}
