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
        Object owner = new Object();
        MemorySegment scales = QuantMatrix.blockScales(owner, data.address(), blocks, bb);
        assertThat(scales).as("room for a 256 KB table").isNotNull();
        for (int h = 0; h < blocks; h++) {
            // raw bits: NaN payloads and the sign of zero kept, as Float.float16ToFloat gives them
            assertThat(Float.floatToRawIntBits(scales.get(QuantMatrix.SCALE, 4L * h)))
                    .as("fp16 0x%04x", h).isEqualTo(Float.floatToRawIntBits(Float.float16ToFloat((short) h)));
        }
        java.lang.ref.Reference.reachabilityFence(owner);
    }

    @Test
    void weightsInAConfinedArenaAreReadFromOtherThreads() {
        try (Arena arena = Arena.ofConfined()) {
            int rows = 8192, cols = 8192; // 2M blocks: the table is filled in two tasks, one on a pool thread
            MemorySegment data = arena.allocate((long) rows * (cols / 32) * Q4_0Matrix.BB);
            QuantMatrix m = QuantMatrix.of(DType.Q4_0, data, rows, cols, Kernels.SIMD);
            float[] out = new float[rows];
            m.matvec(new float[cols], out, 0, rows);
            assertThat(out).containsOnly(0f);
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

    @Test
    void withoutRoomForATableTheKernelsConvertAndGiveTheSameBits() {
        int rows = 13, cols = 1024;
        MemorySegment data = RandomBlocks.allocate(DType.Q4_0, rows, cols, 77);
        float[] x = RandomBlocks.vector(2 * cols, 78);
        QuantMatrix table = QuantMatrix.of(DType.Q4_0, data, rows, cols, Kernels.SIMD);
        long room = QuantMatrix.SCALE_TABLE_ROOM.getAndSet(0);
        QuantMatrix converting;
        try {
            converting = QuantMatrix.of(DType.Q4_0, data, rows, cols, Kernels.SIMD);
        } finally {
            QuantMatrix.SCALE_TABLE_ROOM.addAndGet(room);
        }
        assertThat(table.hasScaleTable()).as("a table at 16 lanes").isEqualTo(QuantSimd.L == 16);
        assertThat(converting.hasScaleTable()).isFalse();
        // one row, four-row passes, a sub-range, and two tokens (the fused kernel at 16 lanes)
        float[] a = new float[rows], b = new float[rows];
        table.matvec(x, a, 0, rows);
        converting.matvec(x, b, 0, rows);
        assertThat(b).containsExactly(a);
        table.matvec(x, a, 3, 4);
        converting.matvec(x, b, 3, 4);
        assertThat(b[3]).isEqualTo(a[3]);
        float[] two = new float[2 * rows], twoConverting = new float[2 * rows];
        table.matmul(x, 2, two, 0, rows, new float[table.matmulScratch()]);
        converting.matmul(x, 2, twoConverting, 0, rows, new float[converting.matmulScratch()]);
        assertThat(twoConverting).containsExactly(two);
    }
}
