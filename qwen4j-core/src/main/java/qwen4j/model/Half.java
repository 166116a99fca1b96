package qwen4j.model;

/**
 * 16-bit float conversions for the KV cache and the bf16 attention emulation: bf16 is the top
 * half of a float32 (round to nearest even), f16 is IEEE half ({@link Float#floatToFloat16}).
 * Plain arithmetic on ints, so the decode loop stays allocation-free.
 */
public final class Half {
    private Half() {}

    /** float32 to bf16 bits, round to nearest even (NaN stays NaN). */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) return (short) ((bits >>> 16) | 0x40); // quiet NaN
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat(h << 16);
    }

    /** f rounded to the nearest bf16 value, kept as a float (Java has no bf16 arithmetic). */
    public static float roundBf16(float f) {
        return bf16ToFloat(toBf16(f));
    }
}
