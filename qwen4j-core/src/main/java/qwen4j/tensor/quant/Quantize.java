package qwen4j.tensor.quant;

import java.lang.foreign.MemorySegment;
import qwen4j.tensor.DType;

/**
 * float32 to ggml blocks, byte-identical to ggml's reference quantizers ({@code quantize_row_q8_0_ref},
 * {@code quantize_row_q4_0_ref}): float32 arithmetic in ggml's order, C {@code roundf} (ties away from
 * zero), the Q4_0 clamp to 15 and first-largest-magnitude sign rule, fp16 scales rounded to nearest-even.
 */
public final class Quantize {
    private Quantize() {}

    /** The types {@link #quantize} can write. */
    public static boolean supports(DType type) {
        return type == DType.Q8_0 || type == DType.Q4_0;
    }

    /** Quantizes a whole row (length a multiple of the block size) to a new byte array. */
    public static byte[] quantize(DType type, float[] row) {
        byte[] out = new byte[Math.toIntExact(type.bytesFor(row.length))];
        quantize(type, row, 0, row.length, MemorySegment.ofArray(out), 0);
        return out;
    }

    /** Quantizes src[srcOff .. srcOff + n) into dst at byte offset dstOff; n a multiple of the block size. */
    public static void quantize(DType type, float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        switch (type) {
            case Q8_0 -> q8_0(src, srcOff, n, dst, dstOff);
            case Q4_0 -> q4_0(src, srcOff, n, dst, dstOff);
            default -> throw new IllegalArgumentException("no quantizer for " + type);
        }
    }

    /** C roundf on a float32 value: round half away from zero. */
    static int roundf(float p) {
        return (int) Math.copySign(Math.floor(Math.abs((double) p) + 0.5), p);
    }

    public static void q8_0(float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        check(src, srcOff, n, 32);
        for (int b = 0; b < n / 32; b++) {
            int s = srcOff + 32 * b;
            long o = dstOff + 34L * b;
            float amax = 0f;
            for (int e = 0; e < 32; e++) amax = Math.max(amax, Math.abs(src[s + e]));
            float d = amax / 127.0f;
            float id = d != 0f ? 1.0f / d : 0.0f;
            dst.set(QuantMatrix.LE_SHORT, o, Float.floatToFloat16(d));
            for (int e = 0; e < 32; e++) dst.set(QuantMatrix.BYTE, o + 2 + e, (byte) roundf(src[s + e] * id));
        }
    }

    public static void q4_0(float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        check(src, srcOff, n, 32);
        for (int b = 0; b < n / 32; b++) {
            int s = srcOff + 32 * b;
            long o = dstOff + 18L * b;
            float amax = 0f, max = 0f;
            for (int e = 0; e < 32; e++) {
                float v = src[s + e];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8.0f;
            float id = d != 0f ? 1.0f / d : 0.0f;
            dst.set(QuantMatrix.LE_SHORT, o, Float.floatToFloat16(d));
            for (int j = 0; j < 16; j++) {
                float x0 = src[s + j] * id;
                float x1 = src[s + 16 + j] * id;
                int q0 = Math.min(15, (int) (x0 + 8.5f));
                int q1 = Math.min(15, (int) (x1 + 8.5f));
                dst.set(QuantMatrix.BYTE, o + 2 + j, (byte) (q0 | q1 << 4));
            }
        }
    }

    private static void check(float[] src, int srcOff, int n, int qk) {
        if (n % qk != 0) throw new IllegalArgumentException(n + " values is not a multiple of " + qk);
        java.util.Objects.checkFromIndexSize(srcOff, n, src.length);
    }
}
