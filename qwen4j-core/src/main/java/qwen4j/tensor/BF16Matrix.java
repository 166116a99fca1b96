package qwen4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** bfloat16 weights: the high 16 bits of a float32. */
final class BF16Matrix implements Matrix {
    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final MemorySegment data;
    private final int rows, cols;

    BF16Matrix(MemorySegment data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    @Override public DType type() { return DType.BF16; }
    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long byteSize() { return (long) rows * cols * 2; }

    @Override
    public void matvec(float[] x, float[] out, int from, int to) {
        for (int r = from; r < to; r++) {
            long base = (long) r * cols * 2;
            float sum = 0f;
            for (int j = 0; j < cols; j++) {
                sum += bf16ToFloat(data.get(LE_SHORT, base + 2L * j)) * x[j];
            }
            out[r] = sum;
        }
    }

    @Override
    public void row(int r, float[] dst, int dstOff) {
        long base = (long) r * cols * 2;
        for (int j = 0; j < cols; j++) dst[dstOff + j] = bf16ToFloat(data.get(LE_SHORT, base + 2L * j));
    }
}
