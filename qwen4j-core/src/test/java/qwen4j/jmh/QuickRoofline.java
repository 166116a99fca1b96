package qwen4j.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.Matrices;
import qwen4j.tensor.Matrix;
import qwen4j.tensor.MemoryBandwidth;
import qwen4j.tensor.Tensor;
import qwen4j.tensor.WorkerPool;

/**
 * A quick, noise-tolerant table (no JMH): for 1 and 2 threads, MemoryBandwidth.measure and the
 * best-of-N GB/s of each SIMD matvec on a 3584 x 18944 weight, interleaved in one JVM so that
 * background load hits them alike. Run: java [flags] -cp ... qwen4j.jmh.QuickRoofline [rounds]
 */
public final class QuickRoofline {
    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int rows = 3584, cols = 18944;
        DType[] types = {DType.BF16, DType.F16, DType.F32};
        try (Arena arena = Arena.ofShared()) {
            Matrix[] ms = new Matrix[types.length];
            for (int t = 0; t < types.length; t++) ms[t] = Matrices.of(random(arena, types[t], rows, cols), Kernels.SIMD);
            float[] x = new float[cols], out = new float[rows];
            for (int i = 0; i < cols; i++) x[i] = (float) Math.sin(i);
            for (int threads = 1; threads <= 2; threads++) {
                try (WorkerPool pool = new WorkerPool(threads)) {
                    double bw = 0;
                    double[] best = new double[types.length];
                    for (int r = 0; r < rounds; r++) {
                        bw = Math.max(bw, MemoryBandwidth.measure(pool, 1L << 30));
                        for (int t = 0; t < types.length; t++) {
                            for (int i = 0; i < 20; i++) {
                                long t0 = System.nanoTime();
                                pool.matvec(ms[t], x, out);
                                best[t] = Math.max(best[t], ms[t].byteSize() / (double) (System.nanoTime() - t0));
                            }
                        }
                    }
                    System.out.printf("threads=%d roofline %.1f GB/s", threads, bw);
                    for (int t = 0; t < types.length; t++) {
                        System.out.printf(" | %s %.1f GB/s (%.0f%%)", types[t], best[t], 100 * best[t] / bw);
                    }
                    System.out.println();
                }
            }
        }
    }

    static Tensor random(Arena arena, DType t, int rows, int cols) {
        MemorySegment seg = arena.allocate((long) rows * cols * (t == DType.F32 ? 4 : 2), 64);
        SplittableRandom rnd = new SplittableRandom(t.ordinal());
        for (long i = 0; i < seg.byteSize(); i += 4) {
            float f = (float) (rnd.nextDouble(-1, 1) * 0.04);
            int v = switch (t) {
                case F32 -> Float.floatToRawIntBits(f);
                case BF16 -> (Float.floatToRawIntBits(f) >>> 16) | (Float.floatToRawIntBits(-f) & 0xFFFF0000);
                default -> (Float.floatToFloat16(f) & 0xFFFF) | (Float.floatToFloat16(-0.5f * f) << 16);
            };
            seg.set(ValueLayout.JAVA_INT_UNALIGNED, i, v);
        }
        return new Tensor("w", t, new long[] {rows, cols}, seg, "random");
    }
}
