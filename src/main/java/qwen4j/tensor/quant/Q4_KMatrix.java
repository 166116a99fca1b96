package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/**
 * Q4_K: super-blocks of 256 = fp16 d, fp16 dmin, scales[12] (eight 6-bit scale/min pairs), qs[128]
 * (chunk c of 64: low nibbles of qs[32c..] then high nibbles); y = (d * sc) * q - dmin * mn.
 */
final class Q4_KMatrix extends QuantMatrix {
    static final int QK = 256, BB = 144;

    Q4_KMatrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q4_K; }

    /** 6-bit scale of sub-block s (0..7) from the 12 packed bytes at sb (shared by Q4_K and Q5_K). */
    static int kScale(MemorySegment seg, long sb, int s) {
        return s < 4 ? u8(seg, sb + s) & 63 : (u8(seg, sb + s + 4) & 15) | ((u8(seg, sb + s - 4) >>> 6) << 4);
    }

    /** 6-bit min of sub-block s (0..7). */
    static int kMin(MemorySegment seg, long sb, int s) {
        return s < 4 ? u8(seg, sb + s + 4) & 63 : (u8(seg, sb + s + 4) >>> 4) | ((u8(seg, sb + s) >>> 6) << 4);
    }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off), dmin = f16(seg, off + 2);
        for (int c = 0; c < 4; c++) {
            float d1 = d * kScale(seg, off + 4, 2 * c), m1 = dmin * kMin(seg, off + 4, 2 * c);
            float d2 = d * kScale(seg, off + 4, 2 * c + 1), m2 = dmin * kMin(seg, off + 4, 2 * c + 1);
            for (int l = 0; l < 32; l++) {
                int b = u8(seg, off + 16 + 32 * c + l);
                dst[o + 64 * c + l] = d1 * (b & 15) - m1;
                dst[o + 64 * c + 32 + l] = d2 * (b >>> 4) - m2;
            }
        }
    }

    @Override
    void dequantizeBlock(MemorySegment seg, long off, float[] dst, int o) { dequant(seg, off, dst, o); }

    // SIMD kernels: sum over a sub-block of (d*sc*q - dmin*mn) * x = d*sc * sum q*x - dmin*mn * sum x.
    // The nibbles convert straight to float and meet x in an FMA; each 32-element sub-block's sum
    // gets its scale once, and the mins go into a scalar correction with the sub-block sums of x
    // (BLOCK_SUMS). The loops run over half chunks (16 bytes: 16 low and 16 high nibbles) so that a
    // body holds few Vector API calls: C2 inlines within a node budget per method, and an operation
    // left out of line boxes its vector. 1-, 2- and 4-row kernels do the same operations per row in
    // the same order, so a row's result does not depend on how rows are grouped.

    @Override boolean usesBlockSums() { return L == 16; }

    /** The eight 6-bit scales of a super-block, scale s in byte s, from its 12 packed bytes (as sa, sb). */
    static long scales8(long sa, int sb) {
        long lo = sa & 0x3F3F3F3FL;                                    // s < 4: bits 0-5 of byte s
        long hi = (sb & 0x0F0F0F0FL) | ((sa & 0xC0C0C0C0L) >>> 2);     // s >= 4: byte s+4 low nibble, top bits of byte s-4
        return lo | hi << 32;
    }

    /** The eight 6-bit mins, min s in byte s. */
    static long mins8(long sa, int sb) {
        long lo = (sa >>> 32) & 0x3F3F3F3FL;                           // s < 4: bits 0-5 of byte s+4
        long hi = ((sb >>> 4) & 0x0F0F0F0FL) | (((sa >>> 32) & 0xC0C0C0C0L) >>> 2); // s >= 4: high nibble of byte s+4, top bits of byte s
        return lo | hi << 32;
    }

    /** Offset of half chunk h (16 bytes) of the row at base. */
    private static long half(long base, int h) {
        return base + (long) (h >> 3) * BB + 16 + 16 * (h & 7);
    }

    /** x offset of the low nibbles of half chunk h (the high ones are 32 further). */
    private static int xAt(int h) {
        return (h >> 3) * QK + 64 * ((h >> 1) & 3) + 16 * (h & 1);
    }

    @Override
    float dotRowSimd(MemorySegment seg, long base, float[] x, int nb) {
        if (L != 16) return dotRowSimd8(seg, base, x, nb);
        float[] sums = BLOCK_SUMS.get();
        FloatVector acc = FloatVector.zero(F), tl = acc, th = acc;
        float corr = 0f;
        for (int h = 0; h < 8 * nb; h++) {
            int xo = xAt(h);
            FloatVector xl = QuantSimd.x(x, xo), xh = QuantSimd.x(x, xo + 32);
            ByteVector b = QuantSimd.load(seg, half(base, h));
            tl = QuantSimd.lowNibbles(b).fma(xl, tl);
            th = QuantSimd.highNibblesByIntShift(b).fma(xh, th);
            if ((h & 1) == 1) {
                long sb = base + (long) (h >> 3) * BB;
                int s = (h >> 1 & 3) * 2, si = (h >> 3) * 8 + s;
                long sa = seg.get(LE_LONG, sb + 4);
                int sbits = seg.get(LE_INT, sb + 12);
                long sc = scales8(sa, sbits) >>> (8 * s), mn = mins8(sa, sbits) >>> (8 * s);
                int dd = seg.get(LE_INT, sb);
                float d = Float.float16ToFloat((short) dd), dmin = Float.float16ToFloat((short) (dd >>> 16));
                acc = tl.fma(FloatVector.broadcast(F, d * (int) (sc & 63)), acc);
                acc = th.fma(FloatVector.broadcast(F, d * (int) (sc >>> 8 & 63)), acc);
                corr = Math.fma(dmin * (int) (mn & 63), sums[si], corr);
                corr = Math.fma(dmin * (int) (mn >>> 8 & 63), sums[si + 1], corr);
                tl = FloatVector.zero(F);
                th = tl;
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - corr;
    }

    @Override
    void dotTwoRowsSimd(MemorySegment seg, long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L != 16) {
            super.dotTwoRowsSimd(seg, base, stride, x, nb, out, r);
            return;
        }
        float[] sums = BLOCK_SUMS.get();
        FloatVector acc0 = FloatVector.zero(F), tl0 = acc0, th0 = acc0, acc1 = acc0, tl1 = acc0, th1 = acc0;
        float corr0 = 0f, corr1 = 0f;
        for (int h = 0; h < 8 * nb; h++) {
            int xo = xAt(h);
            FloatVector xl = QuantSimd.x(x, xo), xh = QuantSimd.x(x, xo + 32);
            long o = half(base, h);
            ByteVector b0 = QuantSimd.load(seg, o), b1 = QuantSimd.load(seg, o + stride);
            tl0 = QuantSimd.lowNibbles(b0).fma(xl, tl0);
            th0 = QuantSimd.highNibblesByIntShift(b0).fma(xh, th0);
            tl1 = QuantSimd.lowNibbles(b1).fma(xl, tl1);
            th1 = QuantSimd.highNibblesByIntShift(b1).fma(xh, th1);
            if ((h & 1) == 1) {
                long sb = base + (long) (h >> 3) * BB;
                int s = (h >> 1 & 3) * 2, si = (h >> 3) * 8 + s;
                float xs0 = sums[si], xs1 = sums[si + 1];
                long sa0 = seg.get(LE_LONG, sb + 4), sa1 = seg.get(LE_LONG, sb + stride + 4);
                int sbits0 = seg.get(LE_INT, sb + 12), sbits1 = seg.get(LE_INT, sb + stride + 12);
                long sc0 = scales8(sa0, sbits0) >>> (8 * s), mn0 = mins8(sa0, sbits0) >>> (8 * s);
                long sc1 = scales8(sa1, sbits1) >>> (8 * s), mn1 = mins8(sa1, sbits1) >>> (8 * s);
                int dd0 = seg.get(LE_INT, sb), dd1 = seg.get(LE_INT, sb + stride);
                float d0 = Float.float16ToFloat((short) dd0), dmin0 = Float.float16ToFloat((short) (dd0 >>> 16));
                float d1 = Float.float16ToFloat((short) dd1), dmin1 = Float.float16ToFloat((short) (dd1 >>> 16));
                acc0 = tl0.fma(FloatVector.broadcast(F, d0 * (int) (sc0 & 63)), acc0);
                acc0 = th0.fma(FloatVector.broadcast(F, d0 * (int) (sc0 >>> 8 & 63)), acc0);
                acc1 = tl1.fma(FloatVector.broadcast(F, d1 * (int) (sc1 & 63)), acc1);
                acc1 = th1.fma(FloatVector.broadcast(F, d1 * (int) (sc1 >>> 8 & 63)), acc1);
                corr0 = Math.fma(dmin0 * (int) (mn0 & 63), xs0, corr0);
                corr0 = Math.fma(dmin0 * (int) (mn0 >>> 8 & 63), xs1, corr0);
                corr1 = Math.fma(dmin1 * (int) (mn1 & 63), xs0, corr1);
                corr1 = Math.fma(dmin1 * (int) (mn1 >>> 8 & 63), xs1, corr1);
                tl0 = FloatVector.zero(F);
                th0 = tl0;
                tl1 = tl0;
                th1 = tl0;
            }
        }
        out[r] = acc0.reduceLanes(VectorOperators.ADD) - corr0;
        out[r + 1] = acc1.reduceLanes(VectorOperators.ADD) - corr1;
    }

    @Override
    void dotFourRowsSimd(MemorySegment seg, long base, long stride, float[] x, int nb, float[] out, int r) {
        // two passes of two rows: four rows in one body exceed the inlining budget
        dotTwoRowsSimd(seg, base, stride, x, nb, out, r);
        dotTwoRowsSimd(seg, base + 2 * stride, stride, x, nb, out, r + 2);
    }

    /** 8-lane machines (AVX2): the block loop with scales and mins applied per element. */
    private float dotRowSimd8(MemorySegment seg, long base, float[] x, int nb) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            int dd = seg.get(LE_INT, off);
            float d = Float.float16ToFloat((short) dd), dmin = Float.float16ToFloat((short) (dd >>> 16));
            long sa = seg.get(LE_LONG, off + 4);
            int sb = seg.get(LE_INT, off + 12);
            for (int c = 0; c < 4; c++) {
                int p1 = packedScaleMin(sa, sb, 2 * c), p2 = packedScaleMin(sa, sb, 2 * c + 1);
                FloatVector d1 = FloatVector.broadcast(F, d * (p1 & 63));
                FloatVector m1 = FloatVector.broadcast(F, -(dmin * (p1 >>> 8)));
                FloatVector d2 = FloatVector.broadcast(F, d * (p2 & 63));
                FloatVector m2 = FloatVector.broadcast(F, -(dmin * (p2 >>> 8)));
                for (int l = 0; l < 32; l += L) {
                    ByteVector b = QuantSimd.load(seg, off + 16 + 32 * c + l);
                    int xb = xo + 64 * c + l;
                    FloatVector lo = QuantSimd.toFloat(b.and((byte) 15));
                    FloatVector hi = QuantSimd.toFloat(QuantSimd.shr(b, 4, 15));
                    a0 = lo.fma(d1, m1).fma(QuantSimd.x(x, xb), a0);
                    a1 = hi.fma(d2, m2).fma(QuantSimd.x(x, xb + 32), a1);
                }
            }
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /** Scale (bits 0..5) and min (bits 8..13) of sub-block s from the 12 bytes as a long + an int. */
    static int packedScaleMin(long sa, int sb, int s) {
        if (s < 4) {
            return (int) (sa >>> (8 * s)) & 63 | ((int) (sa >>> (8 * s + 32)) & 63) << 8;
        }
        int hi = sb >>> (8 * (s - 4)); // byte s + 4
        int sc = (hi & 15) | (((int) (sa >>> (8 * (s - 4) + 6)) & 3) << 4);
        int mn = ((hi >>> 4) & 15) | (((int) (sa >>> (8 * s + 6)) & 3) << 4);
        return sc | mn << 8;
    }
}
