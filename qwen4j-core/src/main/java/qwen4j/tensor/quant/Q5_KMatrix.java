package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.Q4_KMatrix.kMin;
import static qwen4j.tensor.quant.Q4_KMatrix.kScale;
import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;
import static qwen4j.tensor.quant.QuantSimd.P;
import static qwen4j.tensor.quant.QuantSimd.Q;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/**
 * Q5_K: super-blocks of 256 = fp16 d, fp16 dmin, scales[12] (as Q4_K), qh[32] (5th bit of element e
 * is bit e/32 of qh[e % 32]), qs[128] (as Q4_K); y = (d * sc) * q - dmin * mn, q in 0..31.
 */
final class Q5_KMatrix extends QuantMatrix {
    static final int QK = 256, BB = 176;

    Q5_KMatrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q5_K; }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off), dmin = f16(seg, off + 2);
        for (int c = 0; c < 4; c++) {
            float d1 = d * kScale(seg, off + 4, 2 * c), m1 = dmin * kMin(seg, off + 4, 2 * c);
            float d2 = d * kScale(seg, off + 4, 2 * c + 1), m2 = dmin * kMin(seg, off + 4, 2 * c + 1);
            for (int l = 0; l < 32; l++) {
                int b = u8(seg, off + 48 + 32 * c + l);
                int qh = u8(seg, off + 16 + l);
                int q1 = (b & 15) + (((qh >>> (2 * c)) & 1) << 4);
                int q2 = (b >>> 4) + (((qh >>> (2 * c + 1)) & 1) << 4);
                dst[o + 64 * c + l] = d1 * q1 - m1;
                dst[o + 64 * c + 32 + l] = d2 * q2 - m2;
            }
        }
    }

    @Override
    void dequantizeBlock(MemorySegment seg, long off, float[] dst, int o) { dequant(seg, off, dst, o); }

    // SIMD kernels: Q4_K's (see there: scales and mins decoded eight at a time per super-block, the
    // mins times the sub-block sums of x into a correction, rows in pairs per 64-element chunk with
    // the accumulators parked in the scratch between turns) plus the fifth bit. Per 16 (or Q) quant
    // bytes of chunk c the matching qh bytes are zero-extended too and shifted left 4, so that bit k
    // of qh lands on bit 4 after a shift right by k: low quants take bit 2c, high quants bit 2c + 1,
    // and q = nibble | that bit, on int lanes, converted once.

    @Override int blockSumSpan() { return 32; }

    /** At 16 lanes (QuantMatrix, "rows a quarter of the matrix apart"); below, the pairs already read at full speed. */
    @Override public boolean spreadsRows() { return L == 16; }

    /** Per-thread scratch, Q4_K's layouts: scales d*sc, accumulators and min corrections per row. */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[192]);

    @Override
    float dotRowSimd(long base, float[] x, int nb) {
        float[] one = ONE.get();
        if (L != 16) dotRowsL(base, 0, 1, x, nb, one, 0);
        else dotRows(base, 0, 1, x, nb, one, 0);
        return one[0];
    }

    @Override
    void dotTwoRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L != 16) dotRowsL(base, stride, 2, x, nb, out, r);
        else dotRows(base, stride, 2, x, nb, out, r);
    }

    /** Rows r .. r + 3: four memory streams in flight at 16 and 4 lanes; two pairs at 8 (QuantMatrix, "two pairs below 16 lanes"). */
    @Override
    void dotFourRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L == 8) super.dotFourRowsSimd(base, stride, x, nb, out, r); // two pairs; at 4 lanes four in turn were as fast or faster
        else if (L != 16) dotRowsL(base, stride, 4, x, nb, out, r);
        else dotRows(base, stride, 4, x, nb, out, r);
    }

    /** L = 16: out[r + k] = row k . x for the n (1, 2 or 4) rows at base + k * stride, rows in pairs. */
    private static void dotRows(long base, long stride, int n, float[] x, int nb, float[] out, int r) {
        float[] sums = BLOCK_SUMS.get(), t = SCRATCH.get();
        java.util.Arrays.fill(t, 0f);
        long pair = n == 1 ? 0 : stride;
        for (int blk = 0; blk < nb; blk++) {
            long sb = base + (long) blk * BB;
            Q4_KMatrix.superBlocks(sb, pair, n == 1 ? 2 : n, sums, 8 * blk, t);
            for (int c = 0; c < 4; c++) { // chunk c: 32 bytes, low nibbles = sub-block 2c, high = 2c + 1
                int xo = blk * QK + 64 * c;
                for (int k = 0; k < n; k += 2) { // a pair of rows (a single row pairs with itself)
                    long o = sb + k * stride;
                    FloatVector tl0 = FloatVector.zero(F), th0 = tl0, tl1 = tl0, th1 = tl0;
                    for (int h = 0; h < 32; h += 16) {
                        FloatVector xl = FloatVector.fromArray(F, x, xo + h), xh = FloatVector.fromArray(F, x, xo + 32 + h);
                        IntVector w0 = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + 48 + 32 * c + h, QuantSimd.LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                        IntVector w1 = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + pair + 48 + 32 * c + h, QuantSimd.LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                        IntVector g0 = ((IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + 16 + h, QuantSimd.LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0)).lanewise(VectorOperators.LSHL, 4);
                        IntVector g1 = ((IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + pair + 16 + h, QuantSimd.LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0)).lanewise(VectorOperators.LSHL, 4);
                        tl0 = ((FloatVector) w0.and(15).or(g0.lanewise(VectorOperators.LSHR, 2 * c).and(16))
                                .convertShape(VectorOperators.I2F, F, 0)).fma(xl, tl0);
                        th0 = ((FloatVector) w0.lanewise(VectorOperators.LSHR, 4).or(g0.lanewise(VectorOperators.LSHR, 2 * c + 1).and(16))
                                .convertShape(VectorOperators.I2F, F, 0)).fma(xh, th0);
                        tl1 = ((FloatVector) w1.and(15).or(g1.lanewise(VectorOperators.LSHR, 2 * c).and(16))
                                .convertShape(VectorOperators.I2F, F, 0)).fma(xl, tl1);
                        th1 = ((FloatVector) w1.lanewise(VectorOperators.LSHR, 4).or(g1.lanewise(VectorOperators.LSHR, 2 * c + 1).and(16))
                                .convertShape(VectorOperators.I2F, F, 0)).fma(xh, th1);
                    }
                    FloatVector acc0 = FloatVector.fromArray(F, t, 64 + 16 * k), acc1 = FloatVector.fromArray(F, t, 80 + 16 * k);
                    acc0 = th0.fma(FloatVector.broadcast(F, t[16 * k + 2 * c + 9]), tl0.fma(FloatVector.broadcast(F, t[16 * k + 2 * c + 8]), acc0));
                    acc1 = th1.fma(FloatVector.broadcast(F, t[16 * k + 2 * c + 25]), tl1.fma(FloatVector.broadcast(F, t[16 * k + 2 * c + 24]), acc1));
                    acc0.intoArray(t, 64 + 16 * k);
                    acc1.intoArray(t, 80 + 16 * k);
                }
            }
        }
        Q4_KMatrix.finish(t, n, out, r, 128, 16);
    }

    /** Any L (8: AVX2, 4: NEON): one row at a time per chunk, Q-byte loads in P parts (as Q4_K's dotRowsL). */
    private static void dotRowsL(long base, long stride, int n, float[] x, int nb, float[] out, int r) {
        float[] sums = BLOCK_SUMS.get(), t = SCRATCH.get();
        java.util.Arrays.fill(t, 0f);
        for (int blk = 0; blk < nb; blk++) {
            long sb = base + (long) blk * BB;
            Q4_KMatrix.superBlocksL(sb, stride, n, sums, 8 * blk, t);
            for (int c = 0; c < 4; c++) {
                int xo = blk * QK + 64 * c;
                for (int k = 0; k < n; k++) {
                    long o = sb + k * stride;
                    FloatVector tl = FloatVector.zero(F), th = tl;
                    for (int h = 0; h < 32; h += Q) {
                        ByteVector b = ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + 48 + 32 * c + h, QuantSimd.LE);
                        ByteVector qh = ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + 16 + h, QuantSimd.LE);
                        for (int p = 0; p < P; p++) {
                            boolean first = P == 1 || p == 0;
                            IntVector w = (IntVector) (first ? b : b.rearrange(QuantSimd.UPPER))
                                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                            IntVector g = ((IntVector) (first ? qh : qh.rearrange(QuantSimd.UPPER))
                                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0)).lanewise(VectorOperators.LSHL, 4);
                            FloatVector xl = FloatVector.fromArray(F, x, xo + h + p * L);
                            FloatVector xh = FloatVector.fromArray(F, x, xo + 32 + h + p * L);
                            tl = ((FloatVector) w.and(15).or(g.lanewise(VectorOperators.LSHR, 2 * c).and(16))
                                    .convertShape(VectorOperators.I2F, F, 0)).fma(xl, tl);
                            th = ((FloatVector) w.lanewise(VectorOperators.LSHR, 4).or(g.lanewise(VectorOperators.LSHR, 2 * c + 1).and(16))
                                    .convertShape(VectorOperators.I2F, F, 0)).fma(xh, th);
                        }
                    }
                    FloatVector acc = FloatVector.fromArray(F, t, 64 + 16 * k);
                    acc = th.fma(FloatVector.broadcast(F, t[8 * k + 2 * c + 1]), tl.fma(FloatVector.broadcast(F, t[8 * k + 2 * c]), acc));
                    acc.intoArray(t, 64 + 16 * k);
                }
            }
        }
        Q4_KMatrix.finish(t, n, out, r);
    }
}
