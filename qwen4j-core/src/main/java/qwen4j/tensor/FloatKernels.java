package qwen4j.tensor;

/**
 * Kernels over float32 activations (attention scores, weighted sums of values, norms). Two
 * implementations: {@link FloatOps#scalar()} (plain loops, the reference) and
 * {@link FloatOps#simd()} (Vector API). The model picks one once, from its options, and keeps it
 * in a final field, so inner loops have no branches on the choice.
 *
 * <p>The element-wise ones ({@link #axpy}, {@link #scale}, {@link #add}) give bit-identical
 * results in both implementations; those that sum ({@link #dot}, {@link #rmsnorm},
 * {@link #softmax}) differ only by summation order (and, for softmax and swiglu, by the last
 * bits of exp).
 */
public interface FloatKernels {
    /** sum_i a[aOff+i] * b[bOff+i] for i in [0, n). */
    float dot(float[] a, int aOff, float[] b, int bOff, int n);

    /** y[yOff+i] += alpha * x[xOff+i] for i in [0, n) (a multiply, then an add: no FMA). */
    void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n);

    /**
     * out[outOff+i] = sum over t in [0, n) of w[wOff+t] * v[vOff + t*vStride + i], for i in [0, dim):
     * attention's weighted sum of cached values. Term by term in t order, each a multiply then an
     * add, starting from +0: the same values as zeroing out and calling {@link #axpy} for t = 0, 1,
     * ... (the SIMD one keeps the sums in registers instead of storing and reloading out per t).
     */
    void weightedSum(float[] w, int wOff, float[] v, int vOff, int vStride, int n, float[] out, int outOff, int dim);

    /**
     * {@link #dot} with b off-heap: b's floats start at byte offset bOff of segment b (native order).
     * The KV cache lives off-heap; attention reads its keys through this.
     */
    float dot(float[] a, int aOff, java.lang.foreign.MemorySegment b, long bOff, int n);

    /**
     * {@link #weightedSum} with the values off-heap (v's rows at byte offsets vOff + t * vStride); with
     * {@code accumulate} it continues the sums already in out (a paged cache is summed block by block,
     * term by term in the same order as one call over all positions would).
     */
    void weightedSum(float[] w, int wOff, java.lang.foreign.MemorySegment v, long vOff, long vStride, int n,
                     float[] out, int outOff, int dim, boolean accumulate);

    /** x[off+i] *= alpha for i in [0, n). */
    void scale(float alpha, float[] x, int off, int n);

    /** y[yOff+i] += x[xOff+i] for i in [0, n) (e.g. the residual add). */
    void add(float[] x, int xOff, float[] y, int yOff, int n);

    /**
     * RMS norm: out[i] = weight[i] * (x[i] * r) with r = 1 / sqrt(mean(x[0..n)^2) + eps), all in
     * float32. out may be x.
     */
    void rmsnorm(float[] out, float[] x, float[] weight, float eps, int n);

    /** {@link #rmsnorm(float[], float[], float[], float, int)} of x[xOff ..] into out[outOff ..]. */
    void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, float eps, int n);

    /** In-place softmax of x[off .. off+n) in float32, with the maximum subtracted first. */
    void softmax(float[] x, int off, int n);

    /** SwiGLU: gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)), for i in [0, n). */
    void swiglu(float[] gate, float[] up, int n);
}
