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
 * <p>Except when the matrix holds no Inf/NaN (checked once, when the view is made): then the
 * conversion is 4 lane operations ({@link Simd#f16Finite}), four rows fit the budget, and the
 * kernel streams four rows at once, which one core needs to read at memory speed. The values
 * are the same as the exact conversion's, so results do not change.
 */
final class SimdF16Matrix implements Matrix, MatMul.Rows {
    private static final int BYTES = 2;
    private final MemorySegment data;
    private final int rows, cols;
    private final long rowBytes;
    private final int rowsPerPass;

    SimdF16Matrix(MemorySegment data, int rows, int cols) {
        this(data, rows, cols, Simd.allFiniteF16(data.asSlice(0, (long) rows * cols * BYTES)) ? 4 : 2);
    }

    /**
     * rowsPerPass: 4 (only for finite data: the fast conversion), 2 (exact conversion; the default
     * when the matrix has an Inf or NaN) or 1 (for measuring what sharing x loads is worth).
     */
    SimdF16Matrix(MemorySegment data, int rows, int cols, int rowsPerPass) {
        if (rowsPerPass != 1 && rowsPerPass != 2 && rowsPerPass != 4) {
            throw new IllegalArgumentException("rowsPerPass must be 1, 2 or 4");
        }
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = (long) cols * BYTES;
        this.rowsPerPass = rowsPerPass;
    }

    private FloatVector load(long off) { return Simd.f16(data, off); }

    private float scalar(long off) { return Float.float16ToFloat(data.get(BF16Matrix.LE_SHORT, off)); }

    @Override public DType type() { return DType.F16; }
    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long byteSize() { return rows * rowBytes; }

    @Override
    public void matvec(float[] x, float[] out, int from, int to) {
        if (x.length < cols) throw new IllegalArgumentException("x has " + x.length + " elements, need " + cols);
        int r = from;
        if (rowsPerPass == 4) {
            for (; r + 4 <= to; r += 4) rows4Finite(x, out, r);
        }
        if (rowsPerPass >= 2) {
            for (; r + 2 <= to; r += 2) rows2(x, out, r);
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

    /** Four rows with the short conversion (data checked finite): same values, same order as row1. */
    private void rows4Finite(float[] x, float[] out, int r) {
        long b0 = r * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (; j + L <= cols; j += L) {
            FloatVector xj = FloatVector.fromArray(F, x, j);
            long o = (long) j * BYTES;
            a0 = Simd.f16Finite(data, b0 + o).fma(xj, a0);
            a1 = Simd.f16Finite(data, b1 + o).fma(xj, a1);
            a2 = Simd.f16Finite(data, b2 + o).fma(xj, a2);
            a3 = Simd.f16Finite(data, b3 + o).fma(xj, a3);
        }
        float s0 = Simd.sum(a0), s1 = Simd.sum(a1), s2 = Simd.sum(a2), s3 = Simd.sum(a3);
        out[r] = tail(s0, x, b0, j);
        out[r + 1] = tail(s1, x, b1, j);
        out[r + 2] = tail(s2, x, b2, j);
        out[r + 3] = tail(s3, x, b3, j);
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
