package qwen4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/** Random weight matrices in each stored type, for kernel tests. */
final class TestData {
    private TestData() {}

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static final DType[] TYPES = {DType.F32, DType.BF16, DType.F16};

    /** A rows x cols tensor of N(0, 1) values stored as type (rounded to it). */
    static Tensor randomTensor(Arena arena, DType type, int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        int bytes = type == DType.F32 ? 4 : 2;
        MemorySegment seg = arena.allocate((long) rows * cols * bytes + 1, 1).asSlice(1); // misaligned on purpose
        for (long i = 0; i < (long) rows * cols; i++) {
            float f = (float) rnd.nextGaussian();
            switch (type) {
                case F32 -> seg.set(LE_FLOAT, 4 * i, f);
                case BF16 -> seg.set(LE_SHORT, 2 * i, (short) (Float.floatToRawIntBits(f) >>> 16));
                case F16 -> seg.set(LE_SHORT, 2 * i, Float.floatToFloat16(f));
                default -> throw new IllegalArgumentException(type.toString());
            }
        }
        return new Tensor("w", type, new long[] {rows, cols}, seg, "test");
    }

    /**
     * A rows x cols matrix in any type: N(0, 1) values for float types directly, Q8_0/Q4_0 quantized
     * from them; other quantized types (no quantizer here) random bits with bit 14 of every 16-bit word
     * cleared, so that their fp16 scales stay finite (for timing, not for values).
     */
    static Tensor randomWeights(Arena arena, DType type, int rows, int cols) {
        if (type == DType.F32 || type == DType.BF16 || type == DType.F16) return TestData.randomTensor(arena, type, rows, cols, 1);
        long rowBytes = (long) cols / type.blockSize() * type.blockBytes();
        MemorySegment seg = arena.allocate(rowBytes * rows, 64);
        if (type != DType.Q8_0 && type != DType.Q4_0) {
            java.util.SplittableRandom bits = new java.util.SplittableRandom(5);
            for (long i = 0; i + 8 <= seg.byteSize(); i += 8) seg.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i, bits.nextLong() & 0xBFFFBFFFBFFFBFFFL);
            return new Tensor("w", type, new long[] {rows, cols}, seg, "synthetic");
        }
        float[] row = new float[cols];
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) row[j] = (float) r.nextGaussian();
            qwen4j.tensor.quant.Quantize.quantize(type, row, 0, cols, seg, i * rowBytes);
        }
        return new Tensor("w", type, new long[] {rows, cols}, seg, "synthetic");
    }

    static float[] randomVector(int n, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
