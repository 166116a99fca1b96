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
    float dotRowSimd(long base, float[] x, int nb) {
        float[] lanes = ACC.get(); // before the loop: no call while the accumulators are live
        // Loop bodies hold each vector operation once (C2 unrolls the constant-trip loops); fully
        // hand-unrolled code exceeds C2's inlining node cutoff and the vector ops then box.
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            int dd = ALL.get(LE_INT, off + 80);
            float d = Float.float16ToFloat((short) dd), dmin = Float.float16ToFloat((short) (dd >>> 16));
            long s0 = ALL.get(LE_LONG, off), s1 = ALL.get(LE_LONG, off + 8);
            for (int h = 0; h < 2; h++) {
                long sh = h == 0 ? s0 : s1;
                for (int l = 0; l < 32; l += Q) { // Q divides 16: one scale per load
                    ByteVector qv = QuantSimd.load(ALL, off + 16 + 32 * h + l);
                    int xb = xo + 128 * h + l;
                    for (int j = 0; j < 4; j += 2) {
                        int sc0 = (int) (sh >>> (8 * (2 * j + l / 16))) & 0xFF;
                        int sc1 = (int) (sh >>> (8 * (2 * j + 2 + l / 16))) & 0xFF;
                        ByteVector q0 = QuantSimd.shr(qv, 2 * j, 3), q1 = QuantSimd.shr(qv, 2 * j + 2, 3);
                        for (int p = 0; p < P; p++) {
                            FloatVector w0 = QuantSimd.toFloat(q0, p).fma(d * (sc0 & 15), -(dmin * (sc0 >>> 4)));
                            FloatVector w1 = QuantSimd.toFloat(q1, p).fma(d * (sc1 & 15), -(dmin * (sc1 >>> 4)));
                            a0 = w0.fma(QuantSimd.x(x, xb + 32 * j + p * L), a0);
                            a1 = w1.fma(QuantSimd.x(x, xb + 32 * j + 32 + p * L), a1);
                        }
                    }
                }
            }
        }
        a0.add(a1).intoArray(lanes, 0);
        return QuantSimd.laneSum(lanes, 0);
    }

}
