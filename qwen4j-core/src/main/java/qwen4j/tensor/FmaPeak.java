package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;
import static qwen4j.tensor.Simd.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The machine's float32 FMA peak as the Vector API reaches it: every pool thread runs independent
 * chains of register-only vector FMAs (no memory traffic), enough chains to cover FMA latency.
 * What prefill (arithmetic-bound) speed is compared with.
 */
public final class FmaPeak {
    private FmaPeak() {}

    private static volatile float sink;

    /** Best of a few timed runs, in GFLOP/s (one FMA = 2 flops) over all the pool's threads. */
    public static double measure(WorkerPool pool) {
        int threads = pool.threads();
        long iters = 4_000_000;
        float[] results = new float[threads];
        WorkerPool.RangeTask task = (from, to) -> {
            for (int i = from; i < to; i++) results[i] = chains(iters);
        };
        double best = 0;
        for (int run = 0; run < 6; run++) {
            long t0 = System.nanoTime();
            pool.parallelFor(threads, task);
            double s = (System.nanoTime() - t0) / 1e9;
            if (run > 0) best = Math.max(best, threads * iters * 12.0 * L * 2 / s / 1e9);
        }
        float sum = 0;
        for (float r : results) sum += r;
        sink = sum;
        return best;
    }

    /** 12 independent FMA chains of {@code iters} steps each. */
    static float chains(long iters) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f), c = FloatVector.broadcast(F, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3);
        FloatVector a4 = a0.add(4), a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7);
        FloatVector a8 = a0.add(8), a9 = a0.add(9), a10 = a0.add(10), a11 = a0.add(11);
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c);
            a4 = a4.fma(m, c); a5 = a5.fma(m, c); a6 = a6.fma(m, c); a7 = a7.fma(m, c);
            a8 = a8.fma(m, c); a9 = a9.fma(m, c); a10 = a10.fma(m, c); a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
