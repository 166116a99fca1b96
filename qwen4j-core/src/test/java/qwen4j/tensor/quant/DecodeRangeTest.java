package qwen4j.tensor.quant;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/**
 * The prefill's weight decode ({@code decodeRange}: rows as float32 tiles for the GEMM) gives, bit for bit,
 * what the scalar {@code dequant} of each block gives, at whatever width this JVM runs (the suite runs at 16,
 * 8 and 4 lanes), for whole rows and for column slices that start inside a row.
 */
class DecodeRangeTest {
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void decodedRowsAreTheScalarDequantsBits(DType type) {
        int rows = 7, cols = 4096, qk = type.blockSize();
        MemorySegment data = RandomBlocks.allocate(type, rows, cols, 31 + type.ordinal());
        check(QuantMatrix.of(type, data, rows, cols, Kernels.SIMD), data, qk);
    }

    @org.junit.jupiter.api.Test
    void q4_0DecodesTheSameWithoutItsScaleTable() {
        int rows = 5, cols = 2048;
        MemorySegment data = RandomBlocks.allocate(DType.Q4_0, rows, cols, 5);
        long room = QuantMatrix.SCALE_TABLE_ROOM.getAndSet(0);
        try {
            QuantMatrix converting = QuantMatrix.of(DType.Q4_0, data, rows, cols, Kernels.SIMD);
            assertThat(converting.hasScaleTable()).isFalse();
            check(converting, data, 32);
        } finally {
            QuantMatrix.SCALE_TABLE_ROOM.addAndGet(room);
        }
    }

    private static void check(QuantMatrix m, MemorySegment data, int qk) {
        int rows = m.rows(), cols = m.cols();
        float[] expected = new float[cols];
        int[][] ranges = {{0, cols}, {cols / 2, cols / 2}, {qk == 256 ? 256 : 64, qk == 256 ? 1024 : 96}, {cols - qk, qk}};
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < cols / qk; b++) m.dequantizeBlock(data, r * m.rowBytes + (long) b * m.type().blockBytes(), expected, b * qk);
            for (int[] range : ranges) {
                int k0 = range[0], n = range[1];
                float[] got = new float[n + 24];
                java.util.Arrays.fill(got, Float.NaN);
                m.decodeRange(r, k0, n, got, 8);
                for (int i = 0; i < n; i++) {
                    assertThat(Float.floatToRawIntBits(got[8 + i])).as("%s row %d column %d (slice %d+%d)", m.type(), r, k0 + i, k0, n)
                            .isEqualTo(Float.floatToRawIntBits(expected[k0 + i]));
                }
                assertThat(got[7]).as("nothing written before the slice").isNaN();
                assertThat(got[8 + n]).as("nothing written after the slice").isNaN();
            }
        }
    }
}
