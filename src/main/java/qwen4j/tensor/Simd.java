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
    /** Shorts with as many lanes as {@link #F}: half the bits. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    /** Float lanes per vector. */
    static final int L = F.length();
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    // Butterfly shuffles for sum(): lane i takes lane i ^ k. Unused ones (k >= L) are identities.
    private static final VectorShuffle<Float> X8 = butterfly(8);
    private static final VectorShuffle<Float> X4 = butterfly(4);
    private static final VectorShuffle<Float> X2 = butterfly(2);
    private static final VectorShuffle<Float> X1 = butterfly(1);

    static {
        if (L > 16) throw new ExceptionInInitializerError("float vectors wider than 16 lanes are not supported");
    }

    private static VectorShuffle<Float> butterfly(int k) {
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
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }
}
