package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/** Q8_0: blocks of 32 = fp16 d, 32 x int8; y = q * d. */
final class Q8_0Matrix extends QuantMatrix {
    static final int QK = 32, BB = 34;

    Q8_0Matrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q8_0; }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off);
        for (int e = 0; e < QK; e++) dst[o + e] = (float) seg.get(BYTE, off + 2 + e) * d;
    }

    @Override
    void dequantizeBlock(MemorySegment seg, long off, float[] dst, int o) { dequant(seg, off, dst, o); }

    /** sum_e q[e] * x[xo + e] for the block at off (without its scale). */
    private static FloatVector blockDot(MemorySegment seg, long off, float[] x, int xo) {
        FloatVector t = QuantSimd.toFloat(QuantSimd.load(seg, off + 2)).mul(QuantSimd.x(x, xo));
        for (int k = L; k < QK; k += L) {
            t = QuantSimd.toFloat(QuantSimd.load(seg, off + 2 + k)).fma(QuantSimd.x(x, xo + k), t);
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
        return acc0.add(acc1).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
