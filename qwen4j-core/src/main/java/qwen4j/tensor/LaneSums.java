package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;
import static qwen4j.tensor.Simd.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;

/**
 * The lane sums of L vectors at once, with the same bits as {@link Simd#sum} on each: every step makes
 * the very additions sum() makes (lane i plus lane i ^ k, k = L/2 ... 1) for two vectors in one,
 * halving the vectors left, so L sums take L - 1 steps of 4 operations instead of L sums of 2 log2 L.
 * For kernels that end with many accumulators ({@link MatMul}'s 4 x 4 dot products): calls of their
 * own, taking and leaving floats in an array, because inlined into the kernel they put C2 past its
 * node budget and the kernel boxed its vectors.
 */
final class LaneSums {
    private LaneSums() {}

    private static final VectorShuffle<Float> X8 = Simd.butterfly(8);
    private static final VectorShuffle<Float> X4 = Simd.butterfly(4);
    private static final VectorShuffle<Float> X2 = Simd.butterfly(2);
    private static final VectorShuffle<Float> X1 = Simd.butterfly(1);
    // Lanes i with (i & k) != 0: where a step takes its second vector's lanes.
    private static final VectorMask<Float> M8 = upper(8);
    private static final VectorMask<Float> M4 = upper(4);
    private static final VectorMask<Float> M2 = upper(2);
    private static final VectorMask<Float> M1 = upper(1);

    private static VectorMask<Float> upper(int k) {
        long bits = 0;
        for (int i = 0; i < L; i++) if ((i & k) != 0) bits |= 1L << i;
        return VectorMask.fromLong(F, bits);
    }

    /**
     * The lane sums of the L vectors a[o], a[o + L], ... a[o + (L - 1) L] into dst[d .. d + L): float p
     * is vector p's sum. Uses a[o ..] as scratch; dst may overlap a's first vector.
     */
    static void sums(float[] a, int o, float[] dst, int d) {
        switch (L) {
            case 16 -> {
                halve16(a, o);
                sums8(a, o, dst, d);
            }
            case 8 -> sums8(a, o, dst, d);
            case 4 -> sums4(a, o, dst, d);
            default -> step(FloatVector.fromArray(F, a, o), FloatVector.fromArray(F, a, o + L), X1, M1).intoArray(dst, d);
        }
    }

    // The steps come in separate methods (each under ~60 Vector API operations), because C2 expands every
    // operation into hundreds of nodes while parsing: all 16 lanes' steps in one method reached its
    // inlining cutoff (LiveNodeCountInliningCutoff), and the steps left out of line boxed their vectors.

    /** The first step for 16 lanes: vectors p and p + 8 into vector p (p < 8), in place. */
    private static void halve16(float[] a, int o) {
        for (int p = 0; p < 8; p++) {
            step(FloatVector.fromArray(F, a, o + p * L), FloatVector.fromArray(F, a, o + (p + 8) * L), X8, M8).intoArray(a, o + p * L);
        }
    }

    /** The last three steps: the 8 vectors at a[o], a[o + L], ... (lane groups of 8 or more) to one. */
    private static void sums8(float[] a, int o, float[] dst, int d) {
        FloatVector v0 = FloatVector.fromArray(F, a, o), v1 = FloatVector.fromArray(F, a, o + L);
        FloatVector v2 = FloatVector.fromArray(F, a, o + 2 * L), v3 = FloatVector.fromArray(F, a, o + 3 * L);
        FloatVector v4 = FloatVector.fromArray(F, a, o + 4 * L), v5 = FloatVector.fromArray(F, a, o + 5 * L);
        FloatVector v6 = FloatVector.fromArray(F, a, o + 6 * L), v7 = FloatVector.fromArray(F, a, o + 7 * L);
        last2(step(v0, v4, X4, M4), step(v1, v5, X4, M4), step(v2, v6, X4, M4), step(v3, v7, X4, M4)).intoArray(dst, d);
    }

    /** The last two steps: the 4 vectors at a[o], a[o + L], ... to one. */
    private static void sums4(float[] a, int o, float[] dst, int d) {
        last2(FloatVector.fromArray(F, a, o), FloatVector.fromArray(F, a, o + L),
                FloatVector.fromArray(F, a, o + 2 * L), FloatVector.fromArray(F, a, o + 3 * L)).intoArray(dst, d);
    }

    private static FloatVector last2(FloatVector v0, FloatVector v1, FloatVector v2, FloatVector v3) {
        return step(step(v0, v2, X2, M2), step(v1, v3, X2, M2), X1, M1);
    }

    /**
     * One step: lane i of the result is x[i] + x[i ^ k] where i & k is 0, else y[i] + y[i ^ k] (each
     * the very addition Simd.sum makes, lane i plus its butterfly), from two blends, one rearrange, one add.
     */
    private static FloatVector step(FloatVector x, FloatVector y, VectorShuffle<Float> xk, VectorMask<Float> upper) {
        return x.blend(y, upper).add(y.blend(x, upper).rearrange(xk));
    }
}
