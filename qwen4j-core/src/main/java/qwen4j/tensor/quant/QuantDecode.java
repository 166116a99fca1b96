package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantMatrix.ALL;
import static qwen4j.tensor.quant.QuantSimd.L;
import static qwen4j.tensor.quant.QuantSimd.P;
import static qwen4j.tensor.quant.QuantSimd.Q;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import qwen4j.tensor.DType;

/**
 * Whole rows of quantized blocks decoded to float32 in vector registers, for the batched product
 * (prefill), which converts each weight row once and reuses it for every token. Bit-exact with the
 * scalar {@code dequant}s: the same int-to-float conversion and the same single multiply by d.
 * Q quants per byte load, written as P vectors of L floats (see {@link QuantSimd}).
 */
final class QuantDecode {
    private QuantDecode() {}

    /**
     * Decodes the row at absolute address {@code base} ({@code nb} blocks, read through {@link QuantMatrix#ALL});
     * false if the type has no SIMD decoder.
     */
    static boolean row(DType type, long base, int nb, float[] dst, int off) {
        switch (type) {
            case Q8_0 -> q8_0(base, nb, dst, off);
            case Q4_0 -> q4_0(base, nb, dst, off);
            case Q4_K -> q4_k(base, nb, dst, off);
            case Q5_K -> q5_k(base, nb, dst, off);
            case Q6_K -> q6_k(base, nb, dst, off);
            default -> { return false; }
        }
        return true;
    }

    static void q8_0(long base, int nb, float[] dst, int off) {
        if (L == 16) { // the two halves written out (a loop of two per block was split into pre-, main and post-loops; see q4_k16)
            for (int i = 0; i < nb; i++) {
                long o = base + (long) i * Q8_0Matrix.BB;
                FloatVector d = FloatVector.broadcast(QuantSimd.F, QuantMatrix.f16(ALL, o));
                // the Vector API called directly: through QuantSimd's helpers C2 left the conversion out of line and boxed
                ((FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + 2, QuantSimd.LE).convertShape(VectorOperators.B2F, QuantSimd.F, 0))
                        .mul(d).intoArray(dst, off + 32 * i);
                ((FloatVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + 18, QuantSimd.LE).convertShape(VectorOperators.B2F, QuantSimd.F, 0))
                        .mul(d).intoArray(dst, off + 32 * i + 16);
            }
            return;
        }
        long o = base;
        for (int b = 0; b < nb; b++, o += Q8_0Matrix.BB, off += Q8_0Matrix.QK) {
            float d = QuantMatrix.f16(ALL, o);
            for (int k = 0; k < Q8_0Matrix.QK; k += Q) {
                ByteVector q = QuantSimd.load(ALL, o + 2 + k);
                for (int p = 0; p < P; p++) QuantSimd.toFloat(q, p).mul(d).intoArray(dst, off + k + p * L);
            }
        }
    }

    static void q4_0(long base, int nb, float[] dst, int off) {
        long o = base;
        for (int b = 0; b < nb; b++, o += Q4_0Matrix.BB, off += Q4_0Matrix.QK) {
            float d = QuantMatrix.f16(ALL, o);
            for (int k = 0; k < 16; k += Q) {
                ByteVector q = QuantSimd.load(ALL, o + 2 + k);
                ByteVector lo = q.and((byte) 15).sub((byte) 8), hi = QuantSimd.shr(q, 4, 15).sub((byte) 8);
                for (int p = 0; p < P; p++) {
                    QuantSimd.toFloat(lo, p).mul(d).intoArray(dst, off + k + p * L);
                    QuantSimd.toFloat(hi, p).mul(d).intoArray(dst, off + 16 + k + p * L);
                }
            }
        }
    }

