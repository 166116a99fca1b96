package qwen4j.tensor;

import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * The prefill kernels on one thread, best thread-CPU time of 20 after 4 s of warm-up, in GFLOP/s:
 * the dot-product kernel (vectors along the columns) against the token-vector kernel (x packed
 * outside the timing, as a dispatch does once for all threads), and the token-vector micro-kernel
 * alone on data in L1 (the ceiling). Compare with one thread's share of {@link FmaPeak}.
 * Args: TYPE (F32, BF16, F16, Q8_0, Q4_0), cols (default 3584), tokens (default 64); 512 weight rows.
 */
public final class GemmCpuTime {
    public static void main(String[] args) {
        DType type = DType.valueOf(args.length > 0 ? args[0] : "BF16");
        int rows = 512, cols = args.length > 1 ? Integer.parseInt(args[1]) : 3584;
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        Matrix m = Matrices.of(TestData.randomWeights(Arena.global(), type, rows, cols), Kernels.SIMD);
        MatMul.Rows mr = (MatMul.Rows) m;
        float[] x = TestData.randomVector(n * cols, 2);
        float[] o1 = new float[n * rows], o2 = new float[n * rows];
        float[] w = new float[m.matmulScratch()];
        MatMul.Tokens xs = MatMul.Tokens.of(x, n, cols);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long end = System.nanoTime() + 4_000_000_000L;
        while (System.nanoTime() < end) {
            MatMul.dotProducts(mr, x, n, o1, 0, rows, w);
            MatMul.tiled(mr, xs, o2, 0, rows, w);
        }
        long b1 = Long.MAX_VALUE, b2 = Long.MAX_VALUE;
        for (int it = 0; it < 20; it++) {
            long t0 = mx.getCurrentThreadCpuTime();
            MatMul.dotProducts(mr, x, n, o1, 0, rows, w);
            long t1 = mx.getCurrentThreadCpuTime();
            MatMul.tiled(mr, xs, o2, 0, rows, w);
            long t2 = mx.getCurrentThreadCpuTime();
            b1 = Math.min(b1, t1 - t0);
            b2 = Math.min(b2, t2 - t1);
        }
        double maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < o1.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(o1[i] - o2[i]));
            maxAbs = Math.max(maxAbs, Math.abs(o1[i]));
        }
        // The micro-kernel alone: 8 rows x 32 tokens x 256 columns, all in L1.
        int kc = 256;
        float[] wk = TestData.randomVector(8 * kc, 3), xk = TestData.randomVector(MatMul.TB * kc, 4), c = new float[MatMul.TV_OUT];
        long b3 = Long.MAX_VALUE;
        for (int it = 0; it < 40; it++) {
            long t0 = mx.getCurrentThreadCpuTime();
            for (int r = 0; r < 1000; r++) {
                if (MatMul.FOUR_ROWS) {
                    MatMul.k4x2(wk, 0, kc, xk, 0, c, 0, false);
                    MatMul.k4x2(wk, 4 * kc, kc, xk, 0, c, 4 * MatMul.TB, false);
                } else {
                    MatMul.k8x2(wk, 0, kc, xk, 0, c, 0, false);
                }
            }
            b3 = Math.min(b3, mx.getCurrentThreadCpuTime() - t0);
        }
        // The weight decode alone: every row's slices as float32, as the token-vector kernel does once per call.
        long b4 = Long.MAX_VALUE;
        int kcMax = Math.min(cols, MatMul.SLICE);
        for (int it = 0; it < 40; it++) {
            long t0 = mx.getCurrentThreadCpuTime();
            for (int k0 = 0; k0 < cols; k0 += kcMax)
                for (int r = 0; r < rows; r++) mr.decodeRange(r, k0, Math.min(kcMax, cols - k0), w, (r % MatMul.TV_ROWS) * kcMax);
            b4 = Math.min(b4, mx.getCurrentThreadCpuTime() - t0);
        }
        double flops = 2.0 * rows * cols * n;
        System.out.printf("%s %d x %d, %d tokens, 1 thread: dot products %.1f GFLOP/s, token vectors %.1f GFLOP/s "
                + "(max difference %.1e of max |result| %.1e); token-vector micro-kernel in L1 %.1f GFLOP/s; "
                + "weight decode alone %.2f ns/weight = %.0f%% of the token-vector time%n",
                type, rows, cols, n, flops / b1, flops / b2, maxDiff, maxAbs, 1000 * 2.0 * 8 * Math.min(2 * Simd.L, MatMul.TB) * kc / b3,
                (double) b4 / ((double) rows * cols), 100.0 * b4 / b2);
    }
}
