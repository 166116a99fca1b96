package qwen4j.tensor.quant;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Shared Vector API pieces for the quantized kernels. A float vector has {@code L} lanes (16 with
 * AVX-512, 8 with AVX2, 4 with 128-bit vectors: NEON); quants are loaded {@code Q = max(L, 8)} bytes at
 * a time (there is no 32-bit byte species), decoded with byte/int lane ops and widened straight to
 * floats in {@code P = Q / L} parts of {@code L} (vpmovsxbd + vcvtdq2ps), so a block never goes
 * through memory as floats. Kernels step by {@code Q} quants with an inner loop over the {@code P}
 * parts (constant trip count, unrolled by C2): at {@code L >= 8} that is one part, the code it was
 * before. {@code Q} divides every sub-block, so a byte load never crosses a block end.
 *
 * <p>A caveat for large kernels: C2 stops inlining a method's own helpers once the compilation has
 * created about 18000 nodes (NodeCountInliningCutoff; the JDK's {@code @ForceInline} Vector API
 * methods are exempt), and a helper left out of line that takes or returns a vector boxes it, which
 * makes the kernel several times slower. The helpers below are for the small kernels; the 16-lane
 * Q4_K and Q6_K kernels call the Vector API directly, and keep a row's vector code in one copy.
 */
final class QuantSimd {
    private QuantSimd() {}

    static final VectorSpecies<Float> F;
    /** Float lanes: 4, 8 or 16. */
    static final int L;
    /** Quants per byte load (max(L, 8)) and float parts per byte load (Q / L: 1 or 2). */
    static final int Q, P;
    /** The byte species of a load: Q lanes. */
    static final VectorSpecies<Byte> B;
    /** The int species of a load's shape (Q / 4 lanes), for int-lane shifts of its bytes. */
    static final VectorSpecies<Integer> BI;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static {
        // Clamped to what C2 intrinsifies for every species used here (128-bit floats need 64-bit bytes).
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        bits = Math.max(128, Math.min(512, bits));
        F = VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
        L = F.length();
        Q = Math.max(L, 8);
        P = Q / L;
        B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Q * 8));
        BI = VectorSpecies.of(int.class, B.vectorShape());
    }

    // Butterfly shuffles for laneSum: lane i takes lane i ^ k (identities for k >= L).
    static final VectorShuffle<Float> X8 = butterfly(8), X4 = butterfly(4), X2 = butterfly(2), X1 = butterfly(1);

    private static VectorShuffle<Float> butterfly(int k) { return VectorShuffle.fromOp(F, i -> k < L ? i ^ k : i); }

    /**
     * Sum of the L floats at a[off ..] in a fixed (pairwise) order, as the float kernels' {@code Simd.sum} and
     * C2's {@code reduceLanes(ADD)}: the Java fallback of reduceLanes (interpreter, C1) adds lane after lane, so
     * a row's bits would depend on which tier computed it (seen: Q6_K rows differing by their group in a test,
     * one group's kernel compiled before the other's; JitTierTest). Takes an array, so that called out of line
     * it boxes nothing. The matvec kernels of Q4_0 and Q8_0 write the same steps out on their accumulators
     * with X8 .. X1 (no array and call: at 8 lanes those cost Q4_0's four-row kernel 10% on 256-column rows).
     */
    static float laneSum(float[] a, int off) {
        FloatVector v = FloatVector.fromArray(F, a, off);
        if (L >= 16) v = v.add(v.rearrange(X8));
        if (L >= 8) v = v.add(v.rearrange(X4));
        v = v.add(v.rearrange(X2));
        v = v.add(v.rearrange(X1));
        return v.lane(0);
    }

    /**
     * out[r + k] = laneSum(a, k L) for k in [0, n): the sums of n accumulators a kernel stored into a, its last
     * step instead of reduceLanes. Arrays in and out, so that left out of line (the kernels are near C2's node
     * budget) it boxes nothing.
     */
    static void laneSums(float[] a, int n, float[] out, int r) {
        for (int k = 0; k < n; k++) out[r + k] = laneSum(a, k * L);
    }

    /** Bytes [L, Q) of a load moved to the front (P == 2): part 1 then converts as part 0 does. */
    static final VectorShuffle<Byte> UPPER = VectorShuffle.fromOp(B, i -> (i + L) % Q);

    /** The int species with L lanes (bytes zero-extended to ints: Q4_K). */
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize()));

    static ByteVector load(MemorySegment seg, long off) {
        return ByteVector.fromMemorySegment(B, seg, off, LE);
    }

    static FloatVector x(float[] x, int off) {
        return FloatVector.fromArray(F, x, off);
    }

    /** Sign-extends the first L int8 lanes to L float lanes. */
    static FloatVector toFloat(ByteVector v) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * Sign-extends lanes [part * L, part * L + L) of a Q-byte load to L floats. One shuffle for part 1
     * (instead of convertShape's slice, which builds its shuffle and blend mask each time).
     */
    static FloatVector toFloat(ByteVector v, int part) {
        if (P == 1) return toFloat(v);
        return toFloat(part == 0 ? v : v.rearrange(UPPER));
    }

    /** The low nibbles of L bytes as floats 0..15. */
    static FloatVector lowNibbles(ByteVector b) {
        return toFloat(b.and((byte) 15));
    }

    /** The high nibbles of L bytes as floats 0..15 (an unsigned byte shift). */
    static FloatVector highNibbles(ByteVector b) {
        return toFloat(b.lanewise(VectorOperators.LSHR, 4));
    }

    /** (b >>> shift) & mask per byte, via an int-lane shift (x86 has no byte shifts). */
    static ByteVector shr(ByteVector b, int shift, int mask) {
        return ((ByteVector) ((IntVector) b.reinterpretShape(BI, 0)).lanewise(VectorOperators.LSHR, shift).reinterpretShape(B, 0)).and((byte) mask);
    }

    /** (b << shift) & mask per byte, via an int-lane shift. */
    static ByteVector shl(ByteVector b, int shift, int mask) {
        return ((ByteVector) ((IntVector) b.reinterpretShape(BI, 0)).lanewise(VectorOperators.LSHL, shift).reinterpretShape(B, 0)).and((byte) mask);
    }
}
