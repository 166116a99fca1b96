package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;
import static qwen4j.tensor.quant.QuantSimd.P;
import static qwen4j.tensor.quant.QuantSimd.Q;
import static qwen4j.tensor.quant.QuantSimd.X1;
import static qwen4j.tensor.quant.QuantSimd.X2;
import static qwen4j.tensor.quant.QuantSimd.X4;
import static qwen4j.tensor.quant.QuantSimd.X8;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/** Q8_0: blocks of 32 = fp16 d, 32 x int8; y = q * d. */
final class Q8_0Matrix extends QuantMatrix {
    static final int QK = 32, BB = 34;

    Q8_0Matrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q8_0; }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off);
        for (int e = 0; e < QK; e++) dst[o + e] = (float) seg.get(BYTE, off + 2 + e) * d;
    }

    @Override
    void dequantizeBlock(MemorySegment seg, long off, float[] dst, int o) { dequant(seg, off, dst, o); }

    // Two versions of each kernel: the tuned one for one part per load (L >= 8; the four-row kernel has
    // one for L = 16, with 16-quant loads, and one for L = 8, with 16-byte loads in two parts) and one for
    // any L (the four-row one serving L = 4).

    @Override
    float dotRowSimd(long base, float[] x, int nb) {
        return P == 1 ? dotRowWide(base, x, nb) : dotRowL(base, x, nb);
    }

    @Override
    void dotTwoRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (P == 1) dotTwoRowsWide(base, stride, x, nb, out, r);
        else dotTwoRowsL(base, stride, x, nb, out, r);
    }

    /** Byte loads per block (2 at L = 16, 4 at L = 8 or 4); a power of two. */
    private static final int STEPS = QK / QuantSimd.Q;

    /**
     * Rows r .. r + 3. Four rows mean four memory streams in flight: with two, one core waited on
     * memory.
     */
    @Override
    void dotFourRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L == 16) dotFourRows16(base, stride, x, nb, out, r);
        else if (L == 8) dotFourRows8(base, stride, x, nb, out, r);
        else dotFourRowsL(base, stride, x, nb, out, r);
    }

    private static float dotRowWide(long base, float[] x, int nb) {
        // One block per iteration: t = sum q*x over the block, acc += t * d. The loop body holds each
        // vector operation once (C2 unrolls it); that keeps the method under C2's inlining node cutoff.
        FloatVector acc = FloatVector.zero(F);
        long off = base;
        for (int b = 0, xo = 0; b < nb; b++, off += BB, xo += QK) {
            FloatVector t = QuantSimd.toFloat(QuantSimd.load(ALL, off + 2)).mul(QuantSimd.x(x, xo));
            for (int k = L; k < QK; k += L) {
                t = QuantSimd.toFloat(QuantSimd.load(ALL, off + 2 + k)).fma(QuantSimd.x(x, xo + k), t);
            }
            acc = t.fma(FloatVector.broadcast(F, f16(ALL, off)), acc);
        }
        if (L >= 16) acc = acc.add(acc.rearrange(X8));
        if (L >= 8) acc = acc.add(acc.rearrange(X4));
        acc = acc.add(acc.rearrange(X2));
        acc = acc.add(acc.rearrange(X1));
        return acc.lane(0);
    }

    private static float dotRowL(long base, float[] x, int nb) {
        // One block per iteration: t = sum q*x over the block, acc += t * d. The loop body holds each
        // vector operation once (C2 unrolls it); that keeps the method under C2's inlining node cutoff.
        // Q quants per load, converted in P parts of L (the first part of the block peeled: t = q*x).
        FloatVector acc = FloatVector.zero(F);
        long off = base;
        for (int b = 0, xo = 0; b < nb; b++, off += BB, xo += QK) {
            ByteVector q = QuantSimd.load(ALL, off + 2);
            FloatVector t = QuantSimd.toFloat(q, 0).mul(QuantSimd.x(x, xo));
            for (int p = 1; p < P; p++) t = QuantSimd.toFloat(q, p).fma(QuantSimd.x(x, xo + p * L), t);
            for (int k = Q; k < QK; k += Q) {
                q = QuantSimd.load(ALL, off + 2 + k);
                for (int p = 0; p < P; p++) t = QuantSimd.toFloat(q, p).fma(QuantSimd.x(x, xo + k + p * L), t);
            }
            acc = t.fma(FloatVector.broadcast(F, f16(ALL, off)), acc);
        }
        if (L >= 16) acc = acc.add(acc.rearrange(X8));
        if (L >= 8) acc = acc.add(acc.rearrange(X4));
        acc = acc.add(acc.rearrange(X2));
        acc = acc.add(acc.rearrange(X1));
        return acc.lane(0);
    }

    private static void dotTwoRowsWide(long base, long stride, float[] x, int nb, float[] out, int r) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        long off = base;
        for (int b = 0, xo = 0; b < nb; b++, off += BB, xo += QK) {
            FloatVector xv = QuantSimd.x(x, xo);
            FloatVector t0 = QuantSimd.toFloat(QuantSimd.load(ALL, off + 2)).mul(xv);
            FloatVector t1 = QuantSimd.toFloat(QuantSimd.load(ALL, off + stride + 2)).mul(xv);
            for (int k = L; k < QK; k += L) {
                xv = QuantSimd.x(x, xo + k);
                t0 = QuantSimd.toFloat(QuantSimd.load(ALL, off + 2 + k)).fma(xv, t0);
                t1 = QuantSimd.toFloat(QuantSimd.load(ALL, off + stride + 2 + k)).fma(xv, t1);
            }
            acc0 = t0.fma(FloatVector.broadcast(F, f16(ALL, off)), acc0);
            acc1 = t1.fma(FloatVector.broadcast(F, f16(ALL, off + stride)), acc1);
        }
        if (L >= 16) {
            acc0 = acc0.add(acc0.rearrange(X8)); acc1 = acc1.add(acc1.rearrange(X8));
        }
        if (L >= 8) {
            acc0 = acc0.add(acc0.rearrange(X4)); acc1 = acc1.add(acc1.rearrange(X4));
        }
        acc0 = acc0.add(acc0.rearrange(X2)); acc1 = acc1.add(acc1.rearrange(X2));
        acc0 = acc0.add(acc0.rearrange(X1)); acc1 = acc1.add(acc1.rearrange(X1));
        out[r] = acc0.lane(0);
        out[r + 1] = acc1.lane(0);
    }

    private static void dotTwoRowsL(long base, long stride, float[] x, int nb, float[] out, int r) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        long off = base;
        for (int b = 0, xo = 0; b < nb; b++, off += BB, xo += QK) {
            ByteVector q0 = QuantSimd.load(ALL, off + 2), q1 = QuantSimd.load(ALL, off + stride + 2);
            FloatVector xv = QuantSimd.x(x, xo);
            FloatVector t0 = QuantSimd.toFloat(q0, 0).mul(xv);
            FloatVector t1 = QuantSimd.toFloat(q1, 0).mul(xv);
            for (int p = 1; p < P; p++) {
                xv = QuantSimd.x(x, xo + p * L);
                t0 = QuantSimd.toFloat(q0, p).fma(xv, t0);
                t1 = QuantSimd.toFloat(q1, p).fma(xv, t1);
            }
            for (int k = Q; k < QK; k += Q) {
                q0 = QuantSimd.load(ALL, off + 2 + k);
                q1 = QuantSimd.load(ALL, off + stride + 2 + k);
                for (int p = 0; p < P; p++) {
                    xv = QuantSimd.x(x, xo + k + p * L);
                    t0 = QuantSimd.toFloat(q0, p).fma(xv, t0);
                    t1 = QuantSimd.toFloat(q1, p).fma(xv, t1);
                }
            }
            acc0 = t0.fma(FloatVector.broadcast(F, f16(ALL, off)), acc0);
            acc1 = t1.fma(FloatVector.broadcast(F, f16(ALL, off + stride)), acc1);
        }
        if (L >= 16) {
            acc0 = acc0.add(acc0.rearrange(X8)); acc1 = acc1.add(acc1.rearrange(X8));
        }
        if (L >= 8) {
            acc0 = acc0.add(acc0.rearrange(X4)); acc1 = acc1.add(acc1.rearrange(X4));
        }
        acc0 = acc0.add(acc0.rearrange(X2)); acc1 = acc1.add(acc1.rearrange(X2));
        acc0 = acc0.add(acc0.rearrange(X1)); acc1 = acc1.add(acc1.rearrange(X1));
        out[r] = acc0.lane(0);
        out[r + 1] = acc1.lane(0);
    }

    /** L = 16 only: one 16-quant half block per iteration. */
    private static void dotFourRows16(long base, long stride, float[] x, int nb, float[] out, int r) {
        // One 16-quant half block per iteration (scales applied after the second half): a loop body
        // with fewer Vector API calls stays inside C2's inlining node budget; more calls per body
        // leave some out of line, and those box their vectors.
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        FloatVector t0 = acc0, t1 = acc0, t2 = acc0, t3 = acc0;
        long off = base + 2;
        for (int h = 0, xo = 0; h < 2 * nb; h++, xo += L) {
            FloatVector xv = QuantSimd.x(x, xo);
            t0 = QuantSimd.toFloat(QuantSimd.load(ALL, off)).fma(xv, t0);
            t1 = QuantSimd.toFloat(QuantSimd.load(ALL, off + stride)).fma(xv, t1);
            t2 = QuantSimd.toFloat(QuantSimd.load(ALL, off + 2 * stride)).fma(xv, t2);
            t3 = QuantSimd.toFloat(QuantSimd.load(ALL, off + 3 * stride)).fma(xv, t3);
            if ((h & 1) == 0) {
                off += L;
            } else {
                long d = off - L - 2;
                acc0 = t0.fma(FloatVector.broadcast(F, f16(ALL, d)), acc0);
                acc1 = t1.fma(FloatVector.broadcast(F, f16(ALL, d + stride)), acc1);
                acc2 = t2.fma(FloatVector.broadcast(F, f16(ALL, d + 2 * stride)), acc2);
                acc3 = t3.fma(FloatVector.broadcast(F, f16(ALL, d + 3 * stride)), acc3);
                t0 = FloatVector.zero(F);
                t1 = t0;
                t2 = t0;
                t3 = t0;
                off += L + 2;
            }
        }
        acc0 = acc0.add(acc0.rearrange(X8)); acc1 = acc1.add(acc1.rearrange(X8));
        acc2 = acc2.add(acc2.rearrange(X8)); acc3 = acc3.add(acc3.rearrange(X8));
        acc0 = acc0.add(acc0.rearrange(X4)); acc1 = acc1.add(acc1.rearrange(X4));
        acc2 = acc2.add(acc2.rearrange(X4)); acc3 = acc3.add(acc3.rearrange(X4));
        acc0 = acc0.add(acc0.rearrange(X2)); acc1 = acc1.add(acc1.rearrange(X2));
        acc2 = acc2.add(acc2.rearrange(X2)); acc3 = acc3.add(acc3.rearrange(X2));
        acc0 = acc0.add(acc0.rearrange(X1)); acc1 = acc1.add(acc1.rearrange(X1));
        acc2 = acc2.add(acc2.rearrange(X1)); acc3 = acc3.add(acc3.rearrange(X1));
        out[r] = acc0.lane(0);
        out[r + 1] = acc1.lane(0);
        out[r + 2] = acc2.lane(0);
        out[r + 3] = acc3.lane(0);
    }

    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** Bytes 8..15 of a 16-byte load moved to the front. */
    private static final VectorShuffle<Byte> HI8 = VectorShuffle.fromOp(B16, i -> (i + 8) & 15);

    /**
     * L = 8 (AVX2): a block's 32 quants in two 16-byte loads per row, each converted in two 8-lane parts
     * (the upper one after a byte shuffle): half the bounds-checked loads of {@link #dotFourRowsL}, the
     * same operations per row in the same order.
     */
    private static void dotFourRows8(long base, long stride, float[] x, int nb, float[] out, int r) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int blk = 0; blk < nb; blk++) {
            long off = base + (long) blk * BB;
            int xo = blk * QK;
            FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0;
            for (int h = 0; h < 32; h += 16) {
                ByteVector q0 = ByteVector.fromMemorySegment(B16, ALL, off + 2 + h, QuantSimd.LE);
                ByteVector q1 = ByteVector.fromMemorySegment(B16, ALL, off + stride + 2 + h, QuantSimd.LE);
                ByteVector q2 = ByteVector.fromMemorySegment(B16, ALL, off + 2 * stride + 2 + h, QuantSimd.LE);
                ByteVector q3 = ByteVector.fromMemorySegment(B16, ALL, off + 3 * stride + 2 + h, QuantSimd.LE);
                FloatVector xv = FloatVector.fromArray(F, x, xo + h);
                t0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, F, 0)).fma(xv, t0);
                t1 = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).fma(xv, t1);
                t2 = ((FloatVector) q2.convertShape(VectorOperators.B2F, F, 0)).fma(xv, t2);
                t3 = ((FloatVector) q3.convertShape(VectorOperators.B2F, F, 0)).fma(xv, t3);
                xv = FloatVector.fromArray(F, x, xo + h + 8);
                t0 = ((FloatVector) q0.rearrange(HI8).convertShape(VectorOperators.B2F, F, 0)).fma(xv, t0);
                t1 = ((FloatVector) q1.rearrange(HI8).convertShape(VectorOperators.B2F, F, 0)).fma(xv, t1);
                t2 = ((FloatVector) q2.rearrange(HI8).convertShape(VectorOperators.B2F, F, 0)).fma(xv, t2);
                t3 = ((FloatVector) q3.rearrange(HI8).convertShape(VectorOperators.B2F, F, 0)).fma(xv, t3);
            }
            acc0 = t0.fma(FloatVector.broadcast(F, f16(ALL, off)), acc0);
            acc1 = t1.fma(FloatVector.broadcast(F, f16(ALL, off + stride)), acc1);
            acc2 = t2.fma(FloatVector.broadcast(F, f16(ALL, off + 2 * stride)), acc2);
            acc3 = t3.fma(FloatVector.broadcast(F, f16(ALL, off + 3 * stride)), acc3);
        }
        acc0 = acc0.add(acc0.rearrange(X4)); acc1 = acc1.add(acc1.rearrange(X4));
        acc2 = acc2.add(acc2.rearrange(X4)); acc3 = acc3.add(acc3.rearrange(X4));
        acc0 = acc0.add(acc0.rearrange(X2)); acc1 = acc1.add(acc1.rearrange(X2));
        acc2 = acc2.add(acc2.rearrange(X2)); acc3 = acc3.add(acc3.rearrange(X2));
        acc0 = acc0.add(acc0.rearrange(X1)); acc1 = acc1.add(acc1.rearrange(X1));
        acc2 = acc2.add(acc2.rearrange(X1)); acc3 = acc3.add(acc3.rearrange(X1));
        out[r] = acc0.lane(0);
        out[r + 1] = acc1.lane(0);
        out[r + 2] = acc2.lane(0);
        out[r + 3] = acc3.lane(0);
    }

    /** Any L (used at 4): one Q-quant load of each row per iteration (P parts), the scales applied after the block's last. */
    private static void dotFourRowsL(long base, long stride, float[] x, int nb, float[] out, int r) {
        // One byte load of each row per iteration (Q quants, P parts), the scales applied after the
        // block's last: a loop body with fewer Vector API calls stays inside C2's inlining node
        // budget; more calls per body leave some out of line, and those box their vectors.
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        FloatVector t0 = acc0, t1 = acc0, t2 = acc0, t3 = acc0;
        long off = base + 2;
        for (int h = 0, xo = 0; h < STEPS * nb; h++, xo += Q) {
            ByteVector q0 = QuantSimd.load(ALL, off), q1 = QuantSimd.load(ALL, off + stride);
            ByteVector q2 = QuantSimd.load(ALL, off + 2 * stride), q3 = QuantSimd.load(ALL, off + 3 * stride);
            for (int p = 0; p < P; p++) {
                FloatVector xv = QuantSimd.x(x, xo + p * L);
                t0 = QuantSimd.toFloat(q0, p).fma(xv, t0);
                t1 = QuantSimd.toFloat(q1, p).fma(xv, t1);
                t2 = QuantSimd.toFloat(q2, p).fma(xv, t2);
                t3 = QuantSimd.toFloat(q3, p).fma(xv, t3);
            }
            if ((h & (STEPS - 1)) != STEPS - 1) {
                off += Q;
            } else {
                long d = off - (QK - Q) - 2;
                acc0 = t0.fma(FloatVector.broadcast(F, f16(ALL, d)), acc0);
                acc1 = t1.fma(FloatVector.broadcast(F, f16(ALL, d + stride)), acc1);
                acc2 = t2.fma(FloatVector.broadcast(F, f16(ALL, d + 2 * stride)), acc2);
                acc3 = t3.fma(FloatVector.broadcast(F, f16(ALL, d + 3 * stride)), acc3);
                t0 = FloatVector.zero(F);
                t1 = t0;
                t2 = t0;
                t3 = t0;
                off += Q + 2;
            }
        }
        if (L >= 16) {
            acc0 = acc0.add(acc0.rearrange(X8)); acc1 = acc1.add(acc1.rearrange(X8));
            acc2 = acc2.add(acc2.rearrange(X8)); acc3 = acc3.add(acc3.rearrange(X8));
        }
        if (L >= 8) {
            acc0 = acc0.add(acc0.rearrange(X4)); acc1 = acc1.add(acc1.rearrange(X4));
            acc2 = acc2.add(acc2.rearrange(X4)); acc3 = acc3.add(acc3.rearrange(X4));
        }
        acc0 = acc0.add(acc0.rearrange(X2)); acc1 = acc1.add(acc1.rearrange(X2));
        acc2 = acc2.add(acc2.rearrange(X2)); acc3 = acc3.add(acc3.rearrange(X2));
        acc0 = acc0.add(acc0.rearrange(X1)); acc1 = acc1.add(acc1.rearrange(X1));
        acc2 = acc2.add(acc2.rearrange(X1)); acc3 = acc3.add(acc3.rearrange(X1));
        out[r] = acc0.lane(0);
        out[r + 1] = acc1.lane(0);
        out[r + 2] = acc2.lane(0);
        out[r + 3] = acc3.lane(0);
    }

    // A few tokens at once (batched decode of 2-8 sequences, MatMul.fused), L = 16: per
    // block, each row's two 16-quant halves become float vectors once, then every token takes its
    // matvec's steps (t = q x over the block, acc += t * d, a lane sum at the end). The Vector API is
    // called directly (no helpers): 16 accumulators are near C2's node budget.

    @Override boolean hasFusedKernels() { return L == 16; }

    /**
     * 9-12 tokens at 16 lanes, below the paired token-vector kernel (7B file, aggregate decode against the float
     * tiles: 10 sequences 1.3-1.5x, 12 1.2-1.3x; 16 sequences 0.67-0.86x, so the tiles keep 13-16).
     */
    @Override int scaledTokensMax() { return L == 16 ? qwen4j.tensor.MatMul.PAIRED_TOKENS_MIN - 1 : 0; }

    @Override
    void fourRowsTwoTokens(long base, long stride, float[] x, int x0, int x1, int nb, float[] acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            float d0 = Float.float16ToFloat(ALL.get(LE_SHORT, off)), d1 = Float.float16ToFloat(ALL.get(LE_SHORT, off + stride));
            float d2 = Float.float16ToFloat(ALL.get(LE_SHORT, off + 2 * stride)), d3 = Float.float16ToFloat(ALL.get(LE_SHORT, off + 3 * stride));
            FloatVector xl = FloatVector.fromArray(F, x, x0 + xo), xh = FloatVector.fromArray(F, x, x0 + xo + 16);
            FloatVector yl = FloatVector.fromArray(F, x, x1 + xo), yh = FloatVector.fromArray(F, x, x1 + xo + 16);
            FloatVector wl = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            FloatVector wh = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            FloatVector d = FloatVector.broadcast(F, d0);
            a0 = wh.fma(xh, wl.mul(xl)).fma(d, a0);
            b0 = wh.fma(yh, wl.mul(yl)).fma(d, b0);
            wl = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + stride + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            wh = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + stride + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            d = FloatVector.broadcast(F, d1);
            a1 = wh.fma(xh, wl.mul(xl)).fma(d, a1);
            b1 = wh.fma(yh, wl.mul(yl)).fma(d, b1);
            wl = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2 * stride + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            wh = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2 * stride + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            d = FloatVector.broadcast(F, d2);
            a2 = wh.fma(xh, wl.mul(xl)).fma(d, a2);
            b2 = wh.fma(yh, wl.mul(yl)).fma(d, b2);
            wl = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 3 * stride + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            wh = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 3 * stride + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            d = FloatVector.broadcast(F, d3);
            a3 = wh.fma(xh, wl.mul(xl)).fma(d, a3);
            b3 = wh.fma(yh, wl.mul(yl)).fma(d, b3);
        }
        a0.intoArray(acc, 0); a1.intoArray(acc, L); a2.intoArray(acc, 2 * L); a3.intoArray(acc, 3 * L);
        b0.intoArray(acc, 4 * L); b1.intoArray(acc, 5 * L); b2.intoArray(acc, 6 * L); b3.intoArray(acc, 7 * L);
    }

    @Override
    void fourRowsFourTokens(long base, long stride, float[] x, int x0, int x1, int x2, int x3, int nb, float[] acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, e0 = a0, e1 = a0, e2 = a0, e3 = a0;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            FloatVector xl0 = FloatVector.fromArray(F, x, x0 + xo), xh0 = FloatVector.fromArray(F, x, x0 + xo + 16);
            FloatVector xl1 = FloatVector.fromArray(F, x, x1 + xo), xh1 = FloatVector.fromArray(F, x, x1 + xo + 16);
            FloatVector xl2 = FloatVector.fromArray(F, x, x2 + xo), xh2 = FloatVector.fromArray(F, x, x2 + xo + 16);
            FloatVector xl3 = FloatVector.fromArray(F, x, x3 + xo), xh3 = FloatVector.fromArray(F, x, x3 + xo + 16);
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off)));
            FloatVector wl = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            FloatVector wh = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            a0 = wh.fma(xh0, wl.mul(xl0)).fma(d, a0); a1 = wh.fma(xh1, wl.mul(xl1)).fma(d, a1);
            a2 = wh.fma(xh2, wl.mul(xl2)).fma(d, a2); a3 = wh.fma(xh3, wl.mul(xl3)).fma(d, a3);
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off + stride)));
            wl = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + stride + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            wh = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + stride + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            b0 = wh.fma(xh0, wl.mul(xl0)).fma(d, b0); b1 = wh.fma(xh1, wl.mul(xl1)).fma(d, b1);
            b2 = wh.fma(xh2, wl.mul(xl2)).fma(d, b2); b3 = wh.fma(xh3, wl.mul(xl3)).fma(d, b3);
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off + 2 * stride)));
            wl = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2 * stride + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            wh = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2 * stride + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            c0 = wh.fma(xh0, wl.mul(xl0)).fma(d, c0); c1 = wh.fma(xh1, wl.mul(xl1)).fma(d, c1);
            c2 = wh.fma(xh2, wl.mul(xl2)).fma(d, c2); c3 = wh.fma(xh3, wl.mul(xl3)).fma(d, c3);
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off + 3 * stride)));
            wl = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 3 * stride + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            wh = (FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 3 * stride + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0);
            e0 = wh.fma(xh0, wl.mul(xl0)).fma(d, e0); e1 = wh.fma(xh1, wl.mul(xl1)).fma(d, e1);
            e2 = wh.fma(xh2, wl.mul(xl2)).fma(d, e2); e3 = wh.fma(xh3, wl.mul(xl3)).fma(d, e3);
        }
        a0.intoArray(acc, 0); b0.intoArray(acc, L); c0.intoArray(acc, 2 * L); e0.intoArray(acc, 3 * L);
        a1.intoArray(acc, 4 * L); b1.intoArray(acc, 5 * L); c1.intoArray(acc, 6 * L); e1.intoArray(acc, 7 * L);
        a2.intoArray(acc, 8 * L); b2.intoArray(acc, 9 * L); c2.intoArray(acc, 10 * L); e2.intoArray(acc, 11 * L);
        a3.intoArray(acc, 12 * L); b3.intoArray(acc, 13 * L); c3.intoArray(acc, 14 * L); e3.intoArray(acc, 15 * L);
    }

    /** As Q4_0's: 9-16 tokens, each row's weights times d once per block, then two FMAs per token. */
    @Override
    void fourRowsFourTokensScaled(long base, long stride, float[] x, int x0, int x1, int x2, int x3, int nb, float[] acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, e0 = a0, e1 = a0, e2 = a0, e3 = a0;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            FloatVector xl0 = FloatVector.fromArray(F, x, x0 + xo), xh0 = FloatVector.fromArray(F, x, x0 + xo + 16);
            FloatVector xl1 = FloatVector.fromArray(F, x, x1 + xo), xh1 = FloatVector.fromArray(F, x, x1 + xo + 16);
            FloatVector xl2 = FloatVector.fromArray(F, x, x2 + xo), xh2 = FloatVector.fromArray(F, x, x2 + xo + 16);
            FloatVector xl3 = FloatVector.fromArray(F, x, x3 + xo), xh3 = FloatVector.fromArray(F, x, x3 + xo + 16);
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off)));
            FloatVector wl = ((FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d);
            FloatVector wh = ((FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d);
            a0 = wh.fma(xh0, wl.fma(xl0, a0)); a1 = wh.fma(xh1, wl.fma(xl1, a1));
            a2 = wh.fma(xh2, wl.fma(xl2, a2)); a3 = wh.fma(xh3, wl.fma(xl3, a3));
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off + stride)));
            wl = ((FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + stride + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d);
            wh = ((FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + stride + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d);
            b0 = wh.fma(xh0, wl.fma(xl0, b0)); b1 = wh.fma(xh1, wl.fma(xl1, b1));
            b2 = wh.fma(xh2, wl.fma(xl2, b2)); b3 = wh.fma(xh3, wl.fma(xl3, b3));
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off + 2 * stride)));
            wl = ((FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2 * stride + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d);
            wh = ((FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2 * stride + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d);
            c0 = wh.fma(xh0, wl.fma(xl0, c0)); c1 = wh.fma(xh1, wl.fma(xl1, c1));
            c2 = wh.fma(xh2, wl.fma(xl2, c2)); c3 = wh.fma(xh3, wl.fma(xl3, c3));
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off + 3 * stride)));
            wl = ((FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 3 * stride + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d);
            wh = ((FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 3 * stride + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d);
            e0 = wh.fma(xh0, wl.fma(xl0, e0)); e1 = wh.fma(xh1, wl.fma(xl1, e1));
            e2 = wh.fma(xh2, wl.fma(xl2, e2)); e3 = wh.fma(xh3, wl.fma(xl3, e3));
        }
        a0.intoArray(acc, 0); b0.intoArray(acc, L); c0.intoArray(acc, 2 * L); e0.intoArray(acc, 3 * L);
        a1.intoArray(acc, 4 * L); b1.intoArray(acc, 5 * L); c1.intoArray(acc, 6 * L); e1.intoArray(acc, 7 * L);
        a2.intoArray(acc, 8 * L); b2.intoArray(acc, 9 * L); c2.intoArray(acc, 10 * L); e2.intoArray(acc, 11 * L);
        a3.intoArray(acc, 12 * L); b3.intoArray(acc, 13 * L); c3.intoArray(acc, 14 * L); e3.intoArray(acc, 15 * L);
    }
}
