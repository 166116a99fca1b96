package qwen4j.tensor.quant;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/** The float32 scale tables the 16-lane Q4_0 kernels read instead of each block's fp16 d. */
class BlockScalesTest {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void everyHalfFloatBecomesItsFloat() {
        int bb = Q4_0Matrix.BB, blocks = 1 << 16; // every fp16 bit pattern once: zeros, subnormals, inf, NaNs
        MemorySegment data = Arena.ofAuto().allocate((long) blocks * bb);
        for (int h = 0; h < blocks; h++) data.set(LE_SHORT, (long) h * bb, (short) h);
        MemorySegment scales = QuantMatrix.blockScales(data, blocks, bb);
        for (int h = 0; h < blocks; h++) {
            // raw bits: NaN payloads and the sign of zero kept, as Float.float16ToFloat gives them
            assertThat(Float.floatToRawIntBits(scales.get(QuantMatrix.SCALE, 4L * h)))
                    .as("fp16 0x%04x", h).isEqualTo(Float.floatToRawIntBits(Float.float16ToFloat((short) h)));
        }
    }

    @Test
    void q4_0MatvecReadsEachRowsOwnScales() {
        // Rows whose blocks have distinct d's (subnormal, negative, large), all nibbles 9 (q - 8 = 1): row r's dot with
        // x = 1 is 16 * 2 * (sum of its d's), computed here in double from the d's alone.
        int rows = 13, cols = 3584, nb = cols / 32, bb = Q4_0Matrix.BB;
        MemorySegment data = Arena.ofAuto().allocate((long) rows * nb * bb);
        short[] ds = {(short) 0x0001, (short) 0x3c00, (short) 0xb800, (short) 0x7bff, (short) 0x8000, (short) 0x2e66};
        double[] expected = new double[rows], magnitude = new double[rows];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < nb; b++) {
                long off = ((long) r * nb + b) * bb;
                short d = ds[(r * 7 + b * 3) % ds.length];
                if (d == (short) 0x7bff && (r + b) % 5 != 0) d = (short) 0x3c00; // keep the sums finite
                data.set(LE_SHORT, off, d);
                for (int j = 0; j < 16; j++) data.set(ValueLayout.JAVA_BYTE, off + 2 + j, (byte) 0x99);
                expected[r] += 32.0 * Float.float16ToFloat(d);
                magnitude[r] += 32.0 * Math.abs(Float.float16ToFloat(d));
            }
        }
        float[] x = new float[cols];
        java.util.Arrays.fill(x, 1f);
        for (Kernels k : new Kernels[] {Kernels.SCALAR, Kernels.SIMD}) {
            QuantMatrix m = QuantMatrix.of(DType.Q4_0, data, rows, cols, k);
            float[] out = new float[rows];
            m.matvec(x, out, 0, rows);
            for (int r = 0; r < rows; r++) {
                // float32 sums of cols terms: within cols ulps of the terms' magnitude
                double tol = cols * 0x1p-23 * magnitude[r];
                assertThat((double) out[r]).as(k + " row " + r).isCloseTo(expected[r], org.assertj.core.data.Offset.offset(tol));
            }
            float[] one = new float[rows];
            m.matvec(x, one, 5, 6); // one row alone: the one-row kernel, its scales found from its address
            assertThat(one[5]).isEqualTo(out[5]);
        }
    }
}
