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
    // correction. Two accumulators per row (even and odd sub-blocks) keep the FMA chain from setting the
    // pace.
    //
    // One kernel for 1, 2 and 4 rows: four rows in lockstep, one super-block of each in turn, their eight
    // accumulators in registers and x loaded once for all four (fewer rows repeat a row in the free slots,
    // so a row's bits do not depend on its group). Against the former pairs in turns (two rows' accumulators
    // parked in a scratch array between super-blocks, x loaded per row) this is 1.1-1.3x on one core
    // (KernelAB, 512 to 32768 rows of 1536 to 18944 columns) and 1.26-1.43x with two threads from memory
    // (QuantThroughput), the same bits. The row slots take turns by rotation (slot 0's address, scale and
    // accumulators computed, then every slot moved down one), not by a branch on the slot: with the branch
    // the kernel ran at full speed only where C2 unrolled the slot loop, which it did or not by what the JVM
    // had run before (after a Q4_K matvec, as in every Q4_K_M file: half the speed, its accumulators
    // spilled); the four rows written out made the method too large for C1.
    //
    // The kernel takes a sub-block's scale d*sc straight from its byte (a scalar multiply and a
    // broadcast) and keeps its sums in registers, with no store in the loop: scales converted as a
    // vector, stored and read back as single floats (a 64-byte store, 4-byte loads: not forwarded, we
    // think) ran at a fifth of the speed at some row spacings (on Zen 5 the 7B output matrix in the
    // pool's 16 row chunks: 5 GB/s, 20 now, 27 in 2 chunks either way). dotRowsL (8 and 4 lanes) keeps
    // its vector scales: with or without stores it was slow at those spacings as long as it took four rows
    // in turn; two rows in turn are not (QuantMatrix, "two pairs below 16 lanes").

    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;

    @Override int blockSumSpan() { return L == 16 ? 16 : 0; }

    /** At 16 lanes (QuantMatrix, "rows a quarter of the matrix apart"); below, the pairs already read at full speed. */
    @Override public boolean spreadsRows() { return L == 16; }

    /**
     * Per-thread scratch of {@link #dotRowsL}: the scales d*sc of the current super-block in [0, 16), row
     * k's accumulator parked in [16 + 16k, 32 + 16k) between turns.
     */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[80]);

    @Override
    float dotRowSimd(long base, float[] x, int nb) {
        float[] one = ONE.get();
        if (L != 16) dotRowsL(base, 0, 1, x, nb, one, 0);
        else dotFour(base, base, base, base, x, nb, one, 0, 1);
        return one[0];
    }

    @Override
    void dotTwoRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L != 16) {
            dotRowsL(base, stride, 2, x, nb, out, r);
            return;
        }
        dotFour(base, base + stride, base, base + stride, x, nb, out, r, 2);
    }

    /** Below 16 lanes as two pairs (QuantMatrix, "two pairs below 16 lanes"; at 4 lanes too, 1.9x there). */
    @Override
    void dotFourRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L != 16) super.dotFourRowsSimd(base, stride, x, nb, out, r); // two pairs
        else dotFour(base, base + stride, base + 2 * stride, base + 3 * stride, x, nb, out, r, 4);
    }

    /**
     * The rows at b0 .. b3 (nb super-blocks each) times x, the first n (1, 2 or 4) into out[r ..): row slot k's
     * accumulators' lane sum minus 32 times its correction's (r0 .. r3: s . X per sub-block position).
     */
    private static void dotFour(long b0, long b1, long b2, long b3, float[] x, int nb, float[] out, int r, int n) {
        float[] sums = BLOCK_SUMS.get();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, c0 = a0, c1 = a0, e0 = a0, e1 = a0, g0 = a0, g1 = a0;
        FloatVector r0 = a0, r1 = a0, r2 = a0, r3 = a0;
        for (int blk = 0; blk < nb; blk++) {
            long blkOff = (long) blk * BB;
            FloatVector xs = FloatVector.fromArray(F, sums, 16 * blk);
            long o0 = b0 + blkOff, o1 = b1 + blkOff, o2 = b2 + blkOff, o3 = b3 + blkOff; // rotated below, back in place per loop
            float d0 = f16(ALL, o0 + 208), d1 = f16(ALL, o1 + 208), d2 = f16(ALL, o2 + 208), d3 = f16(ALL, o3 + 208);
            r0 = ((FloatVector) ByteVector.fromMemorySegment(B16, ALL, o0 + 192, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d0).fma(xs, r0);
            r1 = ((FloatVector) ByteVector.fromMemorySegment(B16, ALL, o1 + 192, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d1).fma(xs, r1);
            r2 = ((FloatVector) ByteVector.fromMemorySegment(B16, ALL, o2 + 192, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d2).fma(xs, r2);
            r3 = ((FloatVector) ByteVector.fromMemorySegment(B16, ALL, o3 + 192, QuantSimd.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d3).fma(xs, r3);
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l += 16) {
                    // elements 128h + 32g + l..: low4 of ql[64h + 32(g&1) + l] >> 4(g>>1), high2 of qh[32h + l] >> 2g
                    int e = blk * QK + 128 * h + l, si = 8 * h + l / 16;
                    FloatVector x0 = FloatVector.fromArray(F, x, e), x1 = FloatVector.fromArray(F, x, e + 32);
                    FloatVector x2 = FloatVector.fromArray(F, x, e + 64), x3 = FloatVector.fromArray(F, x, e + 96);
                    // the four row slots in turn, each pass on slot "a" (o0, d0, a0, a1), then all rotated by one:
                    // no branch selects a slot, so the code is the same whether or not C2 unrolls the loop
                    for (int k = 0; k < 4; k++) {
                        IntVector hh = (IntVector) ByteVector.fromMemorySegment(B16, ALL, o0 + 128 + 32 * h + l, QuantSimd.LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                        IntVector w0 = (IntVector) ByteVector.fromMemorySegment(B16, ALL, o0 + 64 * h + l, QuantSimd.LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                        IntVector w1 = (IntVector) ByteVector.fromMemorySegment(B16, ALL, o0 + 64 * h + 32 + l, QuantSimd.LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                        IntVector q0 = w0.and(15).or(hh.lanewise(VectorOperators.LSHL, 4).and(0x30));
                        IntVector q1 = w1.and(15).or(hh.lanewise(VectorOperators.LSHL, 2).and(0x30));
                        IntVector q2 = w0.lanewise(VectorOperators.LSHR, 4).or(hh.and(0x30));
                        IntVector q3 = w1.lanewise(VectorOperators.LSHR, 4).or(hh.lanewise(VectorOperators.LSHR, 2).and(0x30));
                        FloatVector p0 = ((FloatVector) q0.convertShape(VectorOperators.I2F, F, 0)).mul(x0);
                        FloatVector p1 = ((FloatVector) q1.convertShape(VectorOperators.I2F, F, 0)).mul(x1);
                        FloatVector p2 = ((FloatVector) q2.convertShape(VectorOperators.I2F, F, 0)).mul(x2);
                        FloatVector p3 = ((FloatVector) q3.convertShape(VectorOperators.I2F, F, 0)).mul(x3);
                        FloatVector s0 = FloatVector.broadcast(F, ALL.get(BYTE, o0 + 192 + si) * d0);
                        FloatVector s1 = FloatVector.broadcast(F, ALL.get(BYTE, o0 + 194 + si) * d0);
                        FloatVector s2 = FloatVector.broadcast(F, ALL.get(BYTE, o0 + 196 + si) * d0);
                        FloatVector s3 = FloatVector.broadcast(F, ALL.get(BYTE, o0 + 198 + si) * d0);
                        FloatVector n0 = p2.fma(s2, p0.fma(s0, a0)), n1 = p3.fma(s3, p1.fma(s1, a1));
                        a0 = c0; a1 = c1; c0 = e0; c1 = e1; e0 = g0; e1 = g1; g0 = n0; g1 = n1;
                        long ot = o0; o0 = o1; o1 = o2; o2 = o3; o3 = ot;
                        float dt = d0; d0 = d1; d1 = d2; d2 = d3; d3 = dt;
                    }
                }
            }
        }
        a0 = a0.add(a1); c0 = c0.add(c1); e0 = e0.add(e1); g0 = g0.add(g1);
        a0 = a0.add(a0.rearrange(QuantSimd.X8)); c0 = c0.add(c0.rearrange(QuantSimd.X8)); e0 = e0.add(e0.rearrange(QuantSimd.X8)); g0 = g0.add(g0.rearrange(QuantSimd.X8));
        r0 = r0.add(r0.rearrange(QuantSimd.X8)); r1 = r1.add(r1.rearrange(QuantSimd.X8)); r2 = r2.add(r2.rearrange(QuantSimd.X8)); r3 = r3.add(r3.rearrange(QuantSimd.X8));
        a0 = a0.add(a0.rearrange(QuantSimd.X4)); c0 = c0.add(c0.rearrange(QuantSimd.X4)); e0 = e0.add(e0.rearrange(QuantSimd.X4)); g0 = g0.add(g0.rearrange(QuantSimd.X4));
        r0 = r0.add(r0.rearrange(QuantSimd.X4)); r1 = r1.add(r1.rearrange(QuantSimd.X4)); r2 = r2.add(r2.rearrange(QuantSimd.X4)); r3 = r3.add(r3.rearrange(QuantSimd.X4));
        a0 = a0.add(a0.rearrange(QuantSimd.X2)); c0 = c0.add(c0.rearrange(QuantSimd.X2)); e0 = e0.add(e0.rearrange(QuantSimd.X2)); g0 = g0.add(g0.rearrange(QuantSimd.X2));
        r0 = r0.add(r0.rearrange(QuantSimd.X2)); r1 = r1.add(r1.rearrange(QuantSimd.X2)); r2 = r2.add(r2.rearrange(QuantSimd.X2)); r3 = r3.add(r3.rearrange(QuantSimd.X2));
        a0 = a0.add(a0.rearrange(QuantSimd.X1)); c0 = c0.add(c0.rearrange(QuantSimd.X1)); e0 = e0.add(e0.rearrange(QuantSimd.X1)); g0 = g0.add(g0.rearrange(QuantSimd.X1));
        r0 = r0.add(r0.rearrange(QuantSimd.X1)); r1 = r1.add(r1.rearrange(QuantSimd.X1)); r2 = r2.add(r2.rearrange(QuantSimd.X1)); r3 = r3.add(r3.rearrange(QuantSimd.X1));
        out[r] = a0.lane(0) - 32f * r0.lane(0);
        if (n > 1) out[r + 1] = c0.lane(0) - 32f * r1.lane(0);
        if (n == 4) {
            out[r + 2] = e0.lane(0) - 32f * r2.lane(0);
            out[r + 3] = g0.lane(0) - 32f * r3.lane(0);
        }
    }

    /** Bytes per load in {@link #dotRowsL}: 2L (two float parts; 16 at L = 8 halves the byte work per quant). */
    private static final int QB = 2 * Math.min(L, 8);
    private static final VectorSpecies<Byte> BL = VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(8 * QB));
    private static final VectorSpecies<Integer> BLI = VectorSpecies.of(int.class, BL.vectorShape());
    /** The load's second half moved to the front. */
    private static final jdk.incubator.vector.VectorShuffle<Byte> UP = jdk.incubator.vector.VectorShuffle.fromOp(BL, i -> (i + L) % QB);

    /**
     * Any L (8: AVX2, 4: NEON): the n (1, 2 or 4) rows one super-block each in turn, a row's accumulator
     * parked in the scratch between turns, with 2L-byte loads converted in two parts (so the accumulation
     * order per row differs from L = 16, but not between 1, 2 and 4 rows). The high pair reaches bits 4-5
     * with a plain int-lane shift (one instruction, where a rotate is three without AVX-512): the byte mask
     * drops what crosses in from the neighbouring byte. Called for at most two rows by the matvec
     * (QuantMatrix, "two pairs below 16 lanes").
     */
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
