package qwen4j.tensor.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import qwen4j.tensor.DType;

/** Random but finite blocks: random quant bits, fp16 scales set to random finite values. */
final class RandomBlocks {
    private RandomBlocks() {}

    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Byte offsets of the fp16 scale fields inside a block of type t. */
    static int[] scaleOffsets(DType t) {
        return switch (t) {
            case Q8_0, Q4_0, Q5_0 -> new int[] {0};
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[] {0, 2};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException(t.toString());
        };
    }

    static MemorySegment fill(MemorySegment seg, DType t, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long n = seg.byteSize();
        for (long i = 0; i + 8 <= n; i += 8) seg.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong());
        for (long i = n & ~7L; i < n; i++) seg.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt());
        int bb = t.blockBytes();
        for (long b = 0; b + bb <= n; b += bb) {
            for (int so : scaleOffsets(t)) {
                float v = (float) ((rnd.nextDouble() * 2 - 1) * 0.05);
                seg.set(LE_SHORT, b + so, Float.floatToFloat16(v));
            }
        }
        return seg;
    }

    static MemorySegment allocate(DType t, int rows, int cols, long seed) {
        MemorySegment seg = Arena.ofAuto().allocate(t.bytesFor((long) rows * cols), 64);
        return fill(seg, t, seed);
    }

    static float[] vector(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }
}
