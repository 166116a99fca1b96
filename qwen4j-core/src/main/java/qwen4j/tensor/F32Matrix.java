package qwen4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Float32 weights, little-endian. */
final class F32Matrix implements Matrix {
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final MemorySegment data;
    private final int rows, cols;

    F32Matrix(MemorySegment data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    @Override public DType type() { return DType.F32; }
    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long byteSize() { return (long) rows * cols * 4; }

    @Override
    public void matvec(float[] x, float[] out, int from, int to) {
        for (int r = from; r < to; r++) {
            long base = (long) r * cols * 4;
            float sum = 0f;
            for (int j = 0; j < cols; j++) {
                sum += data.get(LE_FLOAT, base + 4L * j) * x[j];
            }
            out[r] = sum;
        }
    }

    @Override
    public void row(int r, float[] dst, int dstOff) {
        long base = (long) r * cols * 4;
        for (int j = 0; j < cols; j++) dst[dstOff + j] = data.get(LE_FLOAT, base + 4L * j);
    }
}
