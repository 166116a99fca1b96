package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;
import static qwen4j.tensor.quant.QuantSimd.P;
import static qwen4j.tensor.quant.QuantSimd.Q;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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
    // unsigned (0..63) on int lanes from 16 zero-extended bytes of low bits and 16 of high bits
    // (q = low4 | high2 << 4: one AND or shift for the low nibble, a shift and an AND for the pair, an
    // OR), converted to 16 floats, multiplied by x and FMAd into the row's accumulator with the
    // sub-block's scale d*sc. The offset comes out once per super-block: sum (q - 32) s x = sum q s x -
    // 32 sum s X, X the sub-block sums of x (BLOCK_SUMS), s . X as one 16-lane FMA into a running
    // correction. Against the signed form on bytes (per 16 elements a byte shift, a rotate, two ANDs, an
    // OR, a subtract, then a sign extension) this is about a third fewer instructions per quant: 1.2-1.3x
    // in L2, 0.94-1.22x from L3 or memory (KernelAB). Two accumulators per row (even and odd sub-blocks)
    // keep the FMA chain from setting the pace.
    //
    // Rows go in pairs, one super-block of each in turn (two memory streams), a row's accumulators
    // parked in the scratch array between turns so that the vector code appears once (C2 boxes
    // vectors past its inlining node budget). Four rows (the matvec's quarters) run as two pairs taking
    // turns every CHUNK super-blocks, so that all four streams stay active: one pair after the other
    // over whole rows read 6-7 GB/s from memory on rows of 7168 or 18944 columns (ffn_down) against 10
    // on 3584, and in turns 8-10 on all three. Pairs in turns every super-block, or four rows in
    // lockstep, were several times slower at some strides. A row's values do not depend on the turns
    // (its accumulators resume where they stopped).

    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;

    /** Super-blocks a pair of rows takes per turn in {@link #dotFourRowsSimd}. */
    private static final int CHUNK = 4;

    @Override int blockSumSpan() { return L == 16 ? 16 : 0; }

    /**
     * Per-thread scratch of {@link #dotRows}: [0, 16) the current super-block's scales d*sc; [16 + 16k,
     * 32 + 16k) row k's running correction s . X per sub-block position; [80 + 32k, 112 + 32k) its two
     * accumulators (k < 4). {@link #dotRowsL} uses [0, 48) its own way.
     */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[208]);

    @Override
    float dotRowSimd(long base, float[] x, int nb) {
        float[] one = ONE.get();
        if (L != 16) {
            dotRowsL(base, 0, 1, x, nb, one, 0);
            return one[0];
        }
        float[] t = SCRATCH.get();
        java.util.Arrays.fill(t, 0f);
        dotRows(base, 0, 1, x, 0, nb, 0, t);
        finish(t, 1, one, 0);
        return one[0];
    }

    @Override
    void dotTwoRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L != 16) {
            dotRowsL(base, stride, 2, x, nb, out, r);
            return;
        }
        float[] t = SCRATCH.get();
        java.util.Arrays.fill(t, 0f);
        dotRows(base, stride, 2, x, 0, nb, 0, t);
        finish(t, 2, out, r);
    }

    @Override
    void dotFourRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L != 16) {
            dotRowsL(base, stride, 2, x, nb, out, r);
            dotRowsL(base + 2 * stride, stride, 2, x, nb, out, r + 2);
            return;
        }
        float[] t = SCRATCH.get();
        java.util.Arrays.fill(t, 0f);
        for (int b0 = 0; b0 < nb; b0 += CHUNK) {
            int b1 = Math.min(nb, b0 + CHUNK);
            dotRows(base, stride, 2, x, b0, b1, 0, t);
            dotRows(base + 2 * stride, stride, 2, x, b0, b1, 2, t);
        }
        finish(t, 4, out, r);
    }

    /**
     * Super-blocks [b0, b1) of the n (1 or 2) rows at base + k * stride, into the scratch slots of rows
     * k0 + k (accumulators and corrections resumed from t and parked back).
     */
    private static void dotRows(long base, long stride, int n, float[] x, int b0, int b1, int k0, float[] t) {
        float[] sums = BLOCK_SUMS.get();
        for (int blk = b0; blk < b1; blk++) {
            for (int k = 0; k < n; k++) {
                int slot = k0 + k;
                long off = base + k * stride + (long) blk * BB;
                FloatVector sc = ((FloatVector) ByteVector.fromMemorySegment(B16, ALL, off + 192, QuantSimd.LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(f16(ALL, off + 208));
                sc.intoArray(t, 0);
                sc.fma(FloatVector.fromArray(F, sums, 16 * blk), FloatVector.fromArray(F, t, 16 + 16 * slot)).intoArray(t, 16 + 16 * slot);
                FloatVector acc0 = FloatVector.fromArray(F, t, 80 + 32 * slot), acc1 = FloatVector.fromArray(F, t, 96 + 32 * slot);
                for (int h = 0; h < 2; h++) {
                    for (int l = 0; l < 32; l += 16) {
                        // elements 128h + 32g + l..: low4 of ql[64h + 32(g&1) + l] >> 4(g>>1), high2 of qh[32h + l] >> 2g
                        IntVector hh = (IntVector) ByteVector.fromMemorySegment(B16, ALL, off + 128 + 32 * h + l, QuantSimd.LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                        IntVector a0 = (IntVector) ByteVector.fromMemorySegment(B16, ALL, off + 64 * h + l, QuantSimd.LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                        IntVector a1 = (IntVector) ByteVector.fromMemorySegment(B16, ALL, off + 64 * h + 32 + l, QuantSimd.LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                        int e = blk * QK + 128 * h + l, si = 8 * h + l / 16;
                        IntVector q0 = a0.and(15).or(hh.lanewise(VectorOperators.LSHL, 4).and(0x30));
                        IntVector q1 = a1.and(15).or(hh.lanewise(VectorOperators.LSHL, 2).and(0x30));
                        IntVector q2 = a0.lanewise(VectorOperators.LSHR, 4).or(hh.and(0x30));
                        IntVector q3 = a1.lanewise(VectorOperators.LSHR, 4).or(hh.lanewise(VectorOperators.LSHR, 2).and(0x30));
                        acc0 = ((FloatVector) q0.convertShape(VectorOperators.I2F, F, 0)).mul(FloatVector.fromArray(F, x, e))
                                .fma(FloatVector.broadcast(F, t[si]), acc0);
                        acc1 = ((FloatVector) q1.convertShape(VectorOperators.I2F, F, 0)).mul(FloatVector.fromArray(F, x, e + 32))
                                .fma(FloatVector.broadcast(F, t[si + 2]), acc1);
                        acc0 = ((FloatVector) q2.convertShape(VectorOperators.I2F, F, 0)).mul(FloatVector.fromArray(F, x, e + 64))
                                .fma(FloatVector.broadcast(F, t[si + 4]), acc0);
                        acc1 = ((FloatVector) q3.convertShape(VectorOperators.I2F, F, 0)).mul(FloatVector.fromArray(F, x, e + 96))
                                .fma(FloatVector.broadcast(F, t[si + 6]), acc1);
                    }
                }
                acc0.intoArray(t, 80 + 32 * slot);
                acc1.intoArray(t, 96 + 32 * slot);
            }
        }
    }

    /** out[r + k] = row k's accumulators summed, minus 32 times its correction (k < n). */
    private static void finish(float[] t, int n, float[] out, int r) {
        for (int k = 0; k < n; k++) {
            FloatVector.fromArray(F, t, 80 + 32 * k).add(FloatVector.fromArray(F, t, 96 + 32 * k)).intoArray(t, 80 + 32 * k);
            out[r + k] = QuantSimd.laneSum(t, 80 + 32 * k) - 32f * QuantSimd.laneSum(t, 16 + 16 * k);
        }
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
    private static final VectorSpecies<Integer> BLI = VectorSpecies.of(int.class, BL.vectorShape());
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
                                .or(((ByteVector) ((IntVector) hh.reinterpretShape(BLI, 0)).lanewise(VectorOperators.LSHL, 4).reinterpretShape(BL, 0)).and((byte) 0x30)).sub((byte) 32);
                        ByteVector q1 = a1.and((byte) 15)
                                .or(((ByteVector) ((IntVector) hh.reinterpretShape(BLI, 0)).lanewise(VectorOperators.LSHL, 2).reinterpretShape(BL, 0)).and((byte) 0x30)).sub((byte) 32);
                        ByteVector q2 = ((ByteVector) ((IntVector) a0.reinterpretShape(BLI, 0)).lanewise(VectorOperators.LSHR, 4).reinterpretShape(BL, 0)).and((byte) 15)
                                .or(hh.and((byte) 0x30)).sub((byte) 32);
                        ByteVector q3 = ((ByteVector) ((IntVector) a1.reinterpretShape(BLI, 0)).lanewise(VectorOperators.LSHR, 4).reinterpretShape(BL, 0)).and((byte) 15)
                                .or(((ByteVector) ((IntVector) hh.reinterpretShape(BLI, 0)).lanewise(VectorOperators.LSHR, 2).reinterpretShape(BL, 0)).and((byte) 0x30)).sub((byte) 32);
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
        for (int k = 0; k < n; k++) out[r + k] = QuantSimd.laneSum(t, 16 + 16 * k);
    }
}
