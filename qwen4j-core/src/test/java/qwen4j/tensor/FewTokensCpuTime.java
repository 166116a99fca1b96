package qwen4j.tensor;

import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * The batched product for few tokens (decode of a few sequences) on one thread, in ns per weight:
 * the dot-product kernel over float tiles against n matvecs over row chunks that stay in cache
 * ({@link MatMul#matvecs}), which {@link MatMul} uses up to {@link MatMul#MATVEC_TOKENS} tokens,
 * the token-vector kernel where enough tokens use it ({@link MatMul.Tokens#packs}), and the
 * matrix's own {@link Matrix#matmul} (whichever of those it picks, or a fused kernel of its type).
 * Best thread-CPU time after 2 s of warm-up. Args: TYPE (F32, BF16, F16, or a quantized type), rows (default
 * 2048), cols (default 3584), token counts (default 1,2,3,4,6,8,12,13,16).
 */
public final class FewTokensCpuTime {
    public static void main(String[] args) {
        DType type = DType.valueOf(args.length > 0 ? args[0] : "Q4_0");
        int rows = args.length > 1 ? Integer.parseInt(args[1]) : 2048, cols = args.length > 2 ? Integer.parseInt(args[2]) : 3584;
        Matrix m = Matrices.of(TestData.randomWeights(Arena.global(), type, rows, cols), Kernels.SIMD);
        MatMul.Rows mr = (MatMul.Rows) m;
        float[] w = new float[m.matmulScratch()];
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        int[] tokens = args.length > 3 ? java.util.Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray() : new int[] {1, 2, 3, 4, 6, 8, 12, 13, 16};
        for (int n : tokens) {
            float[] x = TestData.randomVector(n * cols, 2);
            float[] o1 = new float[n * rows], o2 = new float[n * rows], o3 = new float[n * rows], o4 = new float[n * rows];
            MatMul.Tokens packed = new MatMul.Tokens().pack(x, n, cols);
            long b1 = Long.MAX_VALUE, b2 = Long.MAX_VALUE, b3 = Long.MAX_VALUE, b4 = Long.MAX_VALUE;
            long end = System.nanoTime() + 2_000_000_000L;
            for (int it = 0; it < 30 || System.nanoTime() < end; it++) {
                long t0 = mx.getCurrentThreadCpuTime();
                MatMul.dotProducts(mr, x, n, o1, 0, rows, w);
                long t1 = mx.getCurrentThreadCpuTime();
                MatMul.matvecs(m, x, n, o2, 0, rows);
                long t2 = mx.getCurrentThreadCpuTime();
                if (packed.packs()) MatMul.tiled(mr, packed, o3, 0, rows, w);
                long t3 = mx.getCurrentThreadCpuTime();
                m.matmul(x, n, o4, 0, rows, w);
                long t4 = mx.getCurrentThreadCpuTime();
                if (it >= 10) {
                    b4 = Math.min(b4, t4 - t3);
                    b1 = Math.min(b1, t1 - t0);
                    b2 = Math.min(b2, t2 - t1);
                    b3 = Math.min(b3, t3 - t2);
                }
            }
            double perWeight = (double) rows * cols;
            System.out.printf("%s %d x %d, %d tokens, 1 thread, ns/weight: dot products over float tiles %.3f, matvecs over cached row chunks %.3f, token vectors %s; the matrix's matmul %.3f%n",
                    type, rows, cols, n, b1 / perWeight, b2 / perWeight, packed.packs() ? String.format("%.3f", b3 / perWeight) : "- (too few tokens)", b4 / perWeight);
        }
    }
}
