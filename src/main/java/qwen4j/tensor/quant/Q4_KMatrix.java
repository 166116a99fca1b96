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

    @Override
    float dotRowSimd(MemorySegment seg, long base, float[] x, int nb) {
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
