package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;
import static qwen4j.tensor.Simd.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The tiled, register-blocked matrix-matrix kernel behind the fast {@link Matrix#matmul}s
 * (prefill: n activation rows times the weight matrix).
 *
 * <p>Weights are converted to float32 once per tile of rows (at most {@link #TILE_FLOATS} floats,
 * 4..16 rows, so the tile stays in L2), then every group of 4 tokens is multiplied with every group
 * of 4 rows of the tile: 16 vector accumulators, 4 weight and 4 x loads per 16 FMAs, lane sums
 * once per (row, token) at the end. So weights are read from memory once per call whatever n is,
 * and conversion costs 1/n of a matvec's. Each (row, token) result is one accumulator fed in k
 * order, then a lane sum and the leftover columns, whichever kernel shape computed it.
 */
public final class MatMul {
    private MatMul() {}

    /** Target floats of one converted weight tile (256 KB: fits L2 next to 4 x rows). */
    static final int TILE_FLOATS = 64 * 1024;

    /** What the kernel needs of a matrix: its shape and its rows as float32. */
    public interface Rows {
        int rows();

        int cols();

        /** Row r as float32 into dst[off .. off + cols()). */
        void decodeRow(int r, float[] dst, int off);

        /**
         * Columns [k0, k0 + n) of row r as float32 into dst[off ..]; k0 and n are multiples of
         * {@link #SLICE} (n may end at cols()).
         */
        void decodeRange(int r, int k0, int n, float[] dst, int off);
    }

    /**
     * Rows longer than {@link #LONG_ROW} are taken in column slices of this many (a multiple of
     * every block size), so a tile keeps 16 rows and the x slice of all tokens stays in L2: without
     * it the 18944-column down projection got 4-row tiles and streamed all of x from memory every
     * 4 rows (7B pp256 ran at half the speed of pp64).
     */
    public static final int SLICE = 2048;
    static final int LONG_ROW = 4096;

    /** Columns decoded at once for rows of {@code cols} floats. */
    static int sliceCols(int cols) {
        return cols <= LONG_ROW ? cols : SLICE;
    }

    /** Rows per converted tile for slices of {@code cols} floats: a multiple of 4 in [4, 16]. */
    public static int tileRows(int cols) {
        return Math.max(4, Math.min(16, TILE_FLOATS / Math.max(1, cols) / 4 * 4));
    }

    /** Scratch floats {@link #tiled} needs for rows of {@code cols} floats. */
    public static int scratchFloats(int cols) {
        int kc = sliceCols(cols);
        return tileRows(kc) * kc;
    }

    /** out[t * rows + r] = dot(row r, x row t) for r in [from, to), t in [0, n). */
    public static void tiled(Rows m, float[] x, int n, float[] out, int from, int to, float[] w) {
        int k = m.cols(), rows = m.rows();
        if (x.length < n * k) throw new IllegalArgumentException("x has " + x.length + " floats, need " + n * k);
        if (out.length < n * rows) throw new IllegalArgumentException("out has " + out.length + " floats, need " + n * rows);
        int kcMax = sliceCols(k);
        int tile = tileRows(kcMax);
        for (int r0 = from; r0 < to; r0 += tile) {
            int rt = Math.min(tile, to - r0);
            for (int k0 = 0; k0 < k; k0 += kcMax) {
                int kc = Math.min(kcMax, k - k0);
                boolean add = k0 > 0; // later slices add their partial sums
                if (kc == k) {
                    for (int i = 0; i < rt; i++) m.decodeRow(r0 + i, w, i * kc);
                } else {
                    for (int i = 0; i < rt; i++) m.decodeRange(r0 + i, k0, kc, w, i * kc);
                }
                int t = 0;
                for (; t + 4 <= n; t += 4) {
                    int i = 0;
                    for (; i + 4 <= rt; i += 4) k4x4(w, i * kc, kc, x, t * k + k0, k, out, t * rows + r0 + i, rows, add);
                    for (; i < rt; i++) k1x4(w, i * kc, x, t * k + k0, k, kc, out, t * rows + r0 + i, rows, add);
                }
                for (; t < n; t++) {
                    int i = 0;
                    for (; i + 4 <= rt; i += 4) k4x1(w, i * kc, x, t * k + k0, kc, out, t * rows + r0 + i, add);
                    for (; i < rt; i++) {
                        float v = k1x1(w, i * kc, x, t * k + k0, kc);
                        int o = t * rows + r0 + i;
                        out[o] = add ? out[o] + v : v;
                    }
                }
            }
        }
    }

    /**
     * 4 weight rows (at w0, w0 + ws, ...) x 4 tokens (at x0, x0 + xs, ...), k columns; results go
     * to out[o + row + token * os] (added to it when {@code add}).
     */
    private static void k4x4(float[] w, int w0, int ws, float[] x, int x0, int xs, float[] out, int o, int os, boolean add) {
        int k = ws;
        int w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
        int x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int j = 0;
        for (; j + L <= k; j += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + j);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + j);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + j);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + j);
            FloatVector u = FloatVector.fromArray(F, w, w0 + j);
            a00 = u.fma(v0, a00); a01 = u.fma(v1, a01); a02 = u.fma(v2, a02); a03 = u.fma(v3, a03);
            u = FloatVector.fromArray(F, w, w1 + j);
            a10 = u.fma(v0, a10); a11 = u.fma(v1, a11); a12 = u.fma(v2, a12); a13 = u.fma(v3, a13);
            u = FloatVector.fromArray(F, w, w2 + j);
            a20 = u.fma(v0, a20); a21 = u.fma(v1, a21); a22 = u.fma(v2, a22); a23 = u.fma(v3, a23);
            u = FloatVector.fromArray(F, w, w3 + j);
            a30 = u.fma(v0, a30); a31 = u.fma(v1, a31); a32 = u.fma(v2, a32); a33 = u.fma(v3, a33);
        }
        // lane sums all before any tail (C2 inlines in call order within a node budget)
        float s00 = sum(a00), s01 = sum(a01), s02 = sum(a02), s03 = sum(a03);
        float s10 = sum(a10), s11 = sum(a11), s12 = sum(a12), s13 = sum(a13);
        float s20 = sum(a20), s21 = sum(a21), s22 = sum(a22), s23 = sum(a23);
        float s30 = sum(a30), s31 = sum(a31), s32 = sum(a32), s33 = sum(a33);
        put(out, o, os, s00, s01, s02, s03, add, w, w0, x, x0, xs, j, k);
        put(out, o + 1, os, s10, s11, s12, s13, add, w, w1, x, x0, xs, j, k);
        put(out, o + 2, os, s20, s21, s22, s23, add, w, w2, x, x0, xs, j, k);
        put(out, o + 3, os, s30, s31, s32, s33, add, w, w3, x, x0, xs, j, k);
    }

    /** One weight row's results for 4 tokens: leftover columns [j, k), then store or add. */
    private static void put(float[] out, int o, int os, float s0, float s1, float s2, float s3, boolean add,
                            float[] w, int wr, float[] x, int x0, int xs, int j, int k) {
        s0 = tail(s0, w, wr, x, x0, j, k);
        s1 = tail(s1, w, wr, x, x0 + xs, j, k);
        s2 = tail(s2, w, wr, x, x0 + 2 * xs, j, k);
        s3 = tail(s3, w, wr, x, x0 + 3 * xs, j, k);
        if (add) {
            out[o] += s0; out[o + os] += s1; out[o + 2 * os] += s2; out[o + 3 * os] += s3;
        } else {
            out[o] = s0; out[o + os] = s1; out[o + 2 * os] = s2; out[o + 3 * os] = s3;
        }
    }

    /** 1 weight row x 4 tokens. */
    private static void k1x4(float[] w, int w0, float[] x, int x0, int xs, int k, float[] out, int o, int os, boolean add) {
        int x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (; j + L <= k; j += L) {
            FloatVector u = FloatVector.fromArray(F, w, w0 + j);
            a0 = u.fma(FloatVector.fromArray(F, x, x0 + j), a0);
            a1 = u.fma(FloatVector.fromArray(F, x, x1 + j), a1);
            a2 = u.fma(FloatVector.fromArray(F, x, x2 + j), a2);
            a3 = u.fma(FloatVector.fromArray(F, x, x3 + j), a3);
        }
        float s0 = sum(a0), s1 = sum(a1), s2 = sum(a2), s3 = sum(a3);
        put(out, o, os, s0, s1, s2, s3, add, w, w0, x, x0, xs, j, k);
    }

    /** 4 weight rows x 1 token. */
    private static void k4x1(float[] w, int w0, float[] x, int x0, int k, float[] out, int o, boolean add) {
        int w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (; j + L <= k; j += L) {
            FloatVector v = FloatVector.fromArray(F, x, x0 + j);
            a0 = FloatVector.fromArray(F, w, w0 + j).fma(v, a0);
            a1 = FloatVector.fromArray(F, w, w1 + j).fma(v, a1);
            a2 = FloatVector.fromArray(F, w, w2 + j).fma(v, a2);
            a3 = FloatVector.fromArray(F, w, w3 + j).fma(v, a3);
        }
        float s0 = sum(a0), s1 = sum(a1), s2 = sum(a2), s3 = sum(a3);
        s0 = tail(s0, w, w0, x, x0, j, k);
        s1 = tail(s1, w, w1, x, x0, j, k);
        s2 = tail(s2, w, w2, x, x0, j, k);
        s3 = tail(s3, w, w3, x, x0, j, k);
        if (add) {
            out[o] += s0; out[o + 1] += s1; out[o + 2] += s2; out[o + 3] += s3;
        } else {
            out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3;
        }
    }

    private static float k1x1(float[] w, int w0, float[] x, int x0, int k) {
        FloatVector a = FloatVector.zero(F);
        int j = 0;
        for (; j + L <= k; j += L) a = FloatVector.fromArray(F, w, w0 + j).fma(FloatVector.fromArray(F, x, x0 + j), a);
        return tail(sum(a), w, w0, x, x0, j, k);
    }

    private static float sum(FloatVector v) { return v.reduceLanes(VectorOperators.ADD); }

    /** Adds columns [j, k) one at a time. */
    private static float tail(float s, float[] w, int w0, float[] x, int x0, int j, int k) {
        for (; j < k; j++) s = Math.fma(w[w0 + j], x[x0 + j], s);
        return s;
    }
}
