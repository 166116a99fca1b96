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
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/**
 * Q4_K: super-blocks of 256 = fp16 d, fp16 dmin, scales[12] (eight 6-bit scale/min pairs), qs[128]
 * (chunk c of 64: low nibbles of qs[32c..] then high nibbles); y = (d * sc) * q - dmin * mn.
 */
final class Q4_KMatrix extends QuantMatrix {
    static final int QK = 256, BB = 144;

    Q4_KMatrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q4_K; }

    /** 6-bit scale of sub-block s (0..7) from the 12 packed bytes at sb (shared by Q4_K and Q5_K). */
    static int kScale(MemorySegment seg, long sb, int s) {
        return s < 4 ? u8(seg, sb + s) & 63 : (u8(seg, sb + s + 4) & 15) | ((u8(seg, sb + s - 4) >>> 6) << 4);
    }

    /** 6-bit min of sub-block s (0..7). */
    static int kMin(MemorySegment seg, long sb, int s) {
        return s < 4 ? u8(seg, sb + s + 4) & 63 : (u8(seg, sb + s + 4) >>> 4) | ((u8(seg, sb + s) >>> 6) << 4);
    }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off), dmin = f16(seg, off + 2);
        for (int c = 0; c < 4; c++) {
            float d1 = d * kScale(seg, off + 4, 2 * c), m1 = dmin * kMin(seg, off + 4, 2 * c);
            float d2 = d * kScale(seg, off + 4, 2 * c + 1), m2 = dmin * kMin(seg, off + 4, 2 * c + 1);
            for (int l = 0; l < 32; l++) {
                int b = u8(seg, off + 16 + 32 * c + l);
                dst[o + 64 * c + l] = d1 * (b & 15) - m1;
                dst[o + 64 * c + 32 + l] = d2 * (b >>> 4) - m2;
            }
        }
    }

    @Override
    void dequantizeBlock(MemorySegment seg, long off, float[] dst, int o) { dequant(seg, off, dst, o); }

    // SIMD kernels: sum over a sub-block of (d*sc*q - dmin*mn) * x = d*sc * sum q*x - dmin*mn * sum x.
    // Per super-block and row, the eight 6-bit mins and the eight scales are unpacked together on the 16
    // byte lanes of the super-block's first 16 bytes and widened to float lanes; the scales d*sc go to a
    // per-thread scratch array (broadcast from there, one per sub-block), the mins times the sub-block sums
    // of x (BLOCK_SUMS) into a running correction. The vector loop then only zero-extends 16 bytes to 16
    // ints, splits the nibbles (and, shift), converts them to float and FMAs them with x.
    //
    // One kernel for 1, 2 and 4 rows: per 64-element chunk, the rows take turns a pair at a time (two
    // rows in registers, x loaded once for both), so four memory streams are in flight; a pair's
    // accumulators are parked in the scratch array between turns. The vector code appears twice (one
    // pair) in the bytecode: four copies went over C2's inlining node budget and boxed vectors. A row's
    // result does not depend on how rows are grouped (a single row runs as a pair with itself).
    // Scales are decoded eight at a time outside the vector loop (in scalar code per sub-block pair
    // they were half the kernel's time), and nibbles split on int lanes after one zero-extension.

    @Override int blockSumSpan() { return 32; }

    /** At 16 lanes (QuantMatrix, "rows a quarter of the matrix apart"); below, the pairs already read at full speed. */
    @Override public boolean spreadsRows() { return L == 16; }

    /**
     * Per-thread scratch. {@link #dotRows} (16 lanes): [16k + 8, 16k + 16) row k's scales d*sc in the current
     * super-block; [64 + 16k, 80 + 16k) its accumulator; [128 + 16k, 136 + 16k) its running min corrections,
     * one per sub-block position. {@link #dotRowsL}: the scales at [8k, 8k + 8), the corrections at [32 + 8k,
     * 40 + 8k), the accumulator where dotRows has it.
     */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[192]);

    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;

    /** The eight 6-bit scales of a super-block, scale s in byte s, from its 12 packed bytes (as sa, sb). */
    static long scales8(long sa, int sb) {
        long lo = sa & 0x3F3F3F3FL;                                    // s < 4: bits 0-5 of byte s
        long hi = (sb & 0x0F0F0F0FL) | ((sa & 0xC0C0C0C0L) >>> 2);     // s >= 4: byte s+4 low nibble, top bits of byte s-4
        return lo | hi << 32;
    }

    /** The eight 6-bit mins, min s in byte s. */
    static long mins8(long sa, int sb) {
        long lo = (sa >>> 32) & 0x3F3F3F3FL;                           // s < 4: bits 0-5 of byte s+4
        long hi = ((sb >>> 4) & 0x0F0F0F0FL) | (((sa >>> 32) & 0xC0C0C0C0L) >>> 2); // s >= 4: high nibble of byte s+4, top bits of byte s
        return lo | hi << 32;
    }

    /** out[r + k] = row k . x for the n (1, 2 or 4) rows at base + k * stride (see the notes above). */
    private static void dotRows(long base, long stride, int n, float[] x, int nb, float[] out, int r) {
        float[] sums = BLOCK_SUMS.get(), t = SCRATCH.get();
        java.util.Arrays.fill(t, 0f);
        long pair = n == 1 ? 0 : stride;
        for (int blk = 0; blk < nb; blk++) {
            long sb = base + (long) blk * BB;
            superBlocks(sb, pair, n == 1 ? 2 : n, sums, 8 * blk, t);
            for (int c = 0; c < 4; c++) { // chunk c: 32 bytes, low nibbles = sub-block 2c, high = 2c + 1
                int xo = blk * QK + 64 * c;
                for (int k = 0; k < n; k += 2) { // a pair of rows (a single row pairs with itself)
                    long o = sb + k * stride + 16 + 32 * c;
                    FloatVector tl0 = FloatVector.zero(F), th0 = tl0, tl1 = tl0, th1 = tl0;
                    for (int h = 0; h < 32; h += 16) {
                        FloatVector xl = FloatVector.fromArray(F, x, xo + h), xh = FloatVector.fromArray(F, x, xo + 32 + h);
                        IntVector w0 = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + h, QuantSimd.LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                        IntVector w1 = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + pair + h, QuantSimd.LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                        tl0 = ((FloatVector) w0.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xl, tl0);
                        th0 = ((FloatVector) w0.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh, th0);
                        tl1 = ((FloatVector) w1.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xl, tl1);
                        th1 = ((FloatVector) w1.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh, th1);
                    }
                    FloatVector acc0 = FloatVector.fromArray(F, t, 64 + 16 * k), acc1 = FloatVector.fromArray(F, t, 80 + 16 * k);
                    acc0 = th0.fma(FloatVector.broadcast(F, t[16 * k + 2 * c + 9]), tl0.fma(FloatVector.broadcast(F, t[16 * k + 2 * c + 8]), acc0));
                    acc1 = th1.fma(FloatVector.broadcast(F, t[16 * k + 2 * c + 25]), tl1.fma(FloatVector.broadcast(F, t[16 * k + 2 * c + 24]), acc1));
                    acc0.intoArray(t, 64 + 16 * k);
                    acc1.intoArray(t, 80 + 16 * k);
                }
            }
        }
        finish(t, n, out, r, 128, 16);
    }

    /** For lane i, the byte of a super-block's first 16 (d, dmin, the 12 packed bytes at 4..15) holding the low bits of min i (i < 8), scale i - 8. */
    private static final VectorShuffle<Byte> PICK_A = VectorShuffle.fromValues(ByteVector.SPECIES_128,
            8, 9, 10, 11, 12, 13, 14, 15, 4, 5, 6, 7, 12, 13, 14, 15);
    /** The bytes whose top two bits are bits 4-5 of mins and scales 4..7 (lanes 4-7 and 12-15; the rest unused). */
    private static final VectorShuffle<Byte> PICK_B = VectorShuffle.fromValues(ByteVector.SPECIES_128,
            0, 0, 0, 0, 8, 9, 10, 11, 0, 0, 0, 0, 4, 5, 6, 7);
    private static final ByteVector LOW_BITS = ByteVector.fromArray(ByteVector.SPECIES_128,
            new byte[] {63, 63, 63, 63, 0, 0, 0, 0, 63, 63, 63, 63, 15, 15, 15, 15}, 0);
    private static final ByteVector HIGH_NIBBLE = ByteVector.fromArray(ByteVector.SPECIES_128,
            new byte[] {0, 0, 0, 0, 15, 15, 15, 15, 0, 0, 0, 0, 0, 0, 0, 0}, 0);
    private static final ByteVector TOP_BITS = ByteVector.fromArray(ByteVector.SPECIES_128,
            new byte[] {0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30, 0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30}, 0);
    private static final VectorMask<Float> MINS = VectorMask.fromLong(F, 0xFF);

    /**
     * L = 16: decodes the super-blocks at sb + k * stride (k < n), a row's eight mins and eight scales together
     * on the 16 byte lanes of its first 16 bytes (two byte shuffles, masks and int-lane shifts: scales8 and
     * mins8 in one), widened to 16 floats and multiplied by [dmin x 8, d x 8]: row k's scales d*sc to t[16k +
     * 8 ..), its mins times the sub-block sums of x (sums[si ..]) added to its corrections at t[128 + 16k ..).
     * Against the two longs of scales8 and mins8 each widened on its own: one core 1.07-1.10x, the same bits.
     */
    static void superBlocks(long sb, long stride, int n, float[] sums, int si, float[] t) {
        FloatVector xs = (FloatVector) FloatVector.fromArray(F8, sums, si).reinterpretShape(F, 0); // [xs, 0 x 8]
        for (int k = 0; k < n; k++) {
            FloatVector m = minsAndScales(sb + k * stride);
            m.intoArray(t, 16 * k);
            m.fma(xs, FloatVector.fromArray(F, t, 128 + 16 * k)).intoArray(t, 128 + 16 * k);
        }
    }

    /**
     * L = 16: the super-block at sb's [dmin * mn x 8, d * sc x 8] (for {@link #superBlocks} and the prefill's
     * tile decode, QuantDecode.q4_k16 and q5_k16).
     */
    static FloatVector minsAndScales(long sb) {
        ByteVector h = ByteVector.fromMemorySegment(ByteVector.SPECIES_128, ALL, sb, QuantSimd.LE);
        ByteVector a = h.rearrange(PICK_A), b = h.rearrange(PICK_B);
        ByteVector q = a.and(LOW_BITS)
                .or(a.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and(HIGH_NIBBLE))
                .or(b.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes().and(TOP_BITS));
        float d = Float.float16ToFloat(ALL.get(LE_SHORT, sb)), dmin = Float.float16ToFloat(ALL.get(LE_SHORT, sb + 2));
        return ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.broadcast(F, d).blend(dmin, MINS));
    }

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

    /** Rows r .. r + 3: four memory streams in flight at 16 and 4 lanes; two pairs at 8 (QuantMatrix, "two pairs below 16 lanes"). */
    @Override
    void dotFourRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L == 8) super.dotFourRowsSimd(base, stride, x, nb, out, r); // two pairs; at 4 lanes four in turn were as fast or faster
        else if (L != 16) dotRowsL(base, stride, 4, x, nb, out, r);
        else dotRows(base, stride, 4, x, nb, out, r);
    }

    /**
     * Any L (8: AVX2, 4: NEON): {@link #dotRows} with one row's vector code, the rows taking turns one
     * at a time per chunk (n = 1, 2 or 4 memory streams; a row's accumulator parked in the scratch
     * between turns), Q-byte loads in P parts, the scales decoded L at a time. Same scratch layout. At 4 lanes
     * part 1 is zero-extended straight from the load (convertShape's part), not shuffled to the front first:
     * one core 1.13-1.17x from memory (KernelAB), same bits; Q4_0 and Q5_K, measured so, ran at 0.87 and 1.02.
     */
    private static void dotRowsL(long base, long stride, int n, float[] x, int nb, float[] out, int r) {
        float[] sums = BLOCK_SUMS.get(), t = SCRATCH.get();
        java.util.Arrays.fill(t, 0f);
        for (int blk = 0; blk < nb; blk++) {
            long sb = base + (long) blk * BB;
            superBlocksL(sb, stride, n, sums, 8 * blk, t);
            for (int c = 0; c < 4; c++) { // chunk c: 32 bytes, low nibbles = sub-block 2c, high = 2c + 1
                int xo = blk * QK + 64 * c;
                for (int k = 0; k < n; k++) {
                    long o = sb + k * stride + 16 + 32 * c;
                    FloatVector tl = FloatVector.zero(F), th = tl;
                    for (int h = 0; h < 32; h += Q) {
                        ByteVector b = ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + h, QuantSimd.LE);
                        for (int p = 0; p < P; p++) {
                            IntVector w = (IntVector) b.convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, p);
                            FloatVector xl = FloatVector.fromArray(F, x, xo + h + p * L);
                            FloatVector xh = FloatVector.fromArray(F, x, xo + 32 + h + p * L);
                            tl = ((FloatVector) w.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xl, tl);
                            th = ((FloatVector) w.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh, th);
                        }
                    }
                    FloatVector acc = FloatVector.fromArray(F, t, 64 + 16 * k);
                    acc = th.fma(FloatVector.broadcast(F, t[8 * k + 2 * c + 1]), tl.fma(FloatVector.broadcast(F, t[8 * k + 2 * c]), acc));
                    acc.intoArray(t, 64 + 16 * k);
                }
            }
        }
        finish(t, n, out, r);
    }

    /** out[r + k] = row k's accumulator lanes summed, minus its min corrections (the scratch layout above; Q5_K's too). */
    static void finish(float[] t, int n, float[] out, int r) { finish(t, n, out, r, 32, 8); }

    /** As above with row k's corrections at t[corr0 + k * corrStride ..). */
    static void finish(float[] t, int n, float[] out, int r, int corr0, int corrStride) {
        for (int k = 0; k < n; k++) {
            float corr = 0f;
            for (int s = 0; s < 8; s++) corr += t[corr0 + corrStride * k + s];
            out[r + k] = QuantSimd.laneSum(t, 64 + 16 * k) - corr;
        }
    }

    /**
     * {@link #superBlocks} for any L (dotRowsL's layout): the mins and scales unpacked on byte lanes as there,
     * converted in 8 / L parts each (the same products and FMAs as from scales8 and mins8). The unpacking is
     * written out in both: as one helper returning the byte vector, C2 left it out of line and Q5_K's 4-lane
     * kernel boxed (27 MB per matvec, 0.8 GB/s) in 3 of 7 runs of {@code KernelCpuTime Q5_K 4 3584}; 0 of 6 so.
     */
    static void superBlocksL(long sb, long stride, int n, float[] sums, int si, float[] t) {
        for (int k = 0; k < n; k++) {
            long at = sb + k * stride;
            ByteVector h = ByteVector.fromMemorySegment(ByteVector.SPECIES_128, ALL, at, QuantSimd.LE);
            ByteVector a = h.rearrange(PICK_A), b = h.rearrange(PICK_B);
            ByteVector q = a.and(LOW_BITS)
                    .or(a.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and(HIGH_NIBBLE))
                    .or(b.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes().and(TOP_BITS));
            float d = Float.float16ToFloat(ALL.get(LE_SHORT, at)), dmin = Float.float16ToFloat(ALL.get(LE_SHORT, at + 2));
            for (int s = 0; s < 8; s += L) {
                ((FloatVector) q.convertShape(VectorOperators.B2F, F, (8 + s) / L)).mul(d).intoArray(t, 8 * k + s);
                ((FloatVector) q.convertShape(VectorOperators.B2F, F, s / L)).mul(dmin)
                        .fma(FloatVector.fromArray(F, sums, si + s), FloatVector.fromArray(F, t, 32 + 8 * k + s))
                        .intoArray(t, 32 + 8 * k + s);
            }
        }
    }

    /** Scale (bits 0..5) and min (bits 8..13) of sub-block s from the 12 bytes as a long + an int. */
    static int packedScaleMin(long sa, int sb, int s) {
        if (s < 4) {
            return (int) (sa >>> (8 * s)) & 63 | ((int) (sa >>> (8 * s + 32)) & 63) << 8;
        }
        int hi = sb >>> (8 * (s - 4)); // byte s + 4
        int sc = (hi & 15) | (((int) (sa >>> (8 * (s - 4) + 6)) & 3) << 4);
        int mn = ((hi >>> 4) & 15) | (((int) (sa >>> (8 * s + 6)) & 3) << 4);
        return sc | mn << 8;
    }
}
