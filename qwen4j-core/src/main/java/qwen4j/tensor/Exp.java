package qwen4j.tensor;

/**
 * e^x from IEEE-exact operations only (fma, add, min/max, integer shifts), so the same bits in the
 * interpreter, C1 and C2. {@code lanewise(EXP)} is not reproducible (C2 uses an intrinsic, the
 * interpreter {@code Math.exp} per lane; they differ in the last bit, so a perplexity depended on
 * JIT timing), and a Vector API form of this function kept vectors boxed in the decode loop.
 * Method: x = n ln2 + r with |r| <= ln2/2 (n rounded by the 1.5 * 2^23 trick, ln2 split in two
 * parts), e^r by its degree-7 Taylor polynomial (error below 1e-8 on that interval), times 2^n as
 * two powers of two built in the exponent bits (so that 2^128 and subnormal results need no
 * special case). Below e^-103.97 (half the smallest subnormal) the result is 0.
 */
final class Exp {
    private Exp() {}

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693145751953125f;       // 12 significant bits: n * LN2_HI is exact
    private static final float LN2_LO = 1.42860682030941723212e-6f;
    private static final float ROUND = 12582912f;                 // 1.5 * 2^23: x + ROUND rounds x to an integer
    private static final float UNDERFLOW = -103.97208f;           // ln(2^-150)
    private static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

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
