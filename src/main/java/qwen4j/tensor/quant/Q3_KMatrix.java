package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/**
 * Q3_K: super-blocks of 256 = hmask[32], qs[64] (low 2 bits, as Q2_K), scales[12] (sixteen 6-bit
 * scales), fp16 d. q = low2 + 4 * highbit - 4 with highbit = bit (4h + j) of hmask[l];
 * y = (d * (sc - 32)) * q.
 */
final class Q3_KMatrix extends QuantMatrix {
    static final int QK = 256, BB = 110;

    Q3_KMatrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q3_K; }

    /** The signed 6-bit scale of sub-block i (0..15), in -32..31. */
    static int scale(MemorySegment seg, long off, int i) {
        long sb = off + 96;
        int low4 = i < 8 ? u8(seg, sb + i) & 15 : u8(seg, sb + i - 8) >>> 4;
        int high2 = (u8(seg, sb + 8 + (i & 3)) >>> (2 * (i >>> 2))) & 3;
        return (low4 | high2 << 4) - 32;
    }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off + 108);
        for (int h = 0; h < 2; h++) {
            for (int j = 0; j < 4; j++) {
                for (int l = 0; l < 32; l++) {
                    int e = 128 * h + 32 * j + l;
                    float dl = d * scale(seg, off, e / 16);
                    int low2 = (u8(seg, off + 32 + 32 * h + l) >>> (2 * j)) & 3;
                    int hb = (u8(seg, off + l) >>> (4 * h + j)) & 1;
                    dst[o + e] = dl * ((low2 | hb << 2) - 4);
                }
            }
        }
    }

    @Override
    void dequantizeBlock(MemorySegment seg, long off, float[] dst, int o) { dequant(seg, off, dst, o); }

    @Override
    float dotRowSimd(MemorySegment seg, long base, float[] x, int nb) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int blk = 0; blk < nb; blk++) {
            long off = base + (long) blk * BB;
            int xo = blk * QK;
            float d = f16(seg, off + 108);
            for (int l = 0; l < 32; l += L) {
                ByteVector hm = QuantSimd.load(seg, off + l);
                for (int h = 0; h < 2; h++) {
                    ByteVector qv = QuantSimd.load(seg, off + 32 + 32 * h + l);
                    int s = 8 * h + l / 16;
                    int xb = xo + 128 * h + l;
                    a0 = w(qv.and((byte) 3), hm, 4 * h, d * scale(seg, off, s)).fma(QuantSimd.x(x, xb), a0);
                    a1 = w(QuantSimd.shr(qv, 2, 3), hm, 4 * h + 1, d * scale(seg, off, s + 2))
                            .fma(QuantSimd.x(x, xb + 32), a1);
                    a2 = w(QuantSimd.shr(qv, 4, 3), hm, 4 * h + 2, d * scale(seg, off, s + 4))
                            .fma(QuantSimd.x(x, xb + 64), a2);
                    a3 = w(QuantSimd.shr(qv, 6, 3), hm, 4 * h + 3, d * scale(seg, off, s + 6))
                            .fma(QuantSimd.x(x, xb + 96), a3);
                }
            }
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    private static FloatVector w(ByteVector low2, ByteVector hm, int bit, float dl) {
        VectorMask<Byte> clear = hm.and((byte) (1 << bit)).compare(VectorOperators.EQ, (byte) 0);
        return QuantSimd.toFloat(low2.sub((byte) 4, clear)).mul(dl);
    }
}
