package qwen4j.tensor;

/**
 * Float32 activation kernels: {@link #scalar()} and {@link #simd()} (or {@link #of(Kernels)})
 * give the two {@link FloatKernels} implementations; callers keep the one their options chose.
 */
public final class FloatOps {
    private FloatOps() {}

    /** The plain-loop reference kernels. */
    public static FloatKernels scalar() { return ScalarFloatKernels.INSTANCE; }

    /** The Vector API kernels. */
    public static FloatKernels simd() { return SimdFloatKernels.INSTANCE; }

    public static FloatKernels of(Kernels kernels) {
        return kernels.usable() == Kernels.SIMD ? simd() : scalar();
    }
}
