package qwen4j.tensor;

import java.lang.foreign.MemorySegment;

/** IEEE half-precision weights. */
final class F16Matrix implements Matrix {
    private final MemorySegment data;
    private final int rows, cols;

    F16Matrix(MemorySegment data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    @Override public DType type() { return DType.F16; }
    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long byteSize() { return (long) rows * cols * 2; }

    @Override
    public void matvec(float[] x, float[] out, int from, int to) {
        for (int r = from; r < to; r++) {
            long base = (long) r * cols * 2;
            float sum = 0f;
            for (int j = 0; j < cols; j++) {
                sum += Float.float16ToFloat(data.get(BF16Matrix.LE_SHORT, base + 2L * j)) * x[j];
            }
            out[r] = sum;
        }
    }

    @Override
    public void row(int r, float[] dst, int dstOff) {
        long base = (long) r * cols * 2;
        for (int j = 0; j < cols; j++) dst[dstOff + j] = Float.float16ToFloat(data.get(BF16Matrix.LE_SHORT, base + 2L * j));
    }
}
