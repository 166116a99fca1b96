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
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int blk = 0; blk < nb; blk++) {
            long off = base + (long) blk * BB;
            int xo = blk * QK;
            float d = f16(seg, off), dmin = f16(seg, off + 2);
            for (int c = 0; c < 4; c += 2) {
                FloatVector d1 = FloatVector.broadcast(F, d * kScale(seg, off + 4, 2 * c));
                FloatVector m1 = FloatVector.broadcast(F, -(dmin * kMin(seg, off + 4, 2 * c)));
                FloatVector d2 = FloatVector.broadcast(F, d * kScale(seg, off + 4, 2 * c + 1));
                FloatVector m2 = FloatVector.broadcast(F, -(dmin * kMin(seg, off + 4, 2 * c + 1)));
                FloatVector d3 = FloatVector.broadcast(F, d * kScale(seg, off + 4, 2 * c + 2));
                FloatVector m3 = FloatVector.broadcast(F, -(dmin * kMin(seg, off + 4, 2 * c + 2)));
                FloatVector d4 = FloatVector.broadcast(F, d * kScale(seg, off + 4, 2 * c + 3));
                FloatVector m4 = FloatVector.broadcast(F, -(dmin * kMin(seg, off + 4, 2 * c + 3)));
                for (int l = 0; l < 32; l += L) {
                    ByteVector b = QuantSimd.load(seg, off + 16 + 32 * c + l);
                    ByteVector b2 = QuantSimd.load(seg, off + 48 + 32 * c + l);
                    int xb = xo + 64 * c + l;
                    a0 = QuantSimd.toFloat(b.and((byte) 15)).fma(d1, m1).fma(QuantSimd.x(x, xb), a0);
                    a1 = QuantSimd.toFloat(QuantSimd.shr(b, 4, 15)).fma(d2, m2).fma(QuantSimd.x(x, xb + 32), a1);
                    a2 = QuantSimd.toFloat(b2.and((byte) 15)).fma(d3, m3).fma(QuantSimd.x(x, xb + 64), a2);
                    a3 = QuantSimd.toFloat(QuantSimd.shr(b2, 4, 15)).fma(d4, m4).fma(QuantSimd.x(x, xb + 96), a3);
                }
            }
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }
}
