package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;
import static qwen4j.tensor.quant.QuantSimd.P;
import static qwen4j.tensor.quant.QuantSimd.Q;

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
    // vectors past its inlining node budget). Pairs stream much faster than one row at a time; four
    // rows in lockstep (as Q4_K does) were several times slower at some strides, so not used.

    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;

    /** Per-thread scratch: [0, 16) the current super-block's scales d*sc; [16 + 16k, 32 + 16k) row k's accumulator. */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[48]);

    @Override
    float dotRowSimd(long base, float[] x, int nb) {
        float[] one = ONE.get();
        if (L != 16) {
            dotRowsL(base, 0, 1, x, nb, one, 0);
            return one[0];
        }
        dotRows(base, 0, 1, x, nb, one, 0);
        return one[0];
    }

    @Override
    void dotTwoRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L != 16) dotRowsL(base, stride, 2, x, nb, out, r);
        else dotRows(base, stride, 2, x, nb, out, r);
    }

    @Override
    void dotFourRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L != 16) {
            dotRowsL(base, stride, 2, x, nb, out, r);
            dotRowsL(base + 2 * stride, stride, 2, x, nb, out, r + 2);
        } else {
            dotRows(base, stride, 2, x, nb, out, r);
            dotRows(base + 2 * stride, stride, 2, x, nb, out, r + 2);
        }
    }

    /** out[r + k] = row k . x for the n (1 or 2) rows at base + k * stride. */
    private static void dotRows(long base, long stride, int n, float[] x, int nb, float[] out, int r) {
        float[] t = SCRATCH.get();
        java.util.Arrays.fill(t, 0f);
        for (int blk = 0; blk < nb; blk++) {
            for (int k = 0; k < n; k++) {
                long off = base + k * stride + (long) blk * BB;
                float d = f16(ALL, off + 208);
                ((FloatVector) ByteVector.fromMemorySegment(B16, ALL, off + 192, QuantSimd.LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(t, 0);
                FloatVector acc = FloatVector.fromArray(F, t, 16 + 16 * k);
                for (int h = 0; h < 2; h++) {
                    for (int l = 0; l < 32; l += 16) {
                        ByteVector hh = ByteVector.fromMemorySegment(B16, ALL, off + 128 + 32 * h + l, QuantSimd.LE);
                        for (int g = 0; g < 4; g++) { // elements 128h + 32g + l..: low4 of ql[64h + 32(g&1) + l] >> 4(g>>1), high2 of qh >> 2g
                            ByteVector a = ByteVector.fromMemorySegment(B16, ALL, off + 64 * h + 32 * (g & 1) + l, QuantSimd.LE);
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

    /**
     * Any L (8: AVX2, 4: NEON): {@link #dotRows} with 2L-byte loads converted in two parts (so the
     * accumulation order per row differs from L = 16, but not between 1 and 2 rows). The high pair
     * reaches bits 4-5 with a plain int-lane shift (one instruction, where a rotate is three without
     * AVX-512): the byte mask drops what crosses in from the neighbouring byte.
     */
    /** Bytes per load in {@link #dotRowsL}: 2L (two float parts; 16 at L = 8 halves the byte work per quant). */
    private static final int QB = 2 * Math.min(L, 8);
    private static final VectorSpecies<Byte> BL = VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(8 * QB));
    /** The load's second half moved to the front. */
    private static final jdk.incubator.vector.VectorShuffle<Byte> UP = jdk.incubator.vector.VectorShuffle.fromOp(BL, i -> (i + L) % QB);

    private static void dotRowsL(long base, long stride, int n, float[] x, int nb, float[] out, int r) {
        float[] t = SCRATCH.get();
        java.util.Arrays.fill(t, 0f);
        for (int blk = 0; blk < nb; blk++) {
            for (int k = 0; k < n; k++) {
                long off = base + k * stride + (long) blk * BB;
                float d = f16(ALL, off + 208);
                for (int s = 0; s < 16; s += Q) {
                    ByteVector sc = ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 192 + s, QuantSimd.LE);
                    for (int p = 0; p < P; p++) {
                        ((FloatVector) (P == 1 || p == 0 ? sc : sc.rearrange(QuantSimd.UPPER))
                                .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(t, s + p * L);
                    }
                }
                FloatVector acc = FloatVector.fromArray(F, t, 16 + 16 * k);
                for (int h = 0; h < 2; h++) {
                    for (int l = 0; l < 32; l += QB) { // QB divides 16: one scale per load
                        // elements 128h + 32g + l..: low4 of ql[64h + 32(g&1) + l] >> 4(g>>1), high2 of qh >> 2g;
                        // the four g spelled out (constant shifts, each load once)
                        ByteVector a0 = ByteVector.fromMemorySegment(BL, ALL, off + 64 * h + l, QuantSimd.LE);
                        ByteVector a1 = ByteVector.fromMemorySegment(BL, ALL, off + 64 * h + 32 + l, QuantSimd.LE);
                        ByteVector hh = ByteVector.fromMemorySegment(BL, ALL, off + 128 + 32 * h + l, QuantSimd.LE);
                        ByteVector q0 = a0.and((byte) 15)
                                .or(hh.reinterpretAsInts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes().and((byte) 0x30)).sub((byte) 32);
                        ByteVector q1 = a1.and((byte) 15)
                                .or(hh.reinterpretAsInts().lanewise(VectorOperators.LSHL, 2).reinterpretAsBytes().and((byte) 0x30)).sub((byte) 32);
                        ByteVector q2 = a0.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 15)
                                .or(hh.and((byte) 0x30)).sub((byte) 32);
                        ByteVector q3 = a1.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 15)
                                .or(hh.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes().and((byte) 0x30)).sub((byte) 32);
                        int e = blk * QK + 128 * h + l, si = 8 * h + l / 16;
                        FloatVector ds0 = FloatVector.broadcast(F, t[si]), ds1 = FloatVector.broadcast(F, t[si + 2]);
                        FloatVector ds2 = FloatVector.broadcast(F, t[si + 4]), ds3 = FloatVector.broadcast(F, t[si + 6]);
                        // both halves of a load share the scale: t = w*x over the load, acc += t * scale
                        acc = ((FloatVector) q0.rearrange(UP).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, e + L),
                                ((FloatVector) q0.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, e)))
                                .fma(ds0, acc);
                        acc = ((FloatVector) q1.rearrange(UP).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, e + 32 + L),
                                ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, e + 32)))
                                .fma(ds1, acc);
                        acc = ((FloatVector) q2.rearrange(UP).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, e + 64 + L),
                                ((FloatVector) q2.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, e + 64)))
                                .fma(ds2, acc);
                        acc = ((FloatVector) q3.rearrange(UP).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, e + 96 + L),
                                ((FloatVector) q3.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, e + 96)))
                                .fma(ds3, acc);
                    }
                }
                acc.intoArray(t, 16 + 16 * k);
            }
        }
        for (int k = 0; k < n; k++) out[r + k] = FloatVector.fromArray(F, t, 16 + 16 * k).reduceLanes(VectorOperators.ADD);
    }
}
