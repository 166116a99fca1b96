package qwen4j.tensor;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Locale;

/**
 * GFLOP/s of the batched product (pool.matmul) per weight type on a 7B-like shape, next to the
 * FMA peak measured in between (interleaved, so machine load hits both alike). Not a unit test:
 * {@code java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes
 * qwen4j.tensor.MatmulThroughput [TYPES...]} with -Drows=3584 -Dcols=3584 -Dn=64 -Dthreads=2 -Dreps=7.
 */
public final class MatmulThroughput {
    public static void main(String[] args) {
        int rows = Integer.getInteger("rows", 3584), cols = Integer.getInteger("cols", 3584);
        int n = Integer.getInteger("n", 64), threads = Integer.getInteger("threads", 2), reps = Integer.getInteger("reps", 7);
        String[] types = args.length == 0 ? new String[] {"BF16", "F16", "F32", "Q8_0", "Q4_0", "Q4_K", "Q6_K"} : args;
        float[] x = TestData.randomVector(n * cols, 3);
        float[] out = new float[n * rows];
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            for (String name : types) {
                DType type = DType.valueOf(name);
                Matrix m = Matrices.of(TestData.randomWeights(arena, type, rows, cols), Kernels.SIMD);
                double[] g = new double[reps], peak = new double[reps];
                for (int i = -2; i < reps; i++) {
                    // one thread: its CPU time (robust to other processes taking the core); more: wall time
                    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
                    long t0 = threads == 1 ? mx.getCurrentThreadCpuTime() : System.nanoTime();
                    pool.matmul(m, x, n, out);
                    double s = ((threads == 1 ? mx.getCurrentThreadCpuTime() : System.nanoTime()) - t0) / 1e9;
                    if (i >= 0) {
                        g[i] = 2.0 * rows * cols * n / s / 1e9;
                        peak[i] = Boolean.parseBoolean(System.getProperty("peak", "true")) ? FmaPeak.measure(pool) : 1;
                    }
                }
                Arrays.sort(g);
                Arrays.sort(peak);
                System.out.printf(Locale.ROOT, "%-5s %dx%d n=%d threads=%d: median %.1f GFLOP/s (best %.1f), FMA peak median %.1f -> %.0f%%%n",
                        name, rows, cols, n, threads, g[reps / 2], g[reps - 1], peak[reps / 2], 100 * g[reps / 2] / peak[reps / 2]);
            }
        }
    }
}
