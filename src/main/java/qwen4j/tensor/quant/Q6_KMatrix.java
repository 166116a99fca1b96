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
        // The per-block work is its own method returning a float: the Q6_K decode is large enough that
        // one method holding all of it exceeds C2's inlining node budget (and its vectors would box).
        float sum = 0f;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) sum += blockDot(seg, off, x, xo);
        return sum;
    }

    /**
     * Four rows through one call site of {@link #dotRowSimd}: the inherited pairs-of-pairs default
     * inlines it (and its large blockDot) four times into one compiled method, which in the model's
     * JIT state went over C2's node budget and ran with boxed vectors (Q4_K_M decode bimodal).
     */
    @Override
    void dotFourRowsSimd(MemorySegment seg, long base, long stride, float[] x, int nb, float[] out, int r) {
        for (int k = 0; k < 4; k++) out[r + k] = dotRowSimd(seg, base + k * stride, x, nb);
    }

    private static float blockDot(MemorySegment seg, long off, float[] x, int xo) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        float d = f16(seg, off + 208);
        for (int h = 0; h < 2; h++) {
            long sh = seg.get(LE_LONG, off + 192 + 8 * h);
            for (int l = 0; l < 32; l += L) {
                ByteVector a = QuantSimd.load(seg, off + 64 * h + l);
                ByteVector b = QuantSimd.load(seg, off + 64 * h + 32 + l);
                ByteVector hh = QuantSimd.load(seg, off + 128 + 32 * h + l);
                int xb = xo + 128 * h + l;
                for (int k2 = 0; k2 < 2; k2++) { // k = 2*k2 (nibble k2 of ql[64h+l]) and k = 2*k2+1 (of ql[64h+32+l])
                    ByteVector hk = QuantSimd.shr(hh, 4 * k2, 15); // high2 of k in bits 0-1, of k+1 in bits 2-3
                    ByteVector q0 = QuantSimd.shr(a, 4 * k2, 15).or(QuantSimd.shl(hk, 4, 0x30));
                    ByteVector q1 = QuantSimd.shr(b, 4 * k2, 15).or(QuantSimd.shl(hk, 2, 0x30));
                    int s = 4 * k2 + l / 16; // sub-block e / 16 - 8h for k = 2*k2; s + 2 for k = 2*k2+1
                    float ds0 = d * (byte) (sh >>> (8 * s)), ds1 = d * (byte) (sh >>> (8 * (s + 2)));
                    a0 = QuantSimd.toFloat(q0.sub((byte) 32)).mul(ds0).fma(QuantSimd.x(x, xb + 64 * k2), a0);
                    a1 = QuantSimd.toFloat(q1.sub((byte) 32)).mul(ds1).fma(QuantSimd.x(x, xb + 64 * k2 + 32), a1);
                }
            }
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }
}
