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
 * Q2_K: super-blocks of 256 = scales[16] (low nibble scale, high nibble min per 16), qs[64] (2-bit,
 * element 128h + 32j + l at bits 2j of qs[32h + l]), fp16 d, fp16 dmin; y = (d * sc) * q - dmin * mn.
 */
final class Q2_KMatrix extends QuantMatrix {
    static final int QK = 256, BB = 84;

    Q2_KMatrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q2_K; }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off + 80), dmin = f16(seg, off + 82);
        for (int h = 0; h < 2; h++) {
            for (int j = 0; j < 4; j++) {
                for (int l = 0; l < 32; l++) {
                    int e = 128 * h + 32 * j + l;
                    int sc = u8(seg, off + e / 16);
                    float dl = d * (sc & 15), ml = dmin * (sc >>> 4);
                    int q = (u8(seg, off + 16 + 32 * h + l) >>> (2 * j)) & 3;
                    dst[o + e] = dl * q - ml;
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
            float d = f16(seg, off + 80), dmin = f16(seg, off + 82);
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l += L) {
                    ByteVector qv = QuantSimd.load(seg, off + 16 + 32 * h + l);
                    int s = 8 * h + l / 16;
                    int xb = xo + 128 * h + l;
                    a0 = w(qv.and((byte) 3), d, dmin, u8(seg, off + s)).fma(QuantSimd.x(x, xb), a0);
                    a1 = w(QuantSimd.shr(qv, 2, 3), d, dmin, u8(seg, off + s + 2)).fma(QuantSimd.x(x, xb + 32), a1);
                    a2 = w(QuantSimd.shr(qv, 4, 3), d, dmin, u8(seg, off + s + 4)).fma(QuantSimd.x(x, xb + 64), a2);
                    a3 = w(QuantSimd.shr(qv, 6, 3), d, dmin, u8(seg, off + s + 6)).fma(QuantSimd.x(x, xb + 96), a3);
                }
            }
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    private static FloatVector w(ByteVector q, float d, float dmin, int sc) {
        return QuantSimd.toFloat(q).fma(d * (sc & 15), -(dmin * (sc >>> 4)));
    }
}
