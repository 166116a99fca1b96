package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;
import static qwen4j.tensor.Simd.L;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Vector API {@link FloatKernels}. Sums use two vector accumulators (even and odd steps), a
 * fixed-order lane sum and a scalar tail; exp is {@link SimdExp}'s, whose bits do not depend on the JIT.
 */
final class SimdFloatKernels implements FloatKernels {
    static final SimdFloatKernels INSTANCE = new SimdFloatKernels();

    private SimdFloatKernels() {}

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), s0);
            s1 = FloatVector.fromArray(F, a, aOff + i + L).fma(FloatVector.fromArray(F, b, bOff + i + L), s1);
        }
        if (i + L <= n) {
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), s0);
            i += L;
        }
        float s = Simd.sum(s0.add(s1));
        for (; i < n; i++) s = Math.fma(a[aOff + i], b[bOff + i], s);
        return s;
    }

    @Override
    public float dot(float[] a, int aOff, MemorySegment b, long bOff, int n) {
        // the same order of operations as the array version: the logits do not depend on where the cache lives
        ByteOrder order = ByteOrder.nativeOrder();
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromMemorySegment(F, b, bOff + 4L * i, order), s0);
            s1 = FloatVector.fromArray(F, a, aOff + i + L).fma(FloatVector.fromMemorySegment(F, b, bOff + 4L * (i + L), order), s1);
        }
        if (i + L <= n) {
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromMemorySegment(F, b, bOff + 4L * i, order), s0);
            i += L;
        }
        float s = Simd.sum(s0.add(s1));
        for (; i < n; i++) s = Math.fma(a[aOff + i], b.get(ValueLayout.JAVA_FLOAT, bOff + 4L * i), s);
        return s;
    }

    @Override
    public void weightedSum(float[] w, int wOff, MemorySegment v, long vOff, long vStride, int n, float[] out, int outOff,
                            int dim, boolean accumulate) {
        ByteOrder order = ByteOrder.nativeOrder();
        int i = 0;
        for (; i + 4 * L <= dim; i += 4 * L) { // four vectors of out at a time, in registers over all t
            FloatVector a0, a1, a2, a3;
            if (accumulate) {
                a0 = FloatVector.fromArray(F, out, outOff + i);
                a1 = FloatVector.fromArray(F, out, outOff + i + L);
                a2 = FloatVector.fromArray(F, out, outOff + i + 2 * L);
                a3 = FloatVector.fromArray(F, out, outOff + i + 3 * L);
            } else {
                a0 = a1 = a2 = a3 = FloatVector.zero(F);
            }
            long o = vOff + 4L * i;
            for (int t = 0; t < n; t++, o += vStride) {
                float a = w[wOff + t];
                a0 = FloatVector.fromMemorySegment(F, v, o, order).mul(a).add(a0);
                a1 = FloatVector.fromMemorySegment(F, v, o + 4L * L, order).mul(a).add(a1);
                a2 = FloatVector.fromMemorySegment(F, v, o + 8L * L, order).mul(a).add(a2);
                a3 = FloatVector.fromMemorySegment(F, v, o + 12L * L, order).mul(a).add(a3);
            }
            a0.intoArray(out, outOff + i);
            a1.intoArray(out, outOff + i + L);
            a2.intoArray(out, outOff + i + 2 * L);
            a3.intoArray(out, outOff + i + 3 * L);
        }
        for (; i + L <= dim; i += L) {
            FloatVector a0 = accumulate ? FloatVector.fromArray(F, out, outOff + i) : FloatVector.zero(F);
            long o = vOff + 4L * i;
            for (int t = 0; t < n; t++, o += vStride) a0 = FloatVector.fromMemorySegment(F, v, o, order).mul(w[wOff + t]).add(a0);
            a0.intoArray(out, outOff + i);
        }
        for (; i < dim; i++) {
            float s = accumulate ? out[outOff + i] : 0f;
            long o = vOff + 4L * i;
            for (int t = 0; t < n; t++, o += vStride) s += w[wOff + t] * v.get(ValueLayout.JAVA_FLOAT, o);
            out[outOff + i] = s;
        }
    }

    @Override
    public void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(F, x, xOff + i).mul(alpha).add(FloatVector.fromArray(F, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    @Override
    public void weightedSum(float[] w, int wOff, float[] v, int vOff, int vStride, int n, float[] out, int outOff, int dim) {
        int i = 0;
        for (; i + 4 * L <= dim; i += 4 * L) { // four vectors of out at a time, in registers over all t
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int t = 0, o = vOff + i; t < n; t++, o += vStride) {
                float a = w[wOff + t];
                a0 = FloatVector.fromArray(F, v, o).mul(a).add(a0);
                a1 = FloatVector.fromArray(F, v, o + L).mul(a).add(a1);
                a2 = FloatVector.fromArray(F, v, o + 2 * L).mul(a).add(a2);
                a3 = FloatVector.fromArray(F, v, o + 3 * L).mul(a).add(a3);
            }
            a0.intoArray(out, outOff + i);
            a1.intoArray(out, outOff + i + L);
            a2.intoArray(out, outOff + i + 2 * L);
            a3.intoArray(out, outOff + i + 3 * L);
        }
        for (; i + L <= dim; i += L) {
            FloatVector a0 = FloatVector.zero(F);
            for (int t = 0, o = vOff + i; t < n; t++, o += vStride) a0 = FloatVector.fromArray(F, v, o).mul(w[wOff + t]).add(a0);
            a0.intoArray(out, outOff + i);
        }
        for (; i < dim; i++) {
            float s = 0f;
            for (int t = 0, o = vOff + i; t < n; t++, o += vStride) s += w[wOff + t] * v[o];
            out[outOff + i] = s;
        }
    }

    @Override
    public void scale(float alpha, float[] x, int off, int n) {
        int i = 0;
        for (; i + L <= n; i += L) FloatVector.fromArray(F, x, off + i).mul(alpha).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] *= alpha;
    }

    @Override
    public void add(float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(F, y, yOff + i).add(FloatVector.fromArray(F, x, xOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += x[xOff + i];
    }

    @Override
    public void rmsnorm(float[] out, float[] x, float[] weight, float eps, int n) {
        float ss = dot(x, 0, x, 0, n);
        float r = (float) (1.0 / Math.sqrt(ss / n + eps));
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(F, x, i).mul(r).mul(FloatVector.fromArray(F, weight, i)).intoArray(out, i);
        }
        for (; i < n; i++) out[i] = weight[i] * (x[i] * r);
    }

    @Override
    public void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, float eps, int n) {
        float ss = dot(x, xOff, x, xOff, n);
        float r = (float) (1.0 / Math.sqrt(ss / n + eps));
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(F, x, xOff + i).mul(r).mul(FloatVector.fromArray(F, weight, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] = weight[i] * (x[xOff + i] * r);
    }

    @Override
    public void softmax(float[] x, int off, int n) { ExpKernels.softmax(x, off, n); }

    @Override
    public void swiglu(float[] gate, float[] up, int n) { ExpKernels.swiglu(gate, up, n); }
}
