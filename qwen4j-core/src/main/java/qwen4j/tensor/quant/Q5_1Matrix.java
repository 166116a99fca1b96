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

/** Q5_1: blocks of 32 = fp16 d, fp16 m, uint32 qh, 16 bytes of low nibbles (as Q5_0); y = q * d + m. */
final class Q5_1Matrix extends QuantMatrix {
    static final int QK = 32, BB = 24;

    Q5_1Matrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q5_1; }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off), m = f16(seg, off + 2);
        int qh = seg.get(LE_INT, off + 4);
        for (int j = 0; j < 16; j++) {
            int b = u8(seg, off + 8 + j);
            int q0 = (b & 15) | (((qh >>> j) & 1) << 4);
            int q1 = (b >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
            dst[o + j] = (float) q0 * d + m;
            dst[o + j + 16] = (float) q1 * d + m;
        }
    }

    @Override
    void dequantizeBlock(MemorySegment seg, long off, float[] dst, int o) { dequant(seg, off, dst, o); }

    @Override
    float dotRowSimd(long base, float[] x, int nb) {
        float[] lanes = ACC.get(); // before the loop: no call while the accumulators are live
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int blk = 0; blk < nb; blk++) {
            long off = base + (long) blk * BB;
            int xo = blk * QK;
            FloatVector d = FloatVector.broadcast(F, f16(ALL, off));
            FloatVector m = FloatVector.broadcast(F, f16(ALL, off + 2));
            long qh = ALL.get(LE_INT, off + 4) & 0xFFFFFFFFL;
            for (int k = 0; k < 16; k += Q) {
                ByteVector b = QuantSimd.load(ALL, off + 8 + k);
                VectorMask<Byte> mlo = VectorMask.fromLong(B, qh >>> k);
                VectorMask<Byte> mhi = VectorMask.fromLong(B, qh >>> (k + 16));
                ByteVector lb = b.and((byte) 15).add((byte) 16, mlo), hb = QuantSimd.shr(b, 4, 15).add((byte) 16, mhi);
                for (int p = 0; p < P; p++) {
                    FloatVector lo = QuantSimd.toFloat(lb, p).fma(d, m);
                    FloatVector hi = QuantSimd.toFloat(hb, p).fma(d, m);
                    acc0 = lo.fma(QuantSimd.x(x, xo + k + p * L), acc0);
                    acc1 = hi.fma(QuantSimd.x(x, xo + 16 + k + p * L), acc1);
                }
            }
        }
        acc0.add(acc1).intoArray(lanes, 0);
        return QuantSimd.laneSum(lanes, 0);
    }
}
