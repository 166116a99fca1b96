package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;
import static qwen4j.tensor.Simd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Vector API twin of {@link F16Matrix}, in two passes per row: the row's halves are converted into
 * a per-thread float buffer by {@link F16Matrix#toFloat}, a plain loop that C2's auto-vectorizer
 * turns into the hardware conversion (vcvtph2ps: one instruction per 16 halves, exact for every
 * value, Inf and NaN included); then a Vector API dot product of the buffer (in L1)
 * with x.
 *
 * <p>Why not convert in registers inside the dot, as {@link SimdBF16Matrix} does: JDK 25's Vector
 * API has no half-float conversion, so it took 4-9 integer lane operations per vector, and that
 * fused loop read memory at 8-11 GB/s per core against 21-23 GB/s for the two passes (measured
 * with {@code F16CpuTime}: one core, a 256 MB matrix, best of 30). The buffer costs a store and a
 * load per element, both in L1.
 *
 * <p>Per row the arithmetic is always the same: one vector accumulator fed by FMA in column order,
 * a fixed-order lane sum ({@link Simd#sum}), then the leftover columns one by one with FMA; so a
 * row's result does not depend on how rows are split across threads.
 */
final class SimdF16Matrix implements Matrix, MatMul.Rows {
    private static final int BYTES = 2;
    /**
     * Columns converted per step: 4 KB of floats, which stay in L1 next to x and the streaming
     * weights. Measured on one core, 256 MB matrices (F16CpuTime): chunks of 512 / 1,024 / 2,048
     * columns gave 17.4 / 19.3 / 20.4 GB/s with 896 columns but 14.0 / 14.1 / 9.6 GB/s with 4,864
     * (past 1,024 the buffer and x no longer fit in L1 together). A multiple of every vector length.
     */
    private static final int CHUNK = 1024;
    /** The converted chunk, one per thread. */
    private static final ThreadLocal<float[]> BUF = ThreadLocal.withInitial(() -> new float[CHUNK]);

    private final MemorySegment data;
    private final int rows, cols;
    private final long rowBytes;

    SimdF16Matrix(MemorySegment data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = (long) cols * BYTES;
    }

    @Override public DType type() { return DType.F16; }
    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long byteSize() { return rows * rowBytes; }

    @Override
    public void matvec(float[] x, float[] out, int from, int to) {
        if (x.length < cols) throw new IllegalArgumentException("x has " + x.length + " elements, need " + cols);
        float[] buf = BUF.get();
        for (int r = from; r < to; r++) out[r] = dotRow(r * rowBytes, x, buf);
    }

    /**
     * Row at byte offset b times x, {@link #CHUNK} columns at a time: convert, then FMA into the one
     * accumulator, which carries over from chunk to chunk (so the order is plain column order).
     */
    private float dotRow(long b, float[] x, float[] buf) {
        FloatVector a = FloatVector.zero(F);
        int vec = cols - cols % L;
        for (int c = 0; c < vec; c += CHUNK) {
            int n = Math.min(CHUNK, vec - c);
            F16Matrix.toFloat(data, b + (long) c * BYTES, buf, 0, n);
            for (int j = 0; j < n; j += L) {
                a = FloatVector.fromArray(F, buf, j).fma(FloatVector.fromArray(F, x, c + j), a);
            }
        }
        float sum = Simd.sum(a);
        for (int j = vec; j < cols; j++) {
            sum = Math.fma(Float.float16ToFloat(data.get(BF16Matrix.LE_SHORT, b + (long) j * BYTES)), x[j], sum);
        }
        return sum;
    }

    @Override
    public void row(int r, float[] dst, int dstOff) { F16Matrix.toFloat(data, r * rowBytes, dst, dstOff, cols); }

    @Override public void decodeRow(int r, float[] dst, int off) { row(r, dst, off); }

    @Override
    public void decodeRange(int r, int k0, int n, float[] dst, int off) {
        F16Matrix.toFloat(data, r * rowBytes + (long) k0 * BYTES, dst, off, n);
    }

    @Override public int matmulScratch() { return MatMul.scratchFloats(cols); }

    @Override
    public void matmul(float[] x, int n, float[] out, int from, int to, float[] scratch) {
        MatMul.tiled(this, x, n, out, from, to, scratch);
    }

    @Override
    public void matmul(MatMul.Tokens x, float[] out, int from, int to, float[] scratch) {
        MatMul.tiled(this, x, out, from, to, scratch);
    }
}
