package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;
import static qwen4j.tensor.Simd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Vector API twin of {@link F32Matrix}: loads float lanes straight from the segment and
 * multiplies by x.
 *
 * <p>Per row the arithmetic is always the same, whichever path computes it: one vector
 * accumulator fed by FMA, a fixed-order lane sum ({@link Simd#sum}), then the leftover columns
 * one by one with FMA. So a row's result
 * does not depend on how rows are grouped or split across threads. {@code rowsPerPass} rows
 * (1 or 4) are computed together, sharing the loads of x.
 *
 * <p>The four rows of a pass are not neighbours: a call's rows [from, to) are cut into quarters
 * and pass i takes row i of each, so each of the four memory streams runs on through consecutive
 * rows (rows are contiguous) instead of starting anew every row. The hardware prefetchers keep
 * long streams going; with four neighbouring rows, three streams restarted every row and one core
 * read about half as fast.
 */
final class SimdF32Matrix implements Matrix, MatMul.Rows {
    private static final int BYTES = 4;
    private final MemorySegment data;
    private final int rows, cols;
    private final long rowBytes;
    private final int rowsPerPass;

    SimdF32Matrix(MemorySegment data, int rows, int cols) {
        this(data, rows, cols, 4);
    }

    /** rowsPerPass: 4 (default) or 1 (for measuring what sharing x loads is worth). */
    SimdF32Matrix(MemorySegment data, int rows, int cols, int rowsPerPass) {
        if (rowsPerPass != 1 && rowsPerPass != 4) throw new IllegalArgumentException("rowsPerPass must be 1 or 4");
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = (long) cols * BYTES;
        this.rowsPerPass = rowsPerPass;
    }

    private FloatVector load(long off) { return Simd.f32(data, off); }

    private float scalar(long off) { return data.get(F32Matrix.LE_FLOAT, off); }

    @Override public DType type() { return DType.F32; }
    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long byteSize() { return rows * rowBytes; }

    @Override
    public void matvec(float[] x, float[] out, int from, int to) {
        if (x.length < cols) throw new IllegalArgumentException("x has " + x.length + " elements, need " + cols);
        int r = from;
        if (rowsPerPass == 4 && to - from >= 4) {
            // Four long streams (see the class comment), MatMul's four-row schedule. One call site:
            // rows4 is force-inlined, and a second copy put matvec over C2's node budget (boxing).
            for (int i = 0, passes = MatMul.quarterPasses(from, to); i < passes; i++) {
                rows4(x, out, MatMul.quarterRow(from, to, i), MatMul.quarterStep(from, to, i));
            }
            return;
        }
        for (; r < to; r++) out[r] = row1(x, r);
    }

    private float row1(float[] x, int r) {
        long b = r * rowBytes;
        FloatVector a = FloatVector.zero(F);
        int j = 0;
        for (; j + L <= cols; j += L) {
            a = load(b + (long) j * BYTES).fma(FloatVector.fromArray(F, x, j), a);
        }
        return tail(Simd.sum(a), x, b, j);
    }

    /** Rows r, r + q, r + 2q, r + 3q, sharing the loads of x. */
    private void rows4(float[] x, float[] out, int r, int q) {
        long step = q * rowBytes;
        long b0 = r * rowBytes, b1 = b0 + step, b2 = b1 + step, b3 = b2 + step;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (; j + L <= cols; j += L) {
            FloatVector xj = FloatVector.fromArray(F, x, j);
            long o = (long) j * BYTES;
            a0 = load(b0 + o).fma(xj, a0);
            a1 = load(b1 + o).fma(xj, a1);
            a2 = load(b2 + o).fma(xj, a2);
            a3 = load(b3 + o).fma(xj, a3);
        }
        // All lane sums before any tail: C2 inlines in call order and a method has a node budget;
        // a sum left out of line boxes its vector (allocation), a tail left out costs nothing.
        float s0 = Simd.sum(a0), s1 = Simd.sum(a1), s2 = Simd.sum(a2), s3 = Simd.sum(a3);
        out[r] = tail(s0, x, b0, j);
        out[r + q] = tail(s1, x, b1, j);
        out[r + 2 * q] = tail(s2, x, b2, j);
        out[r + 3 * q] = tail(s3, x, b3, j);
    }

    /** Adds the columns [j, cols) of the row at byte offset b, one at a time. */
    private float tail(float sum, float[] x, long b, int j) {
        for (; j < cols; j++) sum = Math.fma(scalar(b + (long) j * BYTES), x[j], sum);
        return sum;
    }

    @Override
    public void row(int r, float[] dst, int dstOff) {
        long b = r * rowBytes;
        int j = 0;
        for (; j + L <= cols; j += L) load(b + (long) j * BYTES).intoArray(dst, dstOff + j);
        for (; j < cols; j++) dst[dstOff + j] = scalar(b + (long) j * BYTES);
    }

    @Override public void decodeRow(int r, float[] dst, int off) { row(r, dst, off); }

    @Override
    public void decodeRange(int r, int k0, int n, float[] dst, int off) {
        long b = r * rowBytes + (long) k0 * BYTES;
        int j = 0;
        for (; j + L <= n; j += L) load(b + (long) j * BYTES).intoArray(dst, off + j);
        for (; j < n; j++) dst[off + j] = scalar(b + (long) j * BYTES);
    }

    @Override
    public int touch(int r, int k0, int n) {
        return MatMul.touch(data, r * rowBytes + (long) k0 * BYTES, (long) n * BYTES);
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
