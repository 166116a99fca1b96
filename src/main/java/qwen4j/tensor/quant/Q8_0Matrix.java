package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
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

    @Override
    float dotRowSimd(MemorySegment seg, long base, float[] x, int nb) {
        // One block per iteration: t = sum q*x over the block, acc += t * d. The loop body holds each
        // vector operation once (C2 unrolls it); that keeps the method under C2's inlining node cutoff.
        FloatVector acc = FloatVector.zero(F);
        long off = base;
        for (int b = 0, xo = 0; b < nb; b++, off += BB, xo += QK) {
            FloatVector t = QuantSimd.toFloat(QuantSimd.load(seg, off + 2)).mul(QuantSimd.x(x, xo));
            for (int k = L; k < QK; k += L) {
                t = QuantSimd.toFloat(QuantSimd.load(seg, off + 2 + k)).fma(QuantSimd.x(x, xo + k), t);
            }
            acc = t.fma(FloatVector.broadcast(F, f16(seg, off)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dotTwoRowsSimd(MemorySegment seg, long base, long stride, float[] x, int nb, float[] out, int r) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        long off = base;
        for (int b = 0, xo = 0; b < nb; b++, off += BB, xo += QK) {
            FloatVector xv = QuantSimd.x(x, xo);
            FloatVector t0 = QuantSimd.toFloat(QuantSimd.load(seg, off + 2)).mul(xv);
            FloatVector t1 = QuantSimd.toFloat(QuantSimd.load(seg, off + stride + 2)).mul(xv);
            for (int k = L; k < QK; k += L) {
                xv = QuantSimd.x(x, xo + k);
                t0 = QuantSimd.toFloat(QuantSimd.load(seg, off + 2 + k)).fma(xv, t0);
                t1 = QuantSimd.toFloat(QuantSimd.load(seg, off + stride + 2 + k)).fma(xv, t1);
            }
            acc0 = t0.fma(FloatVector.broadcast(F, f16(seg, off)), acc0);
            acc1 = t1.fma(FloatVector.broadcast(F, f16(seg, off + stride)), acc1);
        }
        out[r] = acc0.reduceLanes(VectorOperators.ADD);
        out[r + 1] = acc1.reduceLanes(VectorOperators.ADD);
    }
}
