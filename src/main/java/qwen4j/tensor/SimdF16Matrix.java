package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;
import static qwen4j.tensor.Simd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Vector API twin of {@link F16Matrix}: loads 16-bit lanes straight from the segment, widens
 * them to float in registers and multiplies by x.
 *
 * <p>Per row the arithmetic is always the same, whichever path computes it: one vector
 * accumulator fed by FMA, a fixed-order lane sum ({@link Simd#sum}), then the leftover columns
 * one by one with FMA. So a row's result
 * does not depend on how rows are grouped or split across threads. {@code rowsPerPass} rows
 * (1 or 2) are computed together, sharing the loads of x. Not 4 as for BF16: the half-float
 * conversion is long enough that four rows of it exceed C2's inlining budget for one method
 * (NodeCountInliningCutoff), vectors get boxed, and the kernel allocates and runs 3x slower.
 *
 * <p>When the matrix holds no Inf/NaN ({@link #of} checks once) it is a {@link Finite}, whose pairs
 * of rows use a 4-operation conversion ({@link Simd#f16Finite}) instead of 9: the same values, so
 * the same results, at about 1.3x the speed on cached rows. A subclass, not a flag, so that each
 * matvec is compiled on its own: one method holding both kernels exceeds C2's inlining node
 * budget and boxes vectors. (Four rows per pass exceed it too, even with the short conversion.)
 */
sealed class SimdF16Matrix implements Matrix, MatMul.Rows permits SimdF16Matrix.Finite {
    private static final int BYTES = 2;
    private final MemorySegment data;
    private final int rows, cols;
    private final long rowBytes;
    private final int rowsPerPass;

    /** The kernels for these weights: {@link Finite} when no value is Inf or NaN. */
    static SimdF16Matrix of(MemorySegment data, int rows, int cols) {
        return Simd.allFiniteF16(data.asSlice(0, (long) rows * cols * BYTES))
                ? new Finite(data, rows, cols) : new SimdF16Matrix(data, rows, cols);
    }

    SimdF16Matrix(MemorySegment data, int rows, int cols) {
        this(data, rows, cols, 2);
    }

    /** rowsPerPass: 2 (default) or 1 (for measuring what sharing x loads is worth). */
    SimdF16Matrix(MemorySegment data, int rows, int cols, int rowsPerPass) {
        if (rowsPerPass != 1 && rowsPerPass != 2) throw new IllegalArgumentException("rowsPerPass must be 1 or 2");
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = (long) cols * BYTES;
        this.rowsPerPass = rowsPerPass;
    }

    /** Weights checked finite: pairs of rows with the short conversion. */
    static final class Finite extends SimdF16Matrix {
        Finite(MemorySegment data, int rows, int cols) { super(data, rows, cols, 2); }

        @Override
        public void matvec(float[] x, float[] out, int from, int to) {
            if (x.length < cols()) throw new IllegalArgumentException("x has " + x.length + " elements, need " + cols());
            int r = from;
            for (; r + 2 <= to; r += 2) rows2Finite(x, out, r);
            if (r < to) out[r] = row1(x, r);
        }
    }

    private FloatVector load(long off) { return Simd.f16(data, off); }

    private float scalar(long off) { return Float.float16ToFloat(data.get(BF16Matrix.LE_SHORT, off)); }

    @Override public DType type() { return DType.F16; }
    @Override public int rows() { return rows; }
    @Override public final int cols() { return cols; }
    @Override public long byteSize() { return rows * rowBytes; }

    @Override
    public void matvec(float[] x, float[] out, int from, int to) {
        if (x.length < cols) throw new IllegalArgumentException("x has " + x.length + " elements, need " + cols);
        int r = from;
        if (rowsPerPass == 2) {
            for (; r + 2 <= to; r += 2) rows2(x, out, r);
        }
        for (; r < to; r++) out[r] = row1(x, r);
    }

    final float row1(float[] x, int r) {
        long b = r * rowBytes;
        FloatVector a = FloatVector.zero(F);
        int j = 0;
        for (; j + L <= cols; j += L) {
            a = load(b + (long) j * BYTES).fma(FloatVector.fromArray(F, x, j), a);
        }
        return tail(Simd.sum(a), x, b, j);
    }

    private void rows2(float[] x, float[] out, int r) {
        long b0 = r * rowBytes, b1 = b0 + rowBytes;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int j = 0;
        for (; j + L <= cols; j += L) {
            FloatVector xj = FloatVector.fromArray(F, x, j);
            long o = (long) j * BYTES;
            a0 = load(b0 + o).fma(xj, a0);
            a1 = load(b1 + o).fma(xj, a1);
        }
        // Both lane sums before any tail: C2 inlines in call order and a method has a node budget;
        // a sum left out of line boxes its vector (allocation), a tail left out costs nothing.
        float s0 = Simd.sum(a0), s1 = Simd.sum(a1);
        out[r] = tail(s0, x, b0, j);
        out[r + 1] = tail(s1, x, b1, j);
    }

    /** rows2 with the short conversion (data checked finite): the same values in the same order. */
    final void rows2Finite(float[] x, float[] out, int r) {
        long b0 = r * rowBytes, b1 = b0 + rowBytes;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int j = 0;
        for (; j + L <= cols; j += L) {
            FloatVector xj = FloatVector.fromArray(F, x, j);
            long o = (long) j * BYTES;
            a0 = Simd.f16Finite(data, b0 + o).fma(xj, a0);
            a1 = Simd.f16Finite(data, b1 + o).fma(xj, a1);
        }
        float s0 = Simd.sum(a0), s1 = Simd.sum(a1);
        out[r] = tail(s0, x, b0, j);
        out[r + 1] = tail(s1, x, b1, j);
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

    @Override public int matmulScratch() { return MatMul.scratchFloats(cols); }

    @Override
    public void matmul(float[] x, int n, float[] out, int from, int to, float[] scratch) {
        MatMul.tiled(this, x, n, out, from, to, scratch);
    }
}
