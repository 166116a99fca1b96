package qwen4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * e^x for float lanes from IEEE-exact operations only (fma, add, min/max, integer shifts), with a
 * scalar twin that gives the same bits. Why not {@code lanewise(EXP)}: C2 computes it with an
 * intrinsic, the interpreter and C1 with {@code Math.exp} per lane, and the two differ in the last
 * bit, so a perplexity depended on when the JIT compiled the kernel (issue 18, item 17). The class
 * name matches config/jvm.flags' forced inline of {@code qwen4j.tensor.Simd*}: out of line, a
 * method taking and returning vectors boxes them.
 *
 * <p>Method: x = n ln2 + r with |r| <= ln2/2 (n rounded by the 1.5 * 2^23 trick, ln2 in two parts),
 * e^r by its degree-7 Taylor polynomial (error below 1e-8 there), times 2^n as two powers of two
 * built in the exponent bits (so 2^128 and subnormal results need no special case). Below
 * e^-103.97 (half the smallest subnormal) the result is 0.
 */
final class SimdExp {
    private SimdExp() {}

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693145751953125f;       // 12 significant bits: n * LN2_HI is exact
    private static final float LN2_LO = 1.42860682030941723212e-6f;
    private static final float ROUND = 12582912f;                 // 1.5 * 2^23: x + ROUND rounds x to an integer
    private static final float UNDERFLOW = -103.97208f;           // ln(2^-150)
    private static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    static FloatVector exp(FloatVector x) {
        var f = x.species();
        FloatVector n = x.fma(LOG2E, ROUND).sub(ROUND).max(-150f).min(128f);
        FloatVector r = n.fma(FloatVector.broadcast(f, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(f, -LN2_LO), r);
        FloatVector p = r.fma(C7, C6);
        p = p.fma(r, FloatVector.broadcast(f, C5));
        p = p.fma(r, FloatVector.broadcast(f, C4));
        p = p.fma(r, FloatVector.broadcast(f, C3));
        p = p.fma(r, FloatVector.broadcast(f, C2));
        p = p.fma(r, FloatVector.broadcast(f, 1f));
        p = p.fma(r, FloatVector.broadcast(f, 1f));
        IntVector k = (IntVector) n.convertShape(VectorOperators.F2I, Simd.I, 0); // x has Simd.F's lanes
        IntVector k1 = k.lanewise(VectorOperators.ASHR, 1), k2 = k.sub(k1);
        FloatVector s1 = (FloatVector) k1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretShape(Simd.F, 0);
        FloatVector s2 = (FloatVector) k2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretShape(Simd.F, 0);
        return p.mul(s1).mul(s2).blend(0f, x.lt(UNDERFLOW));
    }

    /** The scalar twin of {@link #exp(FloatVector)}: the same operations in the same order. */
    static float exp(float x) {
        float n = Math.min(Math.max(Math.fma(x, LOG2E, ROUND) - ROUND, -150f), 128f);
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, C7, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        int k = (int) n, k1 = k >> 1, k2 = k - k1;
        float s1 = Float.intBitsToFloat((k1 + 127) << 23), s2 = Float.intBitsToFloat((k2 + 127) << 23);
        return x < UNDERFLOW ? 0f : p * s1 * s2;
    }
}
