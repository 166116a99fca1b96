package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;
import static qwen4j.tensor.quant.QuantSimd.P;
import static qwen4j.tensor.quant.QuantSimd.Q;
import static qwen4j.tensor.quant.QuantSimd.X1;
import static qwen4j.tensor.quant.QuantSimd.X2;
import static qwen4j.tensor.quant.QuantSimd.X4;
import static qwen4j.tensor.quant.QuantSimd.X8;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/** Q4_0: blocks of 32 = fp16 d, 16 bytes of nibbles (qs[j]: element j low, j+16 high); y = (q - 8) * d. */
final class Q4_0Matrix extends QuantMatrix {
    static final int QK = 32, BB = 18;

    /**
     * At 16 lanes every block's d as float32 ({@link QuantMatrix#blockScales}): the one-, four-row and two-token
     * kernels broadcast it with one load. Converting it from fp16 in the loop (scalar: to a general register, back,
     * convert, broadcast) was a third of their time: one core, 256 x 3584 in cache 1.43x, from memory 1.13-1.20x, for
     * 4 bytes more read per 18-byte block. Null at 8 and 4 lanes (no gain there: 0.93-1.13x), for scalar kernels,
     * and when the tables would pass {@link QuantMatrix#SCALE_TABLE_ROOM}: the kernels then convert d in the loop
     * (a branch on a loop invariant; the same values, so the same bits).
     */
    private final MemorySegment scales;
    private final long scaleAddress;

    Q4_0Matrix(MemorySegment data, int rows, int cols, Kernels k) {
        super(data, rows, cols, k);
        scales = simd && L == 16 ? blockScales(this, address, (long) rows * blocksPerRow, BB) : null;
        scaleAddress = scales != null ? scales.address() : 0;
    }

    @Override boolean hasScaleTable() { return scales != null; }

    /** The address of the scales of the row at absolute address base; 0 without a table (the kernels convert d). */
    private long scalesOf(long base) { return scales == null ? 0 : scaleAddress + (base - address) / rowBytes * blocksPerRow * 4; }

    /** The distance between the scales of rows stride bytes apart. */
    private long scaleStride(long stride) { return stride / rowBytes * blocksPerRow * 4; }

    /** A block's d: from the table at so where the row has one (s != 0, invariant in a kernel's loop), else from its fp16 at off. */
    private static float d(long s, long so, long off) {
        return s != 0 ? ALL.get(SCALE, so) : Float.float16ToFloat(ALL.get(LE_SHORT, off));
    }

