package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;
import static qwen4j.tensor.Simd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The fused few-token kernels ({@link MatMul#fused}) of the 16-bit float weights, BF16 and F16 with finite
 * values, in one copy: four rows x 2 or 4 tokens, each weight vector loaded and widened once for all the
 * tokens, one accumulator per (row, token) fed by FMA in column order as in the type's matvec. The half
 * format is a constant argument: each type's kernel method calls these with its constant and C2, which
 * inlines them there (config/jvm.flags: qwen4j.tensor.Simd*), keeps only that conversion.
 */
final class SimdHalfFused {
    private SimdHalfFused() {}

    /** Per thread: the 16 accumulators of a pass (BF16's or F16's), then their 16 sums. */
    static final ThreadLocal<float[]> ACC = ThreadLocal.withInitial(() -> new float[16 * L]);

    /**
     * Whether BF16's column loops test {@code j < cols / L * L} (a counted loop for C2: checks hoisted, no
     * safepoint poll) instead of {@code j + L <= cols}: faster at 4 lanes only (KernelAB, BF16 2-8
     * tokens: 1.25-1.32 at 4 lanes, 0.96 at 8, 0.92-1.02 at 16; F16's kernel 0.56-0.78 at 4 and 8).
     * A constant, as f16 is, so C2 keeps one of the two loop tests.
     */
    private static final boolean COUNTED = L == 4;

    /**
     * All of memory (see QuantMatrix.ALL): the kernels load from absolute addresses through this constant, as
     * {@link MatMul#touchLines} does.
     */
    static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    /** L halves at an absolute address as floats: F16 with finite values ({@link Simd#f16Finite}) or BF16. */
    static FloatVector load(boolean f16, long addr) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(Simd.S, ALL, addr, Simd.LE).convertShape(VectorOperators.S2I, Simd.I, 0);
        return f16 ? ((FloatVector) h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretShape(Simd.F, 0)).mul(0x1p112f)
                : (FloatVector) h.lanewise(VectorOperators.LSHL, 16).reinterpretShape(Simd.F, 0);
    }

    /** Accumulators of the rows at addresses a, a + step, ... times tokens at x0, x1 (cols columns, whole vectors): acc vector 2k + t. */
    static void fourRowsTwoTokens(boolean f16, int cols, float[] x, int x0, int x1, long a, long step, float[] acc) {
        long b1 = a + step, b2 = b1 + step, b3 = b2 + step;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        for (int j = 0, end = cols / L * L; COUNTED && !f16 ? j < end : j + L <= cols; j += L) {
            long o = (long) j * 2;
            FloatVector w0 = load(f16, a + o), w1 = load(f16, b1 + o), w2 = load(f16, b2 + o), w3 = load(f16, b3 + o);
            FloatVector u = FloatVector.fromArray(F, x, x0 + j), v = FloatVector.fromArray(F, x, x1 + j);
            a0 = w0.fma(u, a0); c0 = w0.fma(v, c0);
            a1 = w1.fma(u, a1); c1 = w1.fma(v, c1);
            a2 = w2.fma(u, a2); c2 = w2.fma(v, c2);
            a3 = w3.fma(u, a3); c3 = w3.fma(v, c3);
        }
        a0.intoArray(acc, 0); c0.intoArray(acc, L);
        a1.intoArray(acc, 2 * L); c1.intoArray(acc, 3 * L);
        a2.intoArray(acc, 4 * L); c2.intoArray(acc, 5 * L);
        a3.intoArray(acc, 6 * L); c3.intoArray(acc, 7 * L);
    }

    /** Accumulators of the rows at addresses a, a + step, ... times tokens at x0 .. x3: acc vector 4k + t. */
    static void fourRowsFourTokens(boolean f16, int cols, float[] x, int x0, int x1, int x2, int x3, long a, long step, float[] acc) {
        long b1 = a + step, b2 = b1 + step, b3 = b2 + step;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int j = 0, end = cols / L * L; COUNTED && !f16 ? j < end : j + L <= cols; j += L) {
            long o = (long) j * 2;
            FloatVector w0 = load(f16, a + o), w1 = load(f16, b1 + o), w2 = load(f16, b2 + o), w3 = load(f16, b3 + o);
            FloatVector u = FloatVector.fromArray(F, x, x0 + j);
            a00 = w0.fma(u, a00); a10 = w1.fma(u, a10); a20 = w2.fma(u, a20); a30 = w3.fma(u, a30);
            u = FloatVector.fromArray(F, x, x1 + j);
            a01 = w0.fma(u, a01); a11 = w1.fma(u, a11); a21 = w2.fma(u, a21); a31 = w3.fma(u, a31);
            u = FloatVector.fromArray(F, x, x2 + j);
            a02 = w0.fma(u, a02); a12 = w1.fma(u, a12); a22 = w2.fma(u, a22); a32 = w3.fma(u, a32);
            u = FloatVector.fromArray(F, x, x3 + j);
            a03 = w0.fma(u, a03); a13 = w1.fma(u, a13); a23 = w2.fma(u, a23); a33 = w3.fma(u, a33);
        }
        a00.intoArray(acc, 0); a01.intoArray(acc, L); a02.intoArray(acc, 2 * L); a03.intoArray(acc, 3 * L);
        a10.intoArray(acc, 4 * L); a11.intoArray(acc, 5 * L); a12.intoArray(acc, 6 * L); a13.intoArray(acc, 7 * L);
        a20.intoArray(acc, 8 * L); a21.intoArray(acc, 9 * L); a22.intoArray(acc, 10 * L); a23.intoArray(acc, 11 * L);
        a30.intoArray(acc, 12 * L); a31.intoArray(acc, 13 * L); a32.intoArray(acc, 14 * L); a33.intoArray(acc, 15 * L);
    }
}
