package qwen4j.tensor.quant;

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
 * Q3_K: super-blocks of 256 = hmask[32], qs[64] (low 2 bits, as Q2_K), scales[12] (sixteen 6-bit
 * scales), fp16 d. q = low2 + 4 * highbit - 4 with highbit = bit (4h + j) of hmask[l];
 * y = (d * (sc - 32)) * q.
 */
final class Q3_KMatrix extends QuantMatrix {
    static final int QK = 256, BB = 110;

    Q3_KMatrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q3_K; }

    /** The signed 6-bit scale of sub-block i (0..15), in -32..31. */
    static int scale(MemorySegment seg, long off, int i) {
        long sb = off + 96;
        int low4 = i < 8 ? u8(seg, sb + i) & 15 : u8(seg, sb + i - 8) >>> 4;
        int high2 = (u8(seg, sb + 8 + (i & 3)) >>> (2 * (i >>> 2))) & 3;
        return (low4 | high2 << 4) - 32;
    }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off + 108);
        for (int h = 0; h < 2; h++) {
            for (int j = 0; j < 4; j++) {
                for (int l = 0; l < 32; l++) {
                    int e = 128 * h + 32 * j + l;
                    float dl = d * scale(seg, off, e / 16);
                    int low2 = (u8(seg, off + 32 + 32 * h + l) >>> (2 * j)) & 3;
                    int hb = (u8(seg, off + l) >>> (4 * h + j)) & 1;
                    dst[o + e] = dl * ((low2 | hb << 2) - 4);
                }
            }
        }
    }

    @Override
    void dequantizeBlock(MemorySegment seg, long off, float[] dst, int o) { dequant(seg, off, dst, o); }

    @Override
    float dotRowSimd(long base, float[] x, int nb) {
        float[] lanes = ACC.get(); // before the loop: no call while the accumulators are live
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            float d = f16(ALL, off + 108);
            long sa = ALL.get(LE_LONG, off + 96);
            int sb = ALL.get(LE_INT, off + 104);
            for (int l = 0; l < 32; l += Q) { // Q divides 16: one scale per load
                ByteVector hm = QuantSimd.load(ALL, off + l);
                for (int h = 0; h < 2; h++) {
                    ByteVector qv = QuantSimd.load(ALL, off + 32 + 32 * h + l);
                    int xb = xo + 128 * h + l;
                    for (int j = 0; j < 4; j += 2) {
                        int s = 8 * h + 2 * j + l / 16;
                        float dl0 = d * packedScale(sa, sb, s), dl1 = d * packedScale(sa, sb, s + 2);
                        VectorMask<Byte> c0 = hm.and((byte) (1 << (4 * h + j))).compare(VectorOperators.EQ, (byte) 0);
                        VectorMask<Byte> c1 = hm.and((byte) (2 << (4 * h + j))).compare(VectorOperators.EQ, (byte) 0);
                        ByteVector q0 = QuantSimd.shr(qv, 2 * j, 3).sub((byte) 4, c0);
                        ByteVector q1 = QuantSimd.shr(qv, 2 * j + 2, 3).sub((byte) 4, c1);
                        for (int p = 0; p < P; p++) {
                            FloatVector w0 = QuantSimd.toFloat(q0, p).mul(dl0);
                            FloatVector w1 = QuantSimd.toFloat(q1, p).mul(dl1);
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

    /** {@link #scale} from the 12 scale bytes held as a long (bytes 0..7) and an int (bytes 8..11). */
    private static int packedScale(long sa, int sb, int i) {
        int low4 = (int) (sa >>> (8 * (i & 7) + (i & 8) / 2)) & 15;
        int high2 = (sb >>> (8 * (i & 3) + 2 * (i >>> 2))) & 3;
        return (low4 | high2 << 4) - 32;
    }

}
