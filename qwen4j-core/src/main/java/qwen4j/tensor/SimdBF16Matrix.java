package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;
import static qwen4j.tensor.Simd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Vector API twin of {@link BF16Matrix}: loads 16-bit lanes straight from the segment, widens
 * them to float in registers and multiplies by x.
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
final class SimdBF16Matrix implements Matrix, MatMul.Rows {
    private static final int BYTES = 2;
    private final MemorySegment data;
    private final int rows, cols;
    private final long rowBytes;
    private final int rowsPerPass;

    SimdBF16Matrix(MemorySegment data, int rows, int cols) {
        this(data, rows, cols, 4);
    }

    /** rowsPerPass: 4 (default) or 1 (for measuring what sharing x loads is worth). */
    SimdBF16Matrix(MemorySegment data, int rows, int cols, int rowsPerPass) {
        if (rowsPerPass != 1 && rowsPerPass != 4) throw new IllegalArgumentException("rowsPerPass must be 1 or 4");
        this.data = data.isNative() ? data : java.lang.foreign.Arena.ofAuto().allocate(data.byteSize(), 64).copyFrom(data);
        this.address = this.data.address();
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = (long) cols * BYTES;
        this.rowsPerPass = rowsPerPass;
    }

    private FloatVector load(long off) { return Simd.bf16(data, off); }

    /** The weights' address: the fused kernels load through SimdHalfFused's all-of-memory segment. */
    private final long address;

    private float scalar(long off) { return BF16Matrix.bf16ToFloat(data.get(BF16Matrix.LE_SHORT, off)); }

    @Override public DType type() { return DType.BF16; }
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
        for (int j = 0, end = cols / L * L; j < end; j += L) {
            a = load(b + (long) j * BYTES).fma(FloatVector.fromArray(F, x, j), a);
        }
        return tail(Simd.sum(a), x, 0, b);
    }

    /** Rows r, r + q, r + 2q, r + 3q, sharing the loads of x. */
    private void rows4(float[] x, float[] out, int r, int q) {
        long step = q * rowBytes;
        long b0 = r * rowBytes, b1 = b0 + step, b2 = b1 + step, b3 = b2 + step;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0, end = cols / L * L; j < end; j += L) {
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
        out[r] = tail(s0, x, 0, b0);
        out[r + q] = tail(s1, x, 0, b1);
        out[r + 2 * q] = tail(s2, x, 0, b2);
        out[r + 3 * q] = tail(s3, x, 0, b3);
    }

    /**
     * Adds the columns past the vector loops ([cols - cols % L, cols)) of the row at byte offset b times
     * the x row at xo, one at a time.
     */
    private float tail(float sum, float[] x, int xo, long b) {
        for (int j = cols / L * L; j < cols; j++) sum = Math.fma(scalar(b + (long) j * BYTES), x[xo + j], sum);
        return sum;
    }

    @Override
    public void row(int r, float[] dst, int dstOff) {
        long b = r * rowBytes;
        int j = 0;
        for (int end = cols / L * L; j < end; j += L) load(b + (long) j * BYTES).intoArray(dst, dstOff + j);
        for (; j < cols; j++) dst[dstOff + j] = scalar(b + (long) j * BYTES);
    }

    @Override public void decodeRow(int r, float[] dst, int off) { row(r, dst, off); }

    @Override
    public void decodeRange(int r, int k0, int n, float[] dst, int off) {
        long b = r * rowBytes + (long) k0 * BYTES;
        int j = 0;
        for (int end = n / L * L; j < end; j += L) load(b + (long) j * BYTES).intoArray(dst, off + j);
        for (; j < n; j++) dst[off + j] = scalar(b + (long) j * BYTES);
    }

    @Override
    public int touch(int r, int k0, int n) {
        return MatMul.touch(data, r * rowBytes + (long) k0 * BYTES, (long) n * BYTES);
    }

    @Override public int matmulScratch() { return MatMul.scratchFloats(cols); }

    @Override
    public void matmul(float[] x, int n, float[] out, int from, int to, float[] scratch) {
        if (fusesTokens(n)) matvecsFused(x, n, out, from, to);
        else MatMul.tiled(this, x, n, out, from, to, scratch);
    }

    @Override
    public void matmul(MatMul.Tokens x, float[] out, int from, int to, float[] scratch) {
        if (fusesTokens(x.n())) matvecsFused(x.x(), x.n(), out, from, to);
        else MatMul.tiled(this, x, out, from, to, scratch);
    }

    // A few tokens at once (batched decode of 2 to MatMul.FUSED_TOKENS_MAX sequences, MatMul.fused): each
    // weight vector is loaded and widened once for 2 or 4 tokens (2 below 16 lanes: MatMul.FUSED_GROUP), and every (row, token)
    // takes its matvec's steps (one accumulator fed by FMA in column order, the same lane sum, the same
    // tail), so a token's values are its matvec's. The accumulators go through an array to LaneSums: 16
    // lane sums inlined put the kernel past C2's node budget (boxing).

    /** {@link #pass} as made once (a method reference made per call would be an allocation per call). */
    private final MatMul.FourRowPass fusedPass = this::pass;

    /** Whether a product of n tokens runs {@link #matvecsFused}. */
    boolean fusesTokens(int n) {
        return rowsPerPass == 4 && n >= MatMul.FUSED_TOKENS_MIN && n <= MatMul.FUSED_TOKENS_MAX;
    }

    /** out[t * rows + r] for r in [from, to), t in [0, n), n accepted by {@link #fusesTokens}. */
    void matvecsFused(float[] x, int n, float[] out, int from, int to) {
        MatMul.fused(fusedPass, address, rows, cols, rowBytes, x, n, out, from, to);
    }

    /** Four rows x 2 or 4 tokens for {@link MatMul#fused}: the kernel's accumulators, their lane sums, the tails. */
    private void pass(int g, int r0, int step, float[] x, int xa, int xb, int xc, int xd, float[] o) {
        float[] acc = SimdHalfFused.ACC.get();
        long b0 = r0 * rowBytes, s = step * rowBytes;
        if (g == 2) fourRowsTwoTokens(x, xa, xb, b0, s, acc);
        else fourRowsFourTokens(x, xa, xb, xc, xd, b0, s, acc);
        for (int v = 0; v < 4 * g; v += L) LaneSums.sums(acc, v * L, acc, v); // L accumulators per call
        for (int u = 0; u < g; u++) {
            int xo = u == 0 ? xa : u == 1 ? xb : u == 2 ? xc : xd;
            for (int k = 0; k < 4; k++) o[4 * u + k] = tail(acc[k * g + u], x, xo, b0 + k * s);
        }
    }

    /** Accumulators of rows b0 .. b0 + 3 step times tokens at x0, x1 (SimdHalfFused, inlined here): acc vector 2k + t. */
    private void fourRowsTwoTokens(float[] x, int x0, int x1, long b0, long step, float[] acc) {
        SimdHalfFused.fourRowsTwoTokens(false, cols, x, x0, x1, address + b0, step, acc);
    }

    /** Accumulators of rows b0 .. b0 + 3 step times tokens at x0 .. x3: acc vector 4k + t. */
    private void fourRowsFourTokens(float[] x, int x0, int x1, int x2, int x3, long b0, long step, float[] acc) {
        SimdHalfFused.fourRowsFourTokens(false, cols, x, x0, x1, x2, x3, address + b0, step, acc);
    }
}
