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
    }

    /** Rows per converted tile for rows of {@code cols} floats: a multiple of 4 in [4, 16]. */
    public static int tileRows(int cols) {
        return Math.max(4, Math.min(16, TILE_FLOATS / Math.max(1, cols) / 4 * 4));
    }

    /** Scratch floats {@link #tiled} needs for rows of {@code cols} floats. */
    public static int scratchFloats(int cols) {
        return tileRows(cols) * cols;
    }

    /** out[t * rows + r] = dot(row r, x row t) for r in [from, to), t in [0, n). */
    public static void tiled(Rows m, float[] x, int n, float[] out, int from, int to, float[] w) {
        int k = m.cols(), rows = m.rows();
        if (x.length < n * k) throw new IllegalArgumentException("x has " + x.length + " floats, need " + n * k);
        if (out.length < n * rows) throw new IllegalArgumentException("out has " + out.length + " floats, need " + n * rows);
        int tile = tileRows(k);
        for (int r0 = from; r0 < to; r0 += tile) {
            int rt = Math.min(tile, to - r0);
            for (int i = 0; i < rt; i++) m.decodeRow(r0 + i, w, i * k);
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                int i = 0;
                for (; i + 4 <= rt; i += 4) k4x4(w, i * k, x, t * k, k, out, t * rows + r0 + i, rows);
                for (; i < rt; i++) k1x4(w, i * k, x, t * k, k, out, t * rows + r0 + i, rows);
            }
            for (; t < n; t++) {
                int i = 0;
                for (; i + 4 <= rt; i += 4) k4x1(w, i * k, x, t * k, k, out, t * rows + r0 + i);
                for (; i < rt; i++) out[t * rows + r0 + i] = k1x1(w, i * k, x, t * k, k);
            }
        }
    }

    /** 4 weight rows (at w0, w0 + k, ...) x 4 tokens (at x0, x0 + k, ...). */
    private static void k4x4(float[] w, int w0, float[] x, int x0, int k, float[] out, int o, int os) {
        int w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        int x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
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
        // out[(token) * os + row]
        out[o] = sum(a00); out[o + os] = sum(a01); out[o + 2 * os] = sum(a02); out[o + 3 * os] = sum(a03);
        out[o + 1] = sum(a10); out[o + 1 + os] = sum(a11); out[o + 1 + 2 * os] = sum(a12); out[o + 1 + 3 * os] = sum(a13);
        out[o + 2] = sum(a20); out[o + 2 + os] = sum(a21); out[o + 2 + 2 * os] = sum(a22); out[o + 2 + 3 * os] = sum(a23);
        out[o + 3] = sum(a30); out[o + 3 + os] = sum(a31); out[o + 3 + 2 * os] = sum(a32); out[o + 3 + 3 * os] = sum(a33);
        if (j < k) {
            for (int r = 0; r < 4; r++) {
                for (int t = 0; t < 4; t++) out[o + r + t * os] = tail(out[o + r + t * os], w, w0 + r * k, x, x0 + t * k, j, k);
            }
        }
    }

    /** 1 weight row x 4 tokens. */
    private static void k1x4(float[] w, int w0, float[] x, int x0, int k, float[] out, int o, int os) {
        int x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (; j + L <= k; j += L) {
            FloatVector u = FloatVector.fromArray(F, w, w0 + j);
            a0 = u.fma(FloatVector.fromArray(F, x, x0 + j), a0);
            a1 = u.fma(FloatVector.fromArray(F, x, x1 + j), a1);
            a2 = u.fma(FloatVector.fromArray(F, x, x2 + j), a2);
            a3 = u.fma(FloatVector.fromArray(F, x, x3 + j), a3);
        }
        out[o] = tail(sum(a0), w, w0, x, x0, j, k);
        out[o + os] = tail(sum(a1), w, w0, x, x1, j, k);
        out[o + 2 * os] = tail(sum(a2), w, w0, x, x2, j, k);
        out[o + 3 * os] = tail(sum(a3), w, w0, x, x3, j, k);
    }

    /** 4 weight rows x 1 token. */
    private static void k4x1(float[] w, int w0, float[] x, int x0, int k, float[] out, int o) {
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
        out[o] = tail(sum(a0), w, w0, x, x0, j, k);
        out[o + 1] = tail(sum(a1), w, w1, x, x0, j, k);
        out[o + 2] = tail(sum(a2), w, w2, x, x0, j, k);
        out[o + 3] = tail(sum(a3), w, w3, x, x0, j, k);
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
