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
 * Q6_K: super-blocks of 256 = ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], fp16 d;
 * q = (low4 | high2 << 4) - 32, y = (d * scale) * q.
 */
final class Q6_KMatrix extends QuantMatrix {
    static final int QK = 256, BB = 210;

    Q6_KMatrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q6_K; }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off + 208);
        for (int h = 0; h < 2; h++) {
            for (int k = 0; k < 4; k++) {
                for (int l = 0; l < 32; l++) {
                    int e = 128 * h + 32 * k + l;
                    int low4 = (u8(seg, off + 64 * h + 32 * (k & 1) + l) >>> (4 * (k >>> 1))) & 15;
                    int high2 = (u8(seg, off + 128 + 32 * h + l) >>> (2 * k)) & 3;
                    int q = (low4 | high2 << 4) - 32;
                    dst[o + e] = (d * seg.get(BYTE, off + 192 + e / 16)) * q;
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
            float d = f16(seg, off + 208);
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l += L) {
                    ByteVector a = QuantSimd.load(seg, off + 64 * h + l);
                    ByteVector b = QuantSimd.load(seg, off + 64 * h + 32 + l);
                    ByteVector hh = QuantSimd.load(seg, off + 128 + 32 * h + l);
                    long sc = off + 192 + 8 * h + l / 16;
                    int xb = xo + 128 * h + l;
                    ByteVector q0 = a.and((byte) 15).or(QuantSimd.shl(hh, 4, 0x30));
                    ByteVector q1 = b.and((byte) 15).or(QuantSimd.shl(hh, 2, 0x30));
                    ByteVector q2 = QuantSimd.shr(a, 4, 15).or(hh.and((byte) 0x30));
                    ByteVector q3 = QuantSimd.shr(b, 4, 15).or(QuantSimd.shr(hh, 2, 0x30));
                    a0 = w(q0, d * seg.get(BYTE, sc)).fma(QuantSimd.x(x, xb), a0);
                    a1 = w(q1, d * seg.get(BYTE, sc + 2)).fma(QuantSimd.x(x, xb + 32), a1);
                    a2 = w(q2, d * seg.get(BYTE, sc + 4)).fma(QuantSimd.x(x, xb + 64), a2);
                    a3 = w(q3, d * seg.get(BYTE, sc + 6)).fma(QuantSimd.x(x, xb + 96), a3);
                }
            }
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    private static FloatVector w(ByteVector q, float ds) {
        return QuantSimd.toFloat(q.sub((byte) 32)).mul(ds);
    }
}
