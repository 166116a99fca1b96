package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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

    // SIMD kernels (16 float lanes): per 16 elements (one sub-block), the 6-bit quants are assembled
    // from 16 bytes of low bits and 16 of high bits (q = low4 | high2 << 4, minus 32; the high pair
    // reaches bits 4-5 with one rotate of int lanes instead of a shift down and a shift up), widened
    // straight to 16 floats, multiplied by x and FMAd into the row's accumulator with the sub-block's
    // scale, broadcast from a per-thread array where the super-block's sixteen d*scale were decoded
    // with one conversion.
    //
    // Rows go in pairs, one super-block of each in turn (two memory streams), a row's accumulator
    // parked in the scratch array between turns so that the vector code appears once (C2 boxes
    // vectors past its inlining node budget). Measured on one core (KernelCpuTime; GB/s in cache /
    // 7B output matrix, a thread's 76032 rows / ffn_down, a thread's 1792 rows of 15.5 KB):
    // one row at a time (the earlier kernel) 8.3 / 6.9 / 5.8; pairs 13.3 / 11.5 / 7.4. Four rows in
    // lockstep (as Q4_K does) read 10 GB/s on the output shape but 2.8 on ffn_down's, and 1.2 at some
    // other strides: an effect of the access pattern that we do not understand yet, so not used.

    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;

    /** Per-thread scratch: [0, 16) the current super-block's scales d*sc; [16 + 16k, 32 + 16k) row k's accumulator. */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[48]);

    @Override
    float dotRowSimd(MemorySegment seg, long base, float[] x, int nb) {
        if (L != 16) return dotRowSimd8(seg, base, x, nb);
        float[] one = ONE.get();
        dotRows(seg, base, 0, 1, x, nb, one, 0);
        return one[0];
    }

    @Override
    void dotTwoRowsSimd(MemorySegment seg, long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L != 16) super.dotTwoRowsSimd(seg, base, stride, x, nb, out, r);
        else dotRows(seg, base, stride, 2, x, nb, out, r);
    }

    @Override
    void dotFourRowsSimd(MemorySegment seg, long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L != 16) {
            for (int k = 0; k < 4; k++) out[r + k] = dotRowSimd8(seg, base + k * stride, x, nb);
        } else {
            dotRows(seg, base, stride, 2, x, nb, out, r);
            dotRows(seg, base + 2 * stride, stride, 2, x, nb, out, r + 2);
        }
    }

    /** out[r + k] = row k . x for the n (1 or 2) rows at base + k * stride. */
    private static void dotRows(MemorySegment data, long offset, long stride, int n, float[] x, int nb, float[] out, int r) {
        MemorySegment seg = ALL; // absolute addresses through a constant segment: see QuantMatrix.ALL
        long base = data.address() + offset;
        float[] t = SCRATCH.get();
        java.util.Arrays.fill(t, 0f);
        for (int blk = 0; blk < nb; blk++) {
            for (int k = 0; k < n; k++) {
                long off = base + k * stride + (long) blk * BB;
                float d = f16(seg, off + 208);
                ((FloatVector) ByteVector.fromMemorySegment(B16, seg, off + 192, QuantSimd.LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(t, 0);
                FloatVector acc = FloatVector.fromArray(F, t, 16 + 16 * k);
                for (int h = 0; h < 2; h++) {
                    for (int l = 0; l < 32; l += 16) {
                        ByteVector hh = ByteVector.fromMemorySegment(B16, seg, off + 128 + 32 * h + l, QuantSimd.LE);
                        for (int g = 0; g < 4; g++) { // elements 128h + 32g + l..: low4 of ql[64h + 32(g&1) + l] >> 4(g>>1), high2 of qh >> 2g
                            ByteVector a = ByteVector.fromMemorySegment(B16, seg, off + 64 * h + 32 * (g & 1) + l, QuantSimd.LE);
                            ByteVector lo = a.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4 * (g >> 1)).reinterpretAsBytes().and((byte) 15);
                            ByteVector hi = hh.reinterpretAsInts().lanewise(VectorOperators.ROL, (4 - 2 * g) & 31).reinterpretAsBytes().and((byte) 0x30);
                            ByteVector q = lo.or(hi).sub((byte) 32);
                            int e = blk * QK + 128 * h + 32 * g + l;
                            acc = ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, e))
                                    .fma(FloatVector.broadcast(F, t[8 * h + 2 * g + l / 16]), acc);
                        }
                    }
                }
                acc.intoArray(t, 16 + 16 * k);
            }
        }
        for (int k = 0; k < n; k++) out[r + k] = FloatVector.fromArray(F, t, 16 + 16 * k).reduceLanes(VectorOperators.ADD);
    }

    /** 8-lane machines (AVX2): the block loop below, one row at a time (the earlier kernel). */
    private static float dotRowSimd8(MemorySegment seg, long base, float[] x, int nb) {
        // The per-block work is its own method returning a float: the Q6_K decode is large enough that
        // one method holding all of it exceeds C2's inlining node budget (and its vectors would box).
        float sum = 0f;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) sum += blockDot(seg, off, x, xo);
        return sum;
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
