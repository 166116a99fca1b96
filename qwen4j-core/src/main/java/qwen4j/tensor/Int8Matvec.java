package qwen4j.tensor;

/**
 * A matrix whose SIMD kernels take int8-quantized activations ({@link Int8Activations}): integer
 * multiply-adds per 32-block, one float scale per block. {@link WorkerPool} quantizes x once per
 * dispatch and calls {@link #matvec(Int8Activations, float[], int, int)} on every thread.
 */
public interface Int8Matvec {
    /** Whether this instance computes its products from int8 activations. */
    boolean usesInt8Activations();

    /** out[r] = dot(row r, x) for r in [from, to), x given quantized. */
    void matvec(Int8Activations x, float[] out, int from, int to);
}
