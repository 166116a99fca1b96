package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import qwen4j.tensor.DType;

/**
 * Whole rows of quantized blocks decoded to float32 in vector registers, for the batched product
 * (prefill), which converts each weight row once and reuses it for every token. Bit-exact with the
 * scalar {@code dequant}s: the same int-to-float conversion and the same single multiply by d.
 */
final class QuantDecode {
    private QuantDecode() {}

    /** Decodes the row at byte offset {@code base} ({@code nb} blocks); false if the type has no SIMD decoder. */
    static boolean row(DType type, MemorySegment seg, long base, int nb, float[] dst, int off) {
        switch (type) {
            case Q8_0 -> q8_0(seg, base, nb, dst, off);
            case Q4_0 -> q4_0(seg, base, nb, dst, off);
            default -> { return false; }
        }
        return true;
    }

    static void q8_0(MemorySegment seg, long base, int nb, float[] dst, int off) {
        long o = base;
        for (int b = 0; b < nb; b++, o += Q8_0Matrix.BB, off += Q8_0Matrix.QK) {
            float d = QuantMatrix.f16(seg, o);
            for (int k = 0; k < Q8_0Matrix.QK; k += L) {
                QuantSimd.toFloat(QuantSimd.load(seg, o + 2 + k)).mul(d).intoArray(dst, off + k);
            }
        }
    }

    static void q4_0(MemorySegment seg, long base, int nb, float[] dst, int off) {
        long o = base;
        for (int b = 0; b < nb; b++, o += Q4_0Matrix.BB, off += Q4_0Matrix.QK) {
            float d = QuantMatrix.f16(seg, o);
            for (int k = 0; k < 16; k += L) {
                ByteVector q = QuantSimd.load(seg, o + 2 + k);
                QuantSimd.toFloat(q.and((byte) 15).sub((byte) 8)).mul(d).intoArray(dst, off + k);
                QuantSimd.toFloat(QuantSimd.shr(q, 4, 15).sub((byte) 8)).mul(d).intoArray(dst, off + 16 + k);
            }
        }
    }
}
