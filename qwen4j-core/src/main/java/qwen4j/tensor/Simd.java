package qwen4j.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Shared pieces of the Vector API kernels: the species, loads of stored weight types converted to
 * float lanes in registers, and a lane sum with a fixed order.
 */
final class Simd {
    private Simd() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Ints with as many lanes as {@link #F}. */
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /**
     * Shorts with as many lanes as {@link #F}: half the bits (at least 64, so that this class also
     * loads where F has 2 lanes: bench's probes use F there; the 16-bit kernels are then not used).
     */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 2)));
    /** Float lanes per vector. */
    static final int L = F.length();
    /** Doubles in a float vector's width (two floats broadcast as one 64-bit lane: MatMul's k8p). */
    static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    // Butterfly shuffles for sum(): lane i takes lane i ^ k. Unused ones (k >= L) are identities.
    private static final VectorShuffle<Float> X8 = butterfly(8);
    private static final VectorShuffle<Float> X4 = butterfly(4);
    private static final VectorShuffle<Float> X2 = butterfly(2);
    private static final VectorShuffle<Float> X1 = butterfly(1);
    static {
        if (L > 16) throw new ExceptionInInitializerError("float vectors wider than 16 lanes are not supported");
    }

    static VectorShuffle<Float> butterfly(int k) {
        return VectorShuffle.fromOp(F, i -> k < L ? i ^ k : i);
    }

    /**
     * Sum of the lanes, always in the same (pairwise) order. {@code reduceLanes(ADD)} is allowed to
     * change its order between the interpreter and compiled code, which would make results depend
     * on JIT timing; this does not.
     */
    static float sum(FloatVector v) {
        if (L >= 16) v = v.add(v.rearrange(X8));
        if (L >= 8) v = v.add(v.rearrange(X4));
        if (L >= 4) v = v.add(v.rearrange(X2));
        if (L >= 2) v = v.add(v.rearrange(X1));
        return v.lane(0);
    }

    /** L little-endian floats at byte offset {@code off}. */
    static FloatVector f32(MemorySegment seg, long off) {
        return FloatVector.fromMemorySegment(F, seg, off, LE);
    }

    /** L bfloat16 values at byte offset {@code off}, widened exactly: bits << 16. */
    static FloatVector bf16(MemorySegment seg, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, off, LE).convertShape(VectorOperators.S2I, I, 0);
        return (FloatVector) h.lanewise(VectorOperators.LSHL, 16).reinterpretShape(F, 0);
    }

    /**
     * L IEEE half floats at byte offset {@code off}, for halves known to be finite (no exponent
     * 31; {@link #allFiniteF16} decides): 4 lane operations, exactly as {@link Float#float16ToFloat}.
     * The half, sign-extended to an int and shifted left by 13, has the sign in bit 31 and
     * exponent and mantissa in float position: as a float it is 2^112 times too small, for
     * normal and subnormal halves alike, and one multiply by 2^112 fixes it exactly.
     */
    static FloatVector f16Finite(MemorySegment seg, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, off, LE).convertShape(VectorOperators.S2I, I, 0);
        return ((FloatVector) h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretShape(F, 0)).mul(0x1p112f);
    }

    /** Whether no 16-bit value in seg has the half-float exponent 31 (Inf or NaN). Reads the whole segment once. */
    static boolean allFiniteF16(MemorySegment seg) {
        long n = seg.byteSize() & ~1L, o = 0;
        VectorSpecies<Short> s = ShortVector.SPECIES_PREFERRED;
        long step = s.vectorByteSize();
        for (; o + step <= n; o += step) {
            ShortVector v = ShortVector.fromMemorySegment(s, seg, o, LE).and((short) 0x7C00);
            if (v.compare(VectorOperators.EQ, (short) 0x7C00).anyTrue()) return false;
        }
        for (; o < n; o += 2) {
            if ((seg.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, o) & 0x7C00) == 0x7C00) return false;
        }
        return true;
    }
}
