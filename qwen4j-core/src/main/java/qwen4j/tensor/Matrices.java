package qwen4j.tensor;

import qwen4j.Qwen4jException;

/** Builds the kernel view ({@link Matrix}) of a stored 2-D tensor. */
public final class Matrices {
    private Matrices() {}

    /**
     * The kernels for a 2-D tensor: {@link Kernels#SCALAR} gives the plain reference loops,
     * {@link Kernels#SIMD} the Vector API ones (same results up to float summation order).
     */
    public static Matrix of(Tensor t, Kernels kernels) {
        if (t.rank() != 2) {
            throw new Qwen4jException(t.source() + ": tensor " + t.name() + " has shape " + t.shapeString()
                    + ", expected a matrix");
        }
        int rows = Math.toIntExact(t.shape()[0]);
        int cols = Math.toIntExact(t.shape()[1]);
        boolean simd = kernels.usable() == Kernels.SIMD;
        return switch (t.type()) {
            case F32 -> simd ? new SimdF32Matrix(t.data(), rows, cols) : new F32Matrix(t.data(), rows, cols);
            case BF16 -> simd ? new SimdBF16Matrix(t.data(), rows, cols) : new BF16Matrix(t.data(), rows, cols);
            case F16 -> simd ? SimdF16Matrix.of(t.data(), rows, cols) : new F16Matrix(t.data(), rows, cols);
            // ggml block-quantized types (qwen4j.tensor.quant)
            case Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K ->
                    qwen4j.tensor.quant.QuantMatrix.of(t.type(), t.data(), rows, cols, kernels);
            default -> throw new Qwen4jException(t.source() + ": tensor " + t.name() + " has type " + t.type()
                    + ", which qwen4j cannot compute with yet");
        };
    }

    /** Converts a small tensor (norm weights, biases) to a float array. */
    public static float[] toFloatArray(Tensor t) {
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new Qwen4jException(t.source() + ": tensor " + t.name() + " is too large to convert");
        }
        Matrix m = of(new Tensor(t.name(), t.type(), new long[] {1, n}, t.data(), t.source()), Kernels.SCALAR);
        float[] out = new float[(int) n];
        m.row(0, out, 0);
        return out;
    }
}
