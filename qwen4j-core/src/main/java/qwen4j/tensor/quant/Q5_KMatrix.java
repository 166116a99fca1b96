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
import jdk.incubator.vector.VectorMask;
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

    @Override
    float dotRowSimd(long base, float[] x, int nb) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            int dd = ALL.get(LE_INT, off);
            float d = Float.float16ToFloat((short) dd), dmin = Float.float16ToFloat((short) (dd >>> 16));
            long sa = ALL.get(LE_LONG, off + 4);
            int sb = ALL.get(LE_INT, off + 12);
            for (int c = 0; c < 4; c++) {
                int p1 = Q4_KMatrix.packedScaleMin(sa, sb, 2 * c), p2 = Q4_KMatrix.packedScaleMin(sa, sb, 2 * c + 1);
                FloatVector d1 = FloatVector.broadcast(F, d * (p1 & 63));
                FloatVector m1 = FloatVector.broadcast(F, -(dmin * (p1 >>> 8)));
                FloatVector d2 = FloatVector.broadcast(F, d * (p2 & 63));
                FloatVector m2 = FloatVector.broadcast(F, -(dmin * (p2 >>> 8)));
                for (int l = 0; l < 32; l += Q) {
                    ByteVector b = QuantSimd.load(ALL, off + 48 + 32 * c + l);
                    int xb = xo + 64 * c + l;
                    ByteVector qh = QuantSimd.load(ALL, off + 16 + l);
                    VectorMask<Byte> h1 = qh.and((byte) (1 << (2 * c))).compare(VectorOperators.NE, (byte) 0);
                    VectorMask<Byte> h2 = qh.and((byte) (2 << (2 * c))).compare(VectorOperators.NE, (byte) 0);
                    ByteVector lb = b.and((byte) 15).add((byte) 16, h1), hb = QuantSimd.shr(b, 4, 15).add((byte) 16, h2);
                    for (int p = 0; p < P; p++) {
                        FloatVector lo = QuantSimd.toFloat(lb, p), hi = QuantSimd.toFloat(hb, p);
                        a0 = lo.fma(d1, m1).fma(QuantSimd.x(x, xb + p * L), a0);
                        a1 = hi.fma(d2, m2).fma(QuantSimd.x(x, xb + 32 + p * L), a1);
                    }
                }
            }
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

}