    /** y = (d * sc) * q - dmin * mn per sub-block of 32: a multiply then a subtract, as the scalar code. */
    static void q4_k(long base, int nb, float[] dst, int off) {
        if (L == 16) {
            q4_k16(base, nb, dst, off);
            return;
        }
        long o = base;
        for (int b = 0; b < nb; b++, o += Q4_KMatrix.BB, off += Q4_KMatrix.QK) {
            float d = QuantMatrix.f16(ALL, o), dmin = QuantMatrix.f16(ALL, o + 2);
            // the eight 6-bit scales and mins, one per byte (as the matvec kernel gathers them)
            long sa = ALL.get(QuantMatrix.LE_LONG, o + 4);
            int sb = ALL.get(QuantMatrix.LE_INT, o + 12);
            long sc = Q4_KMatrix.scales8(sa, sb), mn = Q4_KMatrix.mins8(sa, sb);
            for (int c = 0; c < 4; c++) {
                float d1 = d * (int) (sc >>> (16 * c) & 0xFF), m1 = dmin * (int) (mn >>> (16 * c) & 0xFF);
                float d2 = d * (int) (sc >>> (16 * c + 8) & 0xFF), m2 = dmin * (int) (mn >>> (16 * c + 8) & 0xFF);
                if (P == 1) { // nibbles split on int lanes after one zero-extension (as the matvec does)
                    for (int l = 0; l < 32; l += L) {
                        IntVector q = (IntVector) QuantSimd.load(ALL, o + 16 + 32 * c + l)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                        ((FloatVector) q.and(15).convertShape(VectorOperators.I2F, QuantSimd.F, 0)).mul(d1).sub(m1).intoArray(dst, off + 64 * c + l);
                        ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, QuantSimd.F, 0)).mul(d2).sub(m2)
                                .intoArray(dst, off + 64 * c + 32 + l);
                    }
                    continue;
                }
                for (int l = 0; l < 32; l += Q) {
                    ByteVector q = QuantSimd.load(ALL, o + 16 + 32 * c + l);
                    ByteVector lo = q.and((byte) 15), hi = QuantSimd.shr(q, 4, 15);
                    for (int p = 0; p < P; p++) {
                        QuantSimd.toFloat(lo, p).mul(d1).sub(m1).intoArray(dst, off + 64 * c + l + p * L);
                        QuantSimd.toFloat(hi, p).mul(d2).sub(m2).intoArray(dst, off + 64 * c + 32 + l + p * L);
                    }
                }
            }
        }
    }

    /** Per-thread room for a super-block's [dmin * mn x 8, d * sc x 8] (16 lanes). */
    private static final ThreadLocal<float[]> K_SCALES = ThreadLocal.withInitial(() -> new float[16]);

    /**
     * Q4_K at 16 lanes: a super-block's mins and scales unpacked together on byte lanes and multiplied by
     * dmin and d in one vector (as the matvec's superBlocks), each broadcast from there; in scalar code per
     * sub-block pair they were most of the decode. The same products, so the same bits.
     */
    private static void q4_k16(long base, int nb, float[] dst, int off) {
        float[] t = K_SCALES.get();
        // one loop over all chunks (c = i % 4): a loop of four per super-block was split into pre-, main
        // and post-loops for its range checks each time, and as a method called four times it stayed a call
        for (int i = 0; i < 4 * nb; i++) {
            int c = i & 3, at = off + 64 * i;
            long o = base + (long) (i >> 2) * Q4_KMatrix.BB;
            if (c == 0) Q4_KMatrix.minsAndScales(o).intoArray(t, 0);
            FloatVector d1 = FloatVector.broadcast(QuantSimd.F, t[8 + 2 * c]), m1 = FloatVector.broadcast(QuantSimd.F, t[2 * c]);
            FloatVector d2 = FloatVector.broadcast(QuantSimd.F, t[9 + 2 * c]), m2 = FloatVector.broadcast(QuantSimd.F, t[1 + 2 * c]);
            IntVector q = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + 16 + 32 * c, QuantSimd.LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            ((FloatVector) q.and(15).convertShape(VectorOperators.I2F, QuantSimd.F, 0)).mul(d1).sub(m1).intoArray(dst, at);
            ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, QuantSimd.F, 0)).mul(d2).sub(m2).intoArray(dst, at + 32);
            q = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + 32 + 32 * c, QuantSimd.LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
            ((FloatVector) q.and(15).convertShape(VectorOperators.I2F, QuantSimd.F, 0)).mul(d1).sub(m1).intoArray(dst, at + 16);
            ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, QuantSimd.F, 0)).mul(d2).sub(m2).intoArray(dst, at + 48);
        }
    }

    /** As Q4_K, with q = nibble | (bit 2c, or 2c + 1, of qh[l]) << 4 in chunk c. */
    static void q5_k(long base, int nb, float[] dst, int off) {
        if (L == 16) {
            q5_k16(base, nb, dst, off);
            return;
        }
        long o = base;
        for (int b = 0; b < nb; b++, o += Q5_KMatrix.BB, off += Q5_KMatrix.QK) {
            float d = QuantMatrix.f16(ALL, o), dmin = QuantMatrix.f16(ALL, o + 2);
            long sa = ALL.get(QuantMatrix.LE_LONG, o + 4);
            int sb = ALL.get(QuantMatrix.LE_INT, o + 12);
            long sc = Q4_KMatrix.scales8(sa, sb), mn = Q4_KMatrix.mins8(sa, sb);
            for (int c = 0; c < 4; c++) {
                float d1 = d * (int) (sc >>> (16 * c) & 0xFF), m1 = dmin * (int) (mn >>> (16 * c) & 0xFF);
                float d2 = d * (int) (sc >>> (16 * c + 8) & 0xFF), m2 = dmin * (int) (mn >>> (16 * c + 8) & 0xFF);
                for (int l = 0; l < 32; l += Q) {
                    ByteVector q = QuantSimd.load(ALL, o + 48 + 32 * c + l), qh = QuantSimd.load(ALL, o + 16 + l);
                    ByteVector lo = q.and((byte) 15).or(QuantSimd.shl(QuantSimd.shr(qh, 2 * c, 1), 4, 0x10));
                    ByteVector hi = QuantSimd.shr(q, 4, 15).or(QuantSimd.shl(QuantSimd.shr(qh, 2 * c + 1, 1), 4, 0x10));
                    for (int p = 0; p < P; p++) {
                        QuantSimd.toFloat(lo, p).mul(d1).sub(m1).intoArray(dst, off + 64 * c + l + p * L);
                        QuantSimd.toFloat(hi, p).mul(d2).sub(m2).intoArray(dst, off + 64 * c + 32 + l + p * L);
                    }
                }
            }
        }
    }

    /** Q5_K at 16 lanes: as q4_k16, the fifth bit of each quant OR-ed in on the int lanes of its qh byte. */
    private static void q5_k16(long base, int nb, float[] dst, int off) {
        float[] t = K_SCALES.get();
        for (int i = 0; i < 4 * nb; i++) {
            int c = i & 3, at = off + 64 * i;
            long o = base + (long) (i >> 2) * Q5_KMatrix.BB;
            if (c == 0) Q4_KMatrix.minsAndScales(o).intoArray(t, 0);
            FloatVector d1 = FloatVector.broadcast(QuantSimd.F, t[8 + 2 * c]), m1 = FloatVector.broadcast(QuantSimd.F, t[2 * c]);
            FloatVector d2 = FloatVector.broadcast(QuantSimd.F, t[9 + 2 * c]), m2 = FloatVector.broadcast(QuantSimd.F, t[1 + 2 * c]);
            for (int l = 0; l < 32; l += 16) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + 48 + 32 * c + l, QuantSimd.LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                IntVector qh = (IntVector) ByteVector.fromMemorySegment(QuantSimd.B, ALL, o + 16 + l, QuantSimd.LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0)
                        .lanewise(VectorOperators.LSHR, 2 * c);
                IntVector lo = q.and(15).or(qh.and(1).lanewise(VectorOperators.LSHL, 4));
                IntVector hi = q.lanewise(VectorOperators.LSHR, 4).or(qh.and(2).lanewise(VectorOperators.LSHL, 3));
                ((FloatVector) lo.convertShape(VectorOperators.I2F, QuantSimd.F, 0)).mul(d1).sub(m1).intoArray(dst, at + l);
                ((FloatVector) hi.convertShape(VectorOperators.I2F, QuantSimd.F, 0)).mul(d2).sub(m2).intoArray(dst, at + 32 + l);
            }
        }
    }

    /** q = (low4 | high2 << 4) - 32, y = (d * scale) * q, 16 elements share a scale. */
    static void q6_k(long base, int nb, float[] dst, int off) {
        if (P != 1) {
            q6kParts(base, nb, dst, off);
            return;
        }
        // L quants at a time on int lanes (16 or 8): the two low-nibble bytes and the high-bits byte of
        // position l each loaded and zero-extended once for the four quants they hold (the byte-lane form
        // loaded them twice and shifted through int lanes three times per vector: 1.6x the operations)
        long o = base;
        for (int b = 0; b < nb; b++, o += Q6_KMatrix.BB, off += Q6_KMatrix.QK) {
            float d = QuantMatrix.f16(ALL, o + 208);
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l += L) { // L divides 16: one scale per vector
                    IntVector ql0 = (IntVector) QuantSimd.load(ALL, o + 64 * h + l).convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                    IntVector ql1 = (IntVector) QuantSimd.load(ALL, o + 64 * h + 32 + l).convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                    IntVector qh = (IntVector) QuantSimd.load(ALL, o + 128 + 32 * h + l).convertShape(VectorOperators.ZERO_EXTEND_B2I, QuantSimd.I, 0);
                    IntVector q0 = ql0.and(15).or(qh.and(3).lanewise(VectorOperators.LSHL, 4));
                    IntVector q1 = ql1.and(15).or(qh.lanewise(VectorOperators.LSHL, 2).and(0x30));
                    IntVector q2 = ql0.lanewise(VectorOperators.LSHR, 4).or(qh.and(0x30));
                    IntVector q3 = ql1.lanewise(VectorOperators.LSHR, 4).or(qh.lanewise(VectorOperators.LSHR, 2).and(0x30));
                    int e = off + 128 * h + l;
                    long sc = o + 192 + (128 * h + l) / 16; // the scale of quant k's 16 at sc + 2k
                    ((FloatVector) q0.sub(32).convertShape(VectorOperators.I2F, QuantSimd.F, 0)).mul(d * ALL.get(QuantMatrix.BYTE, sc)).intoArray(dst, e);
                    ((FloatVector) q1.sub(32).convertShape(VectorOperators.I2F, QuantSimd.F, 0)).mul(d * ALL.get(QuantMatrix.BYTE, sc + 2)).intoArray(dst, e + 32);
                    ((FloatVector) q2.sub(32).convertShape(VectorOperators.I2F, QuantSimd.F, 0)).mul(d * ALL.get(QuantMatrix.BYTE, sc + 4)).intoArray(dst, e + 64);
                    ((FloatVector) q3.sub(32).convertShape(VectorOperators.I2F, QuantSimd.F, 0)).mul(d * ALL.get(QuantMatrix.BYTE, sc + 6)).intoArray(dst, e + 96);
                }
            }
        }
    }

    /** {@link #q6_k} for P = 2 (4 lanes): byte lanes, each load converted in two parts. */
    private static void q6kParts(long base, int nb, float[] dst, int off) {
        long o = base;
        for (int b = 0; b < nb; b++, o += Q6_KMatrix.BB, off += Q6_KMatrix.QK) {
            float d = QuantMatrix.f16(ALL, o + 208);
            for (int h = 0; h < 2; h++) {
                for (int k = 0; k < 4; k++) {
                    for (int l = 0; l < 32; l += Q) { // Q divides 16: one scale per load
                        int e = 128 * h + 32 * k + l;
                        ByteVector ql = QuantSimd.load(ALL, o + 64 * h + 32 * (k & 1) + l);
                        ByteVector low = (k >>> 1) == 0 ? ql.and((byte) 15) : QuantSimd.shr(ql, 4, 15);
                        ByteVector high = QuantSimd.shr(QuantSimd.load(ALL, o + 128 + 32 * h + l), 2 * k, 3);
                        ByteVector q = low.or(QuantSimd.shl(high, 4, 0x30)).sub((byte) 32);
                        float ds = d * ALL.get(QuantMatrix.BYTE, o + 192 + e / 16);
                        for (int p = 0; p < P; p++) QuantSimd.toFloat(q, p).mul(ds).intoArray(dst, off + e + p * L);
                    }
                }
            }
        }
    }
}
