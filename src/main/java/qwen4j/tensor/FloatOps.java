package qwen4j.tensor;

/**
 * Float32 activation kernels. {@link #scalar()} and {@link #simd()} (or {@link #of(Kernels)})
 * give the two {@link FloatKernels} implementations for code that follows the kernels option;
 * the static methods are shortcuts to the Vector API ones.
 */
public final class FloatOps {
    private FloatOps() {}

    /** The plain-loop reference kernels. */
    public static FloatKernels scalar() { return ScalarFloatKernels.INSTANCE; }

    /** The Vector API kernels. */
    public static FloatKernels simd() { return SimdFloatKernels.INSTANCE; }

    public static FloatKernels of(Kernels kernels) {
        return kernels == Kernels.SIMD ? simd() : scalar();
    }

    /** sum_i a[aOff+i] * b[bOff+i] for i in [0, n). */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        return SimdFloatKernels.INSTANCE.dot(a, aOff, b, bOff, n);
    }

    /** y[yOff+i] += alpha * x[xOff+i] for i in [0, n). */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        SimdFloatKernels.INSTANCE.axpy(alpha, x, xOff, y, yOff, n);
    }

    /** x[off+i] *= alpha for i in [0, n). */
    public static void scale(float alpha, float[] x, int off, int n) {
        SimdFloatKernels.INSTANCE.scale(alpha, x, off, n);
    }

    /** y[yOff+i] += x[xOff+i] for i in [0, n). */
    public static void add(float[] x, int xOff, float[] y, int yOff, int n) {
        SimdFloatKernels.INSTANCE.add(x, xOff, y, yOff, n);
    }

    /** See {@link FloatKernels#rmsnorm}. */
    public static void rmsnorm(float[] out, float[] x, float[] weight, float eps, int n) {
        SimdFloatKernels.INSTANCE.rmsnorm(out, x, weight, eps, n);
    }

    /** See {@link FloatKernels#softmax}. */
    public static void softmax(float[] x, int off, int n) {
        SimdFloatKernels.INSTANCE.softmax(x, off, n);
    }

    /** See {@link FloatKernels#swiglu}. */
    public static void swiglu(float[] gate, float[] up, int n) {
        SimdFloatKernels.INSTANCE.swiglu(gate, up, n);
    }
}
