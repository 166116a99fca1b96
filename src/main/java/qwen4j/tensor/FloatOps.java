package qwen4j.tensor;

/**
 * Kernels over float32 activations (attention scores, weighted sums of values, norms).
 * PLACEHOLDER scalar versions; the Vector API versions land with the kernels work.
 */
public final class FloatOps {
    private FloatOps() {}

    /** sum_i a[aOff+i] * b[bOff+i] for i in [0, n). */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    /** y[yOff+i] += alpha * x[xOff+i] for i in [0, n). */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }
}
