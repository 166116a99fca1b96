package qwen4j.tensor.quant;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Shared Vector API pieces for the quantized kernels. A float vector has {@code L} lanes (16 with
 * AVX-512, 8 with AVX2); quants are loaded as {@code L} bytes, decoded with byte/int lane ops and
 * widened straight to {@code L} floats (vpmovsxbd + vcvtdq2ps), so a block never goes through memory
 * as floats. The kernels are written for any {@code L} in {8, 16} (16 divides every sub-block).
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
    static final int L;
    static final VectorSpecies<Byte> B;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static {
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        bits = Math.max(256, Math.min(512, bits));
        F = VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
        L = F.length();
        B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    }

    /** The int species with L lanes (bytes zero-extended to ints: Q4_K). */
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize()));

    static ByteVector load(MemorySegment seg, long off) {
        return ByteVector.fromMemorySegment(B, seg, off, LE);
    }

    static FloatVector x(float[] x, int off) {
        return FloatVector.fromArray(F, x, off);
    }

    /** Sign-extends L int8 lanes to L float lanes. */
    static FloatVector toFloat(ByteVector v) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, 0);
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
        return b.reinterpretAsInts().lanewise(VectorOperators.LSHR, shift).reinterpretAsBytes().and((byte) mask);
    }

    /** (b << shift) & mask per byte, via an int-lane shift. */
    static ByteVector shl(ByteVector b, int shift, int mask) {
        return b.reinterpretAsInts().lanewise(VectorOperators.LSHL, shift).reinterpretAsBytes().and((byte) mask);
    }
}
