package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.B;
import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;
import static qwen4j.tensor.quant.QuantSimd.P;
import static qwen4j.tensor.quant.QuantSimd.Q;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/**
 * Q5_0: blocks of 32 = fp16 d, uint32 qh (bit e = 5th bit of element e), 16 bytes of low nibbles
 * (as Q4_0); y = (q - 16) * d.
 */
final class Q5_0Matrix extends QuantMatrix {
    static final int QK = 32, BB = 22;

    Q5_0Matrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q5_0; }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off);
        int qh = seg.get(LE_INT, off + 2);
        for (int j = 0; j < 16; j++) {
            int b = u8(seg, off + 6 + j);
            int q0 = (b & 15) | (((qh >>> j) & 1) << 4);
            int q1 = (b >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
            dst[o + j] = (float) (q0 - 16) * d;
            dst[o + j + 16] = (float) (q1 - 16) * d;
        }
    }

    @Override
    void dequantizeBlock(MemorySegment seg, long off, float[] dst, int o) { dequant(seg, off, dst, o); }

    @Override
    float dotRowSimd(long base, float[] x, int nb) {
        float[] lanes = ACC.get(); // before the loop: no call while the accumulators are live
        FloatVector acc = FloatVector.zero(F);
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            // q - 16 = low4 - 16 where the 5th bit is clear, low4 where it is set.
            long nqh = ~(long) ALL.get(LE_INT, off + 2);
            FloatVector t = FloatVector.zero(F);
            for (int k = 0; k < 16; k += Q) {
                ByteVector b = QuantSimd.load(ALL, off + 6 + k);
                VectorMask<Byte> mlo = VectorMask.fromLong(B, nqh >>> k);
                VectorMask<Byte> mhi = VectorMask.fromLong(B, nqh >>> (k + 16));
                ByteVector lb = b.and((byte) 15).sub((byte) 16, mlo), hb = QuantSimd.shr(b, 4, 15).sub((byte) 16, mhi);
                for (int p = 0; p < P; p++) {
                    FloatVector lo = QuantSimd.toFloat(lb, p), hi = QuantSimd.toFloat(hb, p);
                    t = hi.fma(QuantSimd.x(x, xo + 16 + k + p * L), lo.fma(QuantSimd.x(x, xo + k + p * L), t));
                }
            }
            acc = t.fma(FloatVector.broadcast(F, f16(ALL, off)), acc);
        }
        acc.intoArray(lanes, 0);
        return QuantSimd.laneSum(lanes, 0);
    }
}
