package qwen4j.tensor.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.stream.IntStream;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.Matrices;
import qwen4j.tensor.Matrix;
import qwen4j.tensor.Tensor;

/**
 * Converts the rows of a stored tensor into another stored type, one row at a time (a float32 row
 * is the only intermediate): F32, F16, BF16 (round to nearest even, as ggml's reference), and the
 * types {@link Quantize} writes. Used by the GGUF writer and by quantize-on-load. Rows are converted
 * in parallel; the result does not depend on the number of threads.
 */
public final class Requantize {
    private Requantize() {}

    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Whether rows can be converted to {@code type}. */
    public static boolean canWrite(DType type) {
        return type == DType.F32 || type == DType.F16 || type == DType.BF16 || Quantize.supports(type);
    }

    /**
     * Writes rows [from, to) of {@code src} (a 2-D tensor, or 1-D seen as one row) converted to
     * {@code target} into dst (exactly (to - from) row-bytes of target). Same type: a plain copy.
     */
    public static void rows(Tensor src, int from, int to, DType target, MemorySegment dst) {
        long cols = src.cols();
        long srcRowBytes = src.type().bytesFor(cols), dstRowBytes = target.bytesFor(cols);
        if (src.type() == target) {
            MemorySegment.copy(src.data(), from * srcRowBytes, dst, 0, (to - from) * srcRowBytes);
            return;
        }
        Matrix m = Matrices.of(new Tensor(src.name(), src.type(), new long[] {src.rows(), cols}, src.data(), src.source()),
                Kernels.SCALAR);
        int n = Math.toIntExact(cols);
        IntStream range = IntStream.range(from, to);
        if ((long) (to - from) * n > (1 << 16)) range = range.parallel();
        ThreadLocal<float[]> buf = ThreadLocal.withInitial(() -> new float[n]);
        range.forEach(r -> {
            float[] row = buf.get();
            m.row(r, row, 0);
            encode(row, n, target, dst, (r - from) * dstRowBytes);
        });
    }

    /** Encodes n floats as {@code target} at dst[off ..]. */
    public static void encode(float[] row, int n, DType target, MemorySegment dst, long off) {
        switch (target) {
            case F32 -> { for (int i = 0; i < n; i++) dst.set(LE_FLOAT, off + 4L * i, row[i]); }
            case F16 -> { for (int i = 0; i < n; i++) dst.set(QuantMatrix.LE_SHORT, off + 2L * i, Float.floatToFloat16(row[i])); }
            case BF16 -> { for (int i = 0; i < n; i++) dst.set(QuantMatrix.LE_SHORT, off + 2L * i, bf16(row[i])); }
            default -> Quantize.quantize(target, row, 0, n, dst, off);
        }
    }

    /** float32 to bf16, round to nearest even; NaN stays a quiet NaN (ggml's reference rule). */
    public static short bf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 0x40);
        return (short) ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16);
    }
}
