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
    public void row(int r, float[] dst, int dstOff) { toFloat(data, (long) r * cols * 2, dst, dstOff, cols); }

    /**
     * dst[off + j] = the half at byte offset {@code base + 2 j}, for j in [0, n). A plain counted
     * loop, which C2 auto-vectorizes into the hardware conversion (vcvtph2ps: 16 halves per
     * instruction, exact for every value). {@link SimdF16Matrix} calls it between Vector API code;
     * the launcher keeps it out of line ({@code -XX:CompileCommand=dontinline}), because inlined
     * its loop pushed the caller past C2's node budget and the caller's vectors got boxed.
     */
    static void toFloat(MemorySegment seg, long base, float[] dst, int off, int n) {
        for (int j = 0; j < n; j++) dst[off + j] = Float.float16ToFloat(seg.get(BF16Matrix.LE_SHORT, base + 2L * j));
    }
}
