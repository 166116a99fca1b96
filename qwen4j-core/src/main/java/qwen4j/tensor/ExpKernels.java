package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;
import static qwen4j.tensor.Simd.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The Vector API softmax and SwiGLU of {@link SimdFloatKernels}, with {@link SimdExp}'s exp. A class
 * of their own so config/jvm.flags can keep them out of line: inlined into the layer code (with
 * SimdExp forced inline), they made the caller so large that C2 left the BF16 matvec's helpers out
 * of line, and those boxed their vectors (ZeroAllocationTest). A call per layer or head costs nothing.
 */
final class ExpKernels {
    private ExpKernels() {}

    // The loop-carried vmax and vsum are arguments, the fresh load the receiver: C2 knows a load's exact
    // class, not a loop phi's, so vmax.max(v) was a virtual call resolved only by FloatVector.max's
    // shared profile; compiled before that profile existed, it stayed a call into the Vector API's
    // allocating Java fallback for the whole run (ZeroAllocationTest, one run in five).
    static void softmax(float[] x, int off, int n) {
        FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i + L <= n; i += L) vmax = FloatVector.fromArray(F, x, off + i).max(vmax);
        float max = vmax.reduceLanes(VectorOperators.MAX); // exact in any order
        for (; i < n; i++) max = Math.max(max, x[off + i]);

        FloatVector vsum = FloatVector.zero(F);
        i = 0;
        for (; i + L <= n; i += L) {
            FloatVector e = SimdExp.exp(FloatVector.fromArray(F, x, off + i).sub(max));
            e.intoArray(x, off + i);
            vsum = e.add(vsum);
        }
        float sum = Simd.sum(vsum);
        for (; i < n; i++) {
            float e = SimdExp.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }

        i = 0;
        for (; i + L <= n; i += L) FloatVector.fromArray(F, x, off + i).div(sum).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] /= sum;
    }

    static void swiglu(float[] gate, float[] up, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, i);
            FloatVector silu = g.div(SimdExp.exp(g.neg()).add(1f));
            silu.mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + SimdExp.exp(-g)) * up[i];
        }
    }
}
