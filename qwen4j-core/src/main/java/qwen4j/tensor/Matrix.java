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

    /**
     * Whether a worker pool should hand out this matrix's matvec a quarter of the matrix apart
     * ({@link #matvecQuarters}) rather than in contiguous chunks: for kernels that read four rows in each
     * pass and read memory slower the closer together those rows lie.
     */
    default boolean spreadsRows() { return false; }

    /**
     * out[r + k * quarter] = dot(row r + k * quarter, x) for r in [from, to) and k = 0..3, where
     * {@code 0 <= from <= to <= quarter} and {@code 4 * quarter <= rows()}: a share of a matvec whose
     * four-row passes take rows a quarter of the matrix apart, however the rows are shared out.
     */
    default void matvecQuarters(float[] x, float[] out, int from, int to, int quarter) {
        for (int k = 0; k < 4; k++) matvec(x, out, from + k * quarter, to + k * quarter);
    }

    /** Writes row r, converted to float32, to dst[dstOff .. dstOff + cols()). */
    void row(int r, float[] dst, int dstOff);

    /** Floats of scratch {@link #matmul(float[], int, float[], int, int, float[])} needs. */
    default int matmulScratch() { return cols(); }

    /**
     * Batched product for output rows [from, to): x holds n activation rows of cols() floats
     * (row-major), out holds n rows of rows() floats; out[t * rows() + r] = dot(row r, x row t).
     * Allocates its scratch; hot paths call the overload that is given one.
     */
    default void matmul(float[] x, int n, float[] out, int from, int to) {
        matmul(x, n, out, from, to, new float[matmulScratch()]);
    }

    /**
     * As {@link #matmul(float[], int, float[], int, int)} with {@code scratch} of at least
     * {@link #matmulScratch()} floats. This default is the reference: each weight row converted
     * once with {@link #row}, then a sequential float32 dot with every x row.
     */
    default void matmul(float[] x, int n, float[] out, int from, int to, float[] scratch) {
        int cols = cols(), rows = rows();
        for (int r = from; r < to; r++) {
            row(r, scratch, 0);
            for (int t = 0; t < n; t++) {
                int xo = t * cols;
                float sum = 0f;
                for (int j = 0; j < cols; j++) sum += scratch[j] * x[xo + j];
                out[t * rows + r] = sum;
            }
        }
    }

    /**
     * As {@link #matmul(float[], int, float[], int, int, float[])}, with x also given packed
     * ({@link MatMul.Tokens}, done once per dispatch for all threads and matrices sharing x).
     * Kernels that read the packed form override this; the default uses the plain rows.
     */
    default void matmul(MatMul.Tokens x, float[] out, int from, int to, float[] scratch) {
        matmul(x.x(), x.n(), out, from, to, scratch);
    }
}
