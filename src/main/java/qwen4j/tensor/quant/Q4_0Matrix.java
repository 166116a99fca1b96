package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/** Q4_0: blocks of 32 = fp16 d, 16 bytes of nibbles (qs[j]: element j low, j+16 high); y = (q - 8) * d. */
final class Q4_0Matrix extends QuantMatrix {
    static final int QK = 32, BB = 18;

    Q4_0Matrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q4_0; }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off);
        for (int j = 0; j < 16; j++) {
            int b = u8(seg, off + 2 + j);
            dst[o + j] = (float) ((b & 15) - 8) * d;
            dst[o + j + 16] = (float) ((b >>> 4) - 8) * d;
        }
    }

    @Override
    void dequantizeBlock(MemorySegment seg, long off, float[] dst, int o) { dequant(seg, off, dst, o); }

    private static FloatVector blockDot(MemorySegment seg, long off, float[] x, int xo) {
        FloatVector t = null;
        for (int k = 0; k < 16; k += L) {
            ByteVector b = QuantSimd.load(seg, off + 2 + k);
            FloatVector lo = QuantSimd.toFloat(b.and((byte) 15).sub((byte) 8));
            FloatVector hi = QuantSimd.toFloat(QuantSimd.shr(b, 4, 15).sub((byte) 8));
            t = t == null ? lo.mul(QuantSimd.x(x, xo + k)) : lo.fma(QuantSimd.x(x, xo + k), t);
            t = hi.fma(QuantSimd.x(x, xo + 16 + k), t);
        }
        return t;
    }

    @Override
    float dotRowSimd(MemorySegment seg, long base, float[] x, int nb) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < nb; b += 2) {
            long off = base + (long) b * BB;
            FloatVector t0 = blockDot(seg, off, x, b * QK);
            FloatVector t1 = blockDot(seg, off + BB, x, b * QK + QK);
            acc0 = t0.fma(FloatVector.broadcast(F, f16(seg, off)), acc0);
            acc1 = t1.fma(FloatVector.broadcast(F, f16(seg, off + BB)), acc1);
        }
        if (b < nb) {
            long off = base + (long) b * BB;
            acc0 = blockDot(seg, off, x, b * QK).fma(FloatVector.broadcast(F, f16(seg, off)), acc0);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
