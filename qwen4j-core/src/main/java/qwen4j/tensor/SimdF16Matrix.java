package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;
import static qwen4j.tensor.Simd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Vector API twin of {@link F16Matrix}. Two kernels, the same values in the same order per row:
 * <ul>
 * <li>{@link Finite}, for weights checked free of Inf/NaN at load: the halves convert in registers
 * with 4 integer lane operations ({@link Simd#f16Finite}; JDK 25's Vector API has no half-float
 * conversion), two rows per pass on two long memory streams;</li>
 * <li>this class, for any weights: two passes per row, 1,024 columns at a time: the halves are
 * converted into a per-thread float buffer by {@link F16Matrix#toFloat}, a plain loop that C2's
 * auto-vectorizer turns into the hardware conversion (vcvtph2ps, exact for every value, Inf and
 * NaN included), then a Vector API dot product of the buffer (in L1) with x.</li>
 * </ul>
 * Finite is about twice as fast; the two-pass kernel is the general fallback ({@code F16CpuTime}).
 * Finite also has the fused kernels for a few tokens ({@link MatMul#fused}), as BF16 has.
 *
 * <p>Per row the arithmetic is always the same: one vector accumulator fed by FMA in column order,
 * a fixed-order lane sum ({@link Simd#sum}), then the leftover columns one by one with FMA; so a
 * row's result does not depend on how rows are split across threads, or on the kernel.
 */
sealed class SimdF16Matrix implements Matrix, MatMul.Rows permits SimdF16Matrix.Finite {
    private static final int BYTES = 2;
    /**
     * Columns converted per step: 4 KB of floats, which stay in L1 next to x and the streaming
     * weights; past 1,024 the buffer and x no longer fit in L1 together and long rows slow down.
     * A multiple of every vector length.
     */
    private static final int CHUNK = 1024;
    /** The converted chunk, one per thread. */
    private static final ThreadLocal<float[]> BUF = ThreadLocal.withInitial(() -> new float[CHUNK]);

    private final MemorySegment data;
    private final int rows, cols;
    private final long rowBytes;
    private final long address;

    /** The kernels for these weights: {@link Finite} when no value is Inf or NaN (one scan at load). */
    static SimdF16Matrix of(MemorySegment data, int rows, int cols) {
        return Simd.allFiniteF16(data.asSlice(0, (long) rows * cols * BYTES))
                ? new Finite(data, rows, cols) : new SimdF16Matrix(data, rows, cols);
    }

    SimdF16Matrix(MemorySegment data, int rows, int cols) {
        // native memory: the fused kernels read it at absolute addresses (heap arrays come from tests)
        this.data = data.isNative() ? data : java.lang.foreign.Arena.ofAuto().allocate(data.byteSize(), 64).copyFrom(data);
        this.address = this.data.address();
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = (long) cols * BYTES;
    }

    /**
     * Weights checked free of Inf/NaN: two rows per pass sharing the x loads, the two rows being
     * row i of each half of the call's rows, so both memory streams run on through consecutive rows
     * (as in {@link SimdBF16Matrix}). Its own class, so that this matvec is compiled on its own:
     * with both kernels one method exceeded C2's inlining node budget.
     */
    static final class Finite extends SimdF16Matrix {
        Finite(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

        @Override
        public void matvec(float[] x, float[] out, int from, int to) {
            if (x.length < cols()) throw new IllegalArgumentException("x has " + x.length + " elements, need " + cols());
            if (to - from < 2) {
                super.matvec(x, out, from, to);
                return;
            }
            // 1 row left: the last two again (same values), through the one call site
            int h = (to - from) / 2, passes = (to - from) % 2 == 0 ? h : h + 1;
            for (int i = 0; i < passes; i++) {
                boolean half = i < h;
                rows2Finite(x, out, half ? from + i : to - 2, half ? h : 1);
            }
        }

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
    }

    /** Whether a product of n tokens runs the fused kernels: finite weights. */
    boolean fusesTokens(int n) {
        return this instanceof Finite && n >= MatMul.FUSED_TOKENS_MIN && n <= MatMul.FUSED_TOKENS_MAX;
    }

    /** Rows r and r + q with the short conversion (data checked finite). */
    final void rows2Finite(float[] x, float[] out, int r, int q) {
        long b0 = r * rowBytes, b1 = b0 + q * rowBytes;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int vec = cols - cols % L;
        for (int j = 0; j < vec; j += L) {
            FloatVector xj = FloatVector.fromArray(F, x, j);
            long o = (long) j * BYTES;
            a0 = Simd.f16Finite(data, b0 + o).fma(xj, a0);
            a1 = Simd.f16Finite(data, b1 + o).fma(xj, a1);
        }
        // both lane sums before any tail: C2 inlines in call order within a node budget
        float s0 = Simd.sum(a0), s1 = Simd.sum(a1);
        out[r] = tail(s0, b0, x, vec);
        out[r + q] = tail(s1, b1, x, vec);
    }

    private float tail(float sum, long b, float[] x, int vec) { return tail(sum, b, x, 0, vec); }

    /** Adds columns [vec, cols) of the row at byte offset b times the x row at xo, one at a time. */
    private float tail(float sum, long b, float[] x, int xo, int vec) {
        for (int j = vec; j < cols; j++) {
            sum = Math.fma(Float.float16ToFloat(data.get(BF16Matrix.LE_SHORT, b + (long) j * BYTES)), x[xo + j], sum);
        }
        return sum;
    }

    // A few tokens at once (batched decode of 2 to MatMul.FUSED_TOKENS_MAX sequences), finite weights: the
    // fused kernels shared with BF16 (SimdHalfFused) with the finite half conversion. Each weight vector is converted once for 2 or 4
    // tokens, and every (row, token) takes rows2Finite's steps (one accumulator fed by FMA in column order,
    // the same lane sum, the same tail), so a token's values are its matvec's.

    /** {@link #pass} as made once (a method reference made per call would be an allocation per call). */
    private final MatMul.FourRowPass fusedPass = this::pass;

    /** out[t * rows + r] for r in [from, to), t in [0, n), n accepted by {@link #fusesTokens}. */
    final void matvecsFused(float[] x, int n, float[] out, int from, int to) {
        MatMul.fused(fusedPass, address, rows, cols, rowBytes, x, n, out, from, to);
    }

    /** Four rows x 2 or 4 tokens for {@link MatMul#fused}: the kernel's accumulators, their lane sums, the tails. */
    final void pass(int g, int r0, int step, float[] x, int xa, int xb, int xc, int xd, float[] o) {
        float[] acc = SimdHalfFused.ACC.get();
        long b0 = r0 * rowBytes, s = step * rowBytes;
        if (g == 2) fourRowsTwoTokens(x, xa, xb, b0, s, acc);
        else fourRowsFourTokens(x, xa, xb, xc, xd, b0, s, acc);
        for (int v = 0; v < 4 * g; v += L) LaneSums.sums(acc, v * L, acc, v); // L accumulators per call
        int vec = cols - cols % L;
        for (int u = 0; u < g; u++) {
            int xo = u == 0 ? xa : u == 1 ? xb : u == 2 ? xc : xd;
            for (int k = 0; k < 4; k++) o[4 * u + k] = tail(acc[k * g + u], b0 + k * s, x, xo, vec);
        }
    }

    /** Accumulators of rows b0 .. b0 + 3 step times tokens at x0, x1 (SimdHalfFused, inlined here): acc vector 2k + t. */
    private void fourRowsTwoTokens(float[] x, int x0, int x1, long b0, long step, float[] acc) {
        SimdHalfFused.fourRowsTwoTokens(true, cols, x, x0, x1, address + b0, step, acc);
    }

    /** Accumulators of rows b0 .. b0 + 3 step times tokens at x0 .. x3: acc vector 4k + t. */
    private void fourRowsFourTokens(float[] x, int x0, int x1, int x2, int x3, long b0, long step, float[] acc) {
        SimdHalfFused.fourRowsFourTokens(true, cols, x, x0, x1, x2, x3, address + b0, step, acc);
    }

    @Override public DType type() { return DType.F16; }
    @Override public int rows() { return rows; }
    @Override public final int cols() { return cols; }
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
        return tail(Simd.sum(a), b, x, vec);
    }

    @Override
    public void row(int r, float[] dst, int dstOff) { F16Matrix.toFloat(data, r * rowBytes, dst, dstOff, cols); }

    @Override public void decodeRow(int r, float[] dst, int off) { row(r, dst, off); }

    @Override
    public void decodeRange(int r, int k0, int n, float[] dst, int off) {
        F16Matrix.toFloat(data, r * rowBytes + (long) k0 * BYTES, dst, off, n);
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
