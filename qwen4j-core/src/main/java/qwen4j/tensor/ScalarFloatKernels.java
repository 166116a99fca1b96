package qwen4j.tensor;

/** Plain-loop {@link FloatKernels}: the reference the Vector API versions are tested against. */
final class ScalarFloatKernels implements FloatKernels {
    static final ScalarFloatKernels INSTANCE = new ScalarFloatKernels();

    private ScalarFloatKernels() {}

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    @Override
    public void weightedSum(float[] w, int wOff, float[] v, int vOff, int vStride, int n, float[] out, int outOff, int dim) {
        java.util.Arrays.fill(out, outOff, outOff + dim, 0f);
        for (int t = 0; t < n; t++) {
            float a = w[wOff + t];
            int o = vOff + t * vStride;
            for (int i = 0; i < dim; i++) out[outOff + i] += a * v[o + i];
        }
    }

    @Override
    public float dot(float[] a, int aOff, java.lang.foreign.MemorySegment b, long bOff, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) s += a[aOff + i] * b.get(java.lang.foreign.ValueLayout.JAVA_FLOAT, bOff + 4L * i);
        return s;
    }

    @Override
    public void weightedSum(float[] w, int wOff, java.lang.foreign.MemorySegment v, long vOff, long vStride, int n,
                            float[] out, int outOff, int dim, boolean accumulate) {
        if (!accumulate) java.util.Arrays.fill(out, outOff, outOff + dim, 0f);
        for (int t = 0; t < n; t++) {
            float a = w[wOff + t];
            long o = vOff + t * vStride;
            for (int i = 0; i < dim; i++) out[outOff + i] += a * v.get(java.lang.foreign.ValueLayout.JAVA_FLOAT, o + 4L * i);
        }
    }

    @Override
    public void scale(float alpha, float[] x, int off, int n) {
        for (int i = 0; i < n; i++) x[off + i] *= alpha;
    }

    @Override
    public void add(float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) y[yOff + i] += x[xOff + i];
    }

    @Override
    public void rmsnorm(float[] out, float[] x, float[] weight, float eps, int n) {
        float ss = 0f;
        for (int i = 0; i < n; i++) ss += x[i] * x[i];
        float r = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) out[i] = weight[i] * (x[i] * r);
    }

    @Override
    public void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, float eps, int n) {
        float ss = 0f;
        for (int i = 0; i < n; i++) ss += x[xOff + i] * x[xOff + i];
        float r = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) out[outOff + i] = weight[i] * (x[xOff + i] * r);
    }

    @Override
    public void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[off + i]);
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        for (int i = 0; i < n; i++) x[off + i] /= sum;
    }

    @Override
    public void swiglu(float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }
}