    @Override public DType type() { return DType.Q4_0; }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off);
        for (int j = 0; j < 16; j++) {
            int b = u8(seg, off + 2 + j);
            dst[o + j] = (float) ((b & 15) - 8) * d;
            dst[o + j + 16] = (float) ((b >>> 4) - 8) * d;
        }
    }

    @Override
    void dequantizeBlock(MemorySegment seg, long off, float[] dst, int o) { dequant(seg, off, dst, o); }

    // Two ways to the same per-row sum, by vector width. At L = 16 (AVX-512) a block's 16 bytes are
    // zero-extended to int lanes once and the nibbles split there (x86 has no byte shift: on byte
    // lanes C2 spends five instructions on one), and each nibble becomes the float q - 8 directly: OR-ed
    // into the mantissa of 2^23, minus 2^23 + 8 (exact; AND and OR fold into one ternary-logic
    // instruction, and the subtract runs on the adders where a conversion would take the FMA units).
    // The high nibble is masked in place, not shifted: bits 4-7 OR-ed into 2^19's mantissa, whose last
    // place is 2^-4, give 2^19 + q exactly (one instruction fewer per row and block; the four-token kernel
    // keeps the shift and converts its own scales: with two more constants or the scale table it ran 3% and
    // 24% slower, its 16 accumulators and 8 x vectors leaving no registers).
    // At L = 8 or 4 (no ternary logic; a conversion is cheaper) the unsigned nibbles convert to float
    // and sum (q - 8) x d is taken as sum q x d - 8 d (sum of x over the block), with the block sums of
    // x (BLOCK_SUMS) once per call. Within one width every kernel does the same operations in the same
    // order per row, so a row's result does not depend on how rows are grouped.

    /** Float bits of 2^23: an integer 0..15 OR-ed into them gives the float 2^23 + n. */
    private static final int MAGIC = 0x4B000000;
    /** 2^23 + 8: (2^23 + q) - BIAS = q - 8, exactly. */
    private static final float BIAS = 8388616f;
    /** Float bits of 2^19: a byte's high nibble q, masked in place (16 q), OR-ed into them gives 2^19 + q. */
    private static final int MAGIC_HIGH = 0x49000000;
    /** 2^19 + 8: (2^19 + q) - BIAS_HIGH = q - 8, exactly. */
    private static final float BIAS_HIGH = 524296f;

    @Override int blockSumSpan() { return L != 16 ? 32 : 0; }

    @Override
    float dotRowSimd(long base, float[] x, int nb) {
        return L == 16 ? dotRow16(base, scalesOf(base), x, nb) : dotRowL(base, x, nb);
    }

    /**
     * Rows r .. r + 3: at L = 16 four memory streams in flight, which one core needs to read near memory
     * speed; at 8 and 4 lanes the default's two pairs ({@link #dotTwoRowsL}).
     */
    @Override
    void dotFourRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L == 16) dotFourRows16(base, stride, scalesOf(base), scaleStride(stride), x, nb, out, r);
        else super.dotFourRowsSimd(base, stride, x, nb, out, r);
    }

    /** At 16 lanes the matvec's decode (one zero-extension, q - 8 through the mantissa, d from the table); else QuantDecode's. */
    @Override
    public void decodeRange(int r, int k0, int n, float[] dst, int off) {
        if (L != 16 || k0 % QK != 0 || n % QK != 0) {
            super.decodeRange(r, k0, n, dst, off);
            return;
        }
        long base = address + r * rowBytes, s = scalesOf(base);
        decode16(base + (long) (k0 / QK) * BB, s, s + (long) (k0 / QK) * 4, n / QK, dst, off);
    }

    /** L = 16: nb blocks at off as (q - 8) * d, the bits of {@link #dequant} (q - 8 exact, one multiply by d). */
    private static void decode16(long off, long s, long so, int nb, float[] dst, int o) {
        for (int blk = 0; blk < nb; blk++, off += BB, so += 4, o += QK) {
            FloatVector d = FloatVector.broadcast(F, d(s, so, off));
            IntVector w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(d).intoArray(dst, o);
            ((FloatVector) w.and(0xF0).or(MAGIC_HIGH).reinterpretShape(F, 0)).sub(BIAS_HIGH).mul(d).intoArray(dst, o + 16);
        }
    }

    /** L = 16: the block's 16 bytes zero-extended to 16 int lanes, low nibbles then high. */
    private static float dotRow16(long base, long s, float[] x, int nb) {
        FloatVector acc = FloatVector.zero(F);
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            float d = d(s, s + 4L * blk, off);
            IntVector w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            FloatVector t = ((FloatVector) w.and(0xF0).or(MAGIC_HIGH).reinterpretShape(F, 0)).sub(BIAS_HIGH).fma(
                    FloatVector.fromArray(F, x, xo + 16),
                    ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(FloatVector.fromArray(F, x, xo)));
            acc = t.fma(FloatVector.broadcast(F, d), acc);
        }
        acc = acc.add(acc.rearrange(X8));
        acc = acc.add(acc.rearrange(X4));
        acc = acc.add(acc.rearrange(X2));
        acc = acc.add(acc.rearrange(X1));
        return acc.lane(0);
    }

    /** L = 16, rows r .. r + 3; calls the Vector API directly (no helpers): near C2's node budget. */
    private static void dotFourRows16(long base, long stride, long s, long ss, float[] x, int nb, float[] out, int r) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int blk = 0; blk < nb; blk++) {
            long off = base + (long) blk * BB;
            int xo = blk * QK;
            // scalars first: parsed early, inlined before the node budget runs out
            long so = s + 4L * blk;
            float d0 = d(s, so, off), d1 = d(s, so + ss, off + stride), d2 = d(s, so + 2 * ss, off + 2 * stride), d3 = d(s, so + 3 * ss, off + 3 * stride);
            FloatVector xl = FloatVector.fromArray(F, x, xo), xh = FloatVector.fromArray(F, x, xo + 16);
            IntVector w0 = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            IntVector w1 = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            IntVector w2 = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2 * stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            IntVector w3 = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 3 * stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            FloatVector t0 = ((FloatVector) w0.and(0xF0).or(MAGIC_HIGH).reinterpretShape(F, 0)).sub(BIAS_HIGH)
                    .fma(xh, ((FloatVector) w0.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(xl));
            FloatVector t1 = ((FloatVector) w1.and(0xF0).or(MAGIC_HIGH).reinterpretShape(F, 0)).sub(BIAS_HIGH)
                    .fma(xh, ((FloatVector) w1.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(xl));
            FloatVector t2 = ((FloatVector) w2.and(0xF0).or(MAGIC_HIGH).reinterpretShape(F, 0)).sub(BIAS_HIGH)
                    .fma(xh, ((FloatVector) w2.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(xl));
            FloatVector t3 = ((FloatVector) w3.and(0xF0).or(MAGIC_HIGH).reinterpretShape(F, 0)).sub(BIAS_HIGH)
                    .fma(xh, ((FloatVector) w3.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(xl));
            acc0 = t0.fma(FloatVector.broadcast(F, d0), acc0);
            acc1 = t1.fma(FloatVector.broadcast(F, d1), acc1);
            acc2 = t2.fma(FloatVector.broadcast(F, d2), acc2);
            acc3 = t3.fma(FloatVector.broadcast(F, d3), acc3);
        }
        acc0 = acc0.add(acc0.rearrange(X8)); acc1 = acc1.add(acc1.rearrange(X8));
        acc2 = acc2.add(acc2.rearrange(X8)); acc3 = acc3.add(acc3.rearrange(X8));
        acc0 = acc0.add(acc0.rearrange(X4)); acc1 = acc1.add(acc1.rearrange(X4));
        acc2 = acc2.add(acc2.rearrange(X4)); acc3 = acc3.add(acc3.rearrange(X4));
        acc0 = acc0.add(acc0.rearrange(X2)); acc1 = acc1.add(acc1.rearrange(X2));
        acc2 = acc2.add(acc2.rearrange(X2)); acc3 = acc3.add(acc3.rearrange(X2));
        acc0 = acc0.add(acc0.rearrange(X1)); acc1 = acc1.add(acc1.rearrange(X1));
        acc2 = acc2.add(acc2.rearrange(X1)); acc3 = acc3.add(acc3.rearrange(X1));
        out[r] = acc0.lane(0);
        out[r + 1] = acc1.lane(0);
        out[r + 2] = acc2.lane(0);
        out[r + 3] = acc3.lane(0);
    }

    // A few tokens at once (batched decode of 2-8 sequences, MatMul.fused), L = 16: per
    // block, each row's nibbles become the two float vectors q - 8 once, then every token takes the
    // same steps as its matvec (dotFourRows16: t = (q - 8) x over the block, acc += t * d, a lane sum
    // at the end). One core, 2048 x 3584 (FewTokensCpuTime), ns per weight: 2 tokens 0.055 (matvecs
    // 0.086), 3 tokens 0.066 (0.121), 4 tokens 0.060 (float tiles and dot products 0.132), 8 tokens
    // 0.134 (0.212).

    @Override boolean hasFusedKernels() { return L == 16; }

    /** 9-16 tokens at 16 lanes (7B file, aggregate decode against the float tiles: 10 sequences 1.5x, 12 1.5x, 14 1.1x, 16 even). */
    @Override int scaledTokensMax() { return L == 16 ? qwen4j.tensor.MatMul.FUSED_TOKENS_MAX : 0; }

    @Override
    void fourRowsTwoTokens(long base, long stride, float[] x, int x0, int x1, int nb, float[] acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        long off = base, s = scalesOf(base), so = s, ss = scaleStride(stride);
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK, so += 4) {
            float d0 = d(s, so, off), d1 = d(s, so + ss, off + stride), d2 = d(s, so + 2 * ss, off + 2 * stride), d3 = d(s, so + 3 * ss, off + 3 * stride);
            FloatVector xl = FloatVector.fromArray(F, x, x0 + xo), xh = FloatVector.fromArray(F, x, x0 + xo + 16);
            FloatVector yl = FloatVector.fromArray(F, x, x1 + xo), yh = FloatVector.fromArray(F, x, x1 + xo + 16);
            IntVector w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            FloatVector wl = ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS), wh = ((FloatVector) w.and(0xF0).or(MAGIC_HIGH).reinterpretShape(F, 0)).sub(BIAS_HIGH);
            FloatVector d = FloatVector.broadcast(F, d0);
            a0 = wh.fma(xh, wl.mul(xl)).fma(d, a0);
            b0 = wh.fma(yh, wl.mul(yl)).fma(d, b0);
            w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            wl = ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS); wh = ((FloatVector) w.and(0xF0).or(MAGIC_HIGH).reinterpretShape(F, 0)).sub(BIAS_HIGH);
            d = FloatVector.broadcast(F, d1);
            a1 = wh.fma(xh, wl.mul(xl)).fma(d, a1);
            b1 = wh.fma(yh, wl.mul(yl)).fma(d, b1);
            w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2 * stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            wl = ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS); wh = ((FloatVector) w.and(0xF0).or(MAGIC_HIGH).reinterpretShape(F, 0)).sub(BIAS_HIGH);
            d = FloatVector.broadcast(F, d2);
            a2 = wh.fma(xh, wl.mul(xl)).fma(d, a2);
            b2 = wh.fma(yh, wl.mul(yl)).fma(d, b2);
            w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 3 * stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            wl = ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS); wh = ((FloatVector) w.and(0xF0).or(MAGIC_HIGH).reinterpretShape(F, 0)).sub(BIAS_HIGH);
            d = FloatVector.broadcast(F, d3);
            a3 = wh.fma(xh, wl.mul(xl)).fma(d, a3);
            b3 = wh.fma(yh, wl.mul(yl)).fma(d, b3);
        }
        a0.intoArray(acc, 0); a1.intoArray(acc, L); a2.intoArray(acc, 2 * L); a3.intoArray(acc, 3 * L);
        b0.intoArray(acc, 4 * L); b1.intoArray(acc, 5 * L); b2.intoArray(acc, 6 * L); b3.intoArray(acc, 7 * L);
    }

    @Override
    void fourRowsFourTokens(long base, long stride, float[] x, int x0, int x1, int x2, int x3, int nb, float[] acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, e0 = a0, e1 = a0, e2 = a0, e3 = a0;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            FloatVector xl0 = FloatVector.fromArray(F, x, x0 + xo), xh0 = FloatVector.fromArray(F, x, x0 + xo + 16);
            FloatVector xl1 = FloatVector.fromArray(F, x, x1 + xo), xh1 = FloatVector.fromArray(F, x, x1 + xo + 16);
            FloatVector xl2 = FloatVector.fromArray(F, x, x2 + xo), xh2 = FloatVector.fromArray(F, x, x2 + xo + 16);
            FloatVector xl3 = FloatVector.fromArray(F, x, x3 + xo), xh3 = FloatVector.fromArray(F, x, x3 + xo + 16);
            FloatVector d, wl, wh;
            IntVector w;
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off)));
            w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            wl = ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS); wh = ((FloatVector) w.lanewise(VectorOperators.LSHR, 4).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS);
            a0 = wh.fma(xh0, wl.mul(xl0)).fma(d, a0); a1 = wh.fma(xh1, wl.mul(xl1)).fma(d, a1);
            a2 = wh.fma(xh2, wl.mul(xl2)).fma(d, a2); a3 = wh.fma(xh3, wl.mul(xl3)).fma(d, a3);
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off + stride)));
            w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            wl = ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS); wh = ((FloatVector) w.lanewise(VectorOperators.LSHR, 4).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS);
            b0 = wh.fma(xh0, wl.mul(xl0)).fma(d, b0); b1 = wh.fma(xh1, wl.mul(xl1)).fma(d, b1);
            b2 = wh.fma(xh2, wl.mul(xl2)).fma(d, b2); b3 = wh.fma(xh3, wl.mul(xl3)).fma(d, b3);
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off + 2 * stride)));
            w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2 * stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            wl = ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS); wh = ((FloatVector) w.lanewise(VectorOperators.LSHR, 4).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS);
            c0 = wh.fma(xh0, wl.mul(xl0)).fma(d, c0); c1 = wh.fma(xh1, wl.mul(xl1)).fma(d, c1);
            c2 = wh.fma(xh2, wl.mul(xl2)).fma(d, c2); c3 = wh.fma(xh3, wl.mul(xl3)).fma(d, c3);
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off + 3 * stride)));
            w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 3 * stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            wl = ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS); wh = ((FloatVector) w.lanewise(VectorOperators.LSHR, 4).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS);
            e0 = wh.fma(xh0, wl.mul(xl0)).fma(d, e0); e1 = wh.fma(xh1, wl.mul(xl1)).fma(d, e1);
            e2 = wh.fma(xh2, wl.mul(xl2)).fma(d, e2); e3 = wh.fma(xh3, wl.mul(xl3)).fma(d, e3);
        }
        a0.intoArray(acc, 0); b0.intoArray(acc, L); c0.intoArray(acc, 2 * L); e0.intoArray(acc, 3 * L);
        a1.intoArray(acc, 4 * L); b1.intoArray(acc, 5 * L); c1.intoArray(acc, 6 * L); e1.intoArray(acc, 7 * L);
        a2.intoArray(acc, 8 * L); b2.intoArray(acc, 9 * L); c2.intoArray(acc, 10 * L); e2.intoArray(acc, 11 * L);
        a3.intoArray(acc, 12 * L); b3.intoArray(acc, 13 * L); c3.intoArray(acc, 14 * L); e3.intoArray(acc, 15 * L);
    }

    /**
     * Four rows x four tokens for 9-16 tokens (MatMul.fused through {@link #scaledPass}): each row's q - 8 times
     * d once per block, then two FMAs per token (the matvec's order, kept by {@link #fourRowsFourTokens} so
     * that up to 8 tokens give their matvecs' bits, takes three). Products of 9-16 tokens ran on float tiles,
     * which did not give the matvec's bits either.
     */
    @Override
    void fourRowsFourTokensScaled(long base, long stride, float[] x, int x0, int x1, int x2, int x3, int nb, float[] acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, e0 = a0, e1 = a0, e2 = a0, e3 = a0;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            FloatVector xl0 = FloatVector.fromArray(F, x, x0 + xo), xh0 = FloatVector.fromArray(F, x, x0 + xo + 16);
            FloatVector xl1 = FloatVector.fromArray(F, x, x1 + xo), xh1 = FloatVector.fromArray(F, x, x1 + xo + 16);
            FloatVector xl2 = FloatVector.fromArray(F, x, x2 + xo), xh2 = FloatVector.fromArray(F, x, x2 + xo + 16);
            FloatVector xl3 = FloatVector.fromArray(F, x, x3 + xo), xh3 = FloatVector.fromArray(F, x, x3 + xo + 16);
            FloatVector d, wl, wh;
            IntVector w;
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off)));
            w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            wl = ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(d); wh = ((FloatVector) w.lanewise(VectorOperators.LSHR, 4).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(d);
            a0 = wh.fma(xh0, wl.fma(xl0, a0)); a1 = wh.fma(xh1, wl.fma(xl1, a1));
            a2 = wh.fma(xh2, wl.fma(xl2, a2)); a3 = wh.fma(xh3, wl.fma(xl3, a3));
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off + stride)));
            w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            wl = ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(d); wh = ((FloatVector) w.lanewise(VectorOperators.LSHR, 4).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(d);
            b0 = wh.fma(xh0, wl.fma(xl0, b0)); b1 = wh.fma(xh1, wl.fma(xl1, b1));
            b2 = wh.fma(xh2, wl.fma(xl2, b2)); b3 = wh.fma(xh3, wl.fma(xl3, b3));
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off + 2 * stride)));
            w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2 * stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            wl = ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(d); wh = ((FloatVector) w.lanewise(VectorOperators.LSHR, 4).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(d);
            c0 = wh.fma(xh0, wl.fma(xl0, c0)); c1 = wh.fma(xh1, wl.fma(xl1, c1));
            c2 = wh.fma(xh2, wl.fma(xl2, c2)); c3 = wh.fma(xh3, wl.fma(xl3, c3));
            d = FloatVector.broadcast(F, Float.float16ToFloat(ALL.get(LE_SHORT, off + 3 * stride)));
            w = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 3 * stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            wl = ((FloatVector) w.and(15).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(d); wh = ((FloatVector) w.lanewise(VectorOperators.LSHR, 4).or(MAGIC).reinterpretShape(F, 0)).sub(BIAS).mul(d);
            e0 = wh.fma(xh0, wl.fma(xl0, e0)); e1 = wh.fma(xh1, wl.fma(xl1, e1));
            e2 = wh.fma(xh2, wl.fma(xl2, e2)); e3 = wh.fma(xh3, wl.fma(xl3, e3));
        }
        a0.intoArray(acc, 0); b0.intoArray(acc, L); c0.intoArray(acc, 2 * L); e0.intoArray(acc, 3 * L);
        a1.intoArray(acc, 4 * L); b1.intoArray(acc, 5 * L); c1.intoArray(acc, 6 * L); e1.intoArray(acc, 7 * L);
        a2.intoArray(acc, 8 * L); b2.intoArray(acc, 9 * L); c2.intoArray(acc, 10 * L); e2.intoArray(acc, 11 * L);
        a3.intoArray(acc, 12 * L); b3.intoArray(acc, 13 * L); c3.intoArray(acc, 14 * L); e3.intoArray(acc, 15 * L);
    }

    // Any L (8: AVX2, 4: NEON), the same fold: per block and row, Q-byte loads zero-extended to L ints
    // (P parts per load), nibbles split on the int lanes, t = sum q*x over the block, acc += t * d.
    // The two- and four-row kernels do each row's operations in the same order as dotRowL.

    private static float dotRowL(long base, float[] x, int nb) {
        float[] sums = BLOCK_SUMS.get();
        FloatVector acc = FloatVector.zero(F);
        float corr = 0f;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            FloatVector t = FloatVector.zero(F);
            for (int k = 0; k < 16; k += Q) {
                ByteVector b = QuantSimd.load(ALL, off + 2 + k);
                for (int p = 0; p < P; p++) {
                    IntVector w = (IntVector) (P == 1 || p == 0 ? b : b.rearrange(QuantSimd.UPPER))
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                    FloatVector xl = QuantSimd.x(x, xo + k + p * L), xh = QuantSimd.x(x, xo + 16 + k + p * L);
                    t = ((FloatVector) w.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                            ((FloatVector) w.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xl, t));
                }
            }
            float d = f16(ALL, off);
            acc = t.fma(FloatVector.broadcast(F, d), acc);
            corr = Math.fma(d, sums[blk], corr);
        }
        if (L >= 8) acc = acc.add(acc.rearrange(X4));
        acc = acc.add(acc.rearrange(X2));
        acc = acc.add(acc.rearrange(X1));
        return acc.lane(0) - 8f * corr;
    }

    @Override
    void dotTwoRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        if (L == 16) super.dotTwoRowsSimd(base, stride, x, nb, out, r);
        else dotTwoRowsL(base, stride, x, nb, out, r);
    }

    /**
     * L = 8 or 4, rows r and r + 1: per block and row, its two 8-byte halves zero-extended to int lanes (P
     * parts of L each), t = sum q*x over the block, acc += t * d; the same operations per row in the same
     * order as {@link #dotRowL}, written out (the first product a multiply, not an FMA onto zero). Two rows,
     * not four: the four-row form (2085 bytes of bytecode) compiled in some JVMs with conversions left to the
     * Vector API's Java code (boxed vectors, 20 GB/s allocated at 8 lanes). Calls the Vector API directly (no
     * helpers): C2's inlining node budget (see QuantSimd).
     */
    private static void dotTwoRowsL(long base, long stride, float[] x, int nb, float[] out, int r) {
        float[] sums = BLOCK_SUMS.get();
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        float corr0 = 0f, corr1 = 0f;
        for (int blk = 0; blk < nb; blk++) {
            long off = base + (long) blk * BB;
            int xo = blk * QK;
            float xs = sums[blk];
            float d0 = Float.float16ToFloat(ALL.get(LE_SHORT, off)), d1 = Float.float16ToFloat(ALL.get(LE_SHORT, off + stride));
            ByteVector b0 = ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 2, QuantSimd.LE);
            ByteVector b1 = ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + stride + 2, QuantSimd.LE);
            FloatVector xl = FloatVector.fromArray(F, x, xo), xh = FloatVector.fromArray(F, x, xo + 16);
            IntVector w0 = (IntVector) b0.convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            IntVector w1 = (IntVector) b1.convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            FloatVector t0 = ((FloatVector) w0.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                    ((FloatVector) w0.and(15).convertShape(VectorOperators.I2F, F, 0)).mul(xl));
            FloatVector t1 = ((FloatVector) w1.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                    ((FloatVector) w1.and(15).convertShape(VectorOperators.I2F, F, 0)).mul(xl));
            if (P == 2) { // 4 lanes: the load's upper 4 bytes
                xl = FloatVector.fromArray(F, x, xo + L);
                xh = FloatVector.fromArray(F, x, xo + 16 + L);
                w0 = (IntVector) b0.rearrange(QuantSimd.UPPER).convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                w1 = (IntVector) b1.rearrange(QuantSimd.UPPER).convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                t0 = ((FloatVector) w0.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                        ((FloatVector) w0.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xl, t0));
                t1 = ((FloatVector) w1.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                        ((FloatVector) w1.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xl, t1));
            }
            b0 = ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + 10, QuantSimd.LE);
            b1 = ByteVector.fromMemorySegment(QuantSimd.B, ALL, off + stride + 10, QuantSimd.LE);
            xl = FloatVector.fromArray(F, x, xo + 8);
            xh = FloatVector.fromArray(F, x, xo + 24);
            w0 = (IntVector) b0.convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            w1 = (IntVector) b1.convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            t0 = ((FloatVector) w0.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                    ((FloatVector) w0.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xl, t0));
            t1 = ((FloatVector) w1.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                    ((FloatVector) w1.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xl, t1));
            if (P == 2) {
                xl = FloatVector.fromArray(F, x, xo + 8 + L);
                xh = FloatVector.fromArray(F, x, xo + 24 + L);
                w0 = (IntVector) b0.rearrange(QuantSimd.UPPER).convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                w1 = (IntVector) b1.rearrange(QuantSimd.UPPER).convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                t0 = ((FloatVector) w0.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                        ((FloatVector) w0.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xl, t0));
                t1 = ((FloatVector) w1.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                        ((FloatVector) w1.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xl, t1));
            }
            acc0 = t0.fma(FloatVector.broadcast(F, d0), acc0);
            acc1 = t1.fma(FloatVector.broadcast(F, d1), acc1);
            corr0 = Math.fma(d0, xs, corr0);
            corr1 = Math.fma(d1, xs, corr1);
        }
        if (L >= 8) {
            acc0 = acc0.add(acc0.rearrange(X4)); acc1 = acc1.add(acc1.rearrange(X4));
        }
        acc0 = acc0.add(acc0.rearrange(X2)); acc1 = acc1.add(acc1.rearrange(X2));
        acc0 = acc0.add(acc0.rearrange(X1)); acc1 = acc1.add(acc1.rearrange(X1));
        out[r] = acc0.lane(0) - 8f * corr0;
        out[r + 1] = acc1.lane(0) - 8f * corr1;
    }
}
