package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;
import static qwen4j.tensor.quant.QuantSimd.P;
import static qwen4j.tensor.quant.QuantSimd.Q;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/** Q4_1: blocks of 32 = fp16 d, fp16 m, 16 bytes of nibbles (as Q4_0); y = q * d + m. */
final class Q4_1Matrix extends QuantMatrix {
    static final int QK = 32, BB = 20;

    Q4_1Matrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q4_1; }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off), m = f16(seg, off + 2);
        for (int j = 0; j < 16; j++) {
            int b = u8(seg, off + 4 + j);
            dst[o + j] = (float) (b & 15) * d + m;
            dst[o + j + 16] = (float) (b >>> 4) * d + m;
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
            for (int k = 0; k < 16; k += Q) {
                ByteVector b = QuantSimd.load(ALL, off + 4 + k);
                ByteVector lb = b.and((byte) 15), hb = QuantSimd.shr(b, 4, 15);
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
