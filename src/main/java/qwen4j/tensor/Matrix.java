package qwen4j.tensor;

/**
 * A 2-D weight [rows, cols] in its stored type, with the kernels that compute on it directly.
 * The model only ever talks to weights through this interface: it never knows whether a weight
 * is BF16 or Q4_K. Implementations are immutable and thread-safe (row ranges may run in parallel).
 */
public interface Matrix {
    DType type();

    int rows();

    int cols();

    /** Bytes of weight data (what one full matvec reads). */
    long byteSize();

    /** out[r] = dot(row r, x) for r in [from, to); x has cols() elements. */
    void matvec(float[] x, float[] out, int from, int to);

    /** Writes row r, converted to float32, to dst[dstOff .. dstOff + cols()). */
    void row(int r, float[] dst, int dstOff);
}
