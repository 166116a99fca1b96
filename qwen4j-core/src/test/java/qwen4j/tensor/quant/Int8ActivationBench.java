package qwen4j.tensor.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Locale;
import qwen4j.tensor.DType;
import qwen4j.tensor.HugePageMemory;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.WorkerPool;

/**
 * Float vs int8 activations on 7B decode shapes (not a test): one layer's matrices (q,k,v fused dispatch,
 * o, gate/up fused, down) of each type in huge-page memory, through the WorkerPool, the two paths
 * interleaved round by round on the same bytes; prints the median and best GB/s of each.
 * Run: java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp target/classes:target/test-classes
 *      qwen4j.tensor.quant.Int8ActivationBench [threads] [rounds]
 */
public final class Int8ActivationBench {
    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
        int h = 3584, kv = 512, f = 18944, layers = 4; // 4 layers of 7B: ~1.9 GB in Q8_0, beyond any cache
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            for (DType type : new DType[] {DType.Q8_0, DType.Q4_0}) {
                int[][] shapes = {{h, h}, {kv, h}, {kv, h}, {h, h}, {f, h}, {f, h}, {h, f}};
                QuantMatrix[][] fl = new QuantMatrix[layers][7], i8 = new QuantMatrix[layers][7];
                long bytes = 0;
                for (int l = 0; l < layers; l++) {
                    for (int k = 0; k < 7; k++) {
                        long b = type.bytesFor((long) shapes[k][0] * shapes[k][1]);
                        MemorySegment seg = HugePageMemory.allocate(b, arena);
                        RandomBlocks.fill(seg, type, 31L * l + k);
                        fl[l][k] = QuantMatrix.of(type, seg, shapes[k][0], shapes[k][1], Kernels.SIMD, false);
                        i8[l][k] = QuantMatrix.of(type, seg, shapes[k][0], shapes[k][1], Kernels.SIMD, true);
                        bytes += b;
                    }
                }
                float[] xh = RandomBlocks.vector(h, 1), xf = RandomBlocks.vector(f, 2);
                float[] q = new float[h], kk = new float[kv], v = new float[kv], o = new float[h], g = new float[f], u = new float[f];
                double[] tf = new double[rounds], ti = new double[rounds];
                for (int r = -3; r < rounds; r++) {
                    for (int path = 0; path < 2; path++) {
                        QuantMatrix[][] m = ((r & 1) == 0) == (path == 0) ? fl : i8; // alternate which goes first
                        long t0 = System.nanoTime();
                        for (int l = 0; l < layers; l++) {
                            pool.matvec3(m[l][0], q, m[l][1], kk, m[l][2], v, xh);
                            pool.matvec(m[l][3], xh, o);
                            pool.matvec2(m[l][4], g, m[l][5], u, xh);
                            pool.matvec(m[l][6], xf, o);
                        }
                        double s = (System.nanoTime() - t0) / 1e9;
                        if (r >= 0) (m == fl ? tf : ti)[r] = s;
                    }
                }
                System.out.printf(Locale.ROOT, "%s 7B layer shapes x%d (%.2f GB), %d threads: float x %.1f GB/s (best %.1f), int8 x %.1f GB/s (best %.1f)%n",
                        type, layers, bytes / 1e9, threads, bytes / median(tf) / 1e9, bytes / min(tf) / 1e9,
                        bytes / median(ti) / 1e9, bytes / min(ti) / 1e9);
            }
        }
    }

    static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    static double min(double[] a) {
        return Arrays.stream(a).min().orElseThrow();
    }
}
