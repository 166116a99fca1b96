package qwen4j.tensor.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/**
 * Streaming throughput of the quantized matvecs: a random off-heap matrix of about {@code -Dmb=128} MB
 * (cols {@code -Dcols=18944}), x float32, rows split over 1 and 2 plain Java threads. Reports GB/s of
 * weight bytes read (best of the timed repetitions). The rows are split into {@code -Dchunks=16} ranges
 * by default, the two threads taking every other one (one thread all in turn), as WorkerPool hands out a
 * matvec (2 threads x 8 chunks); {@code -Dchunks=2} gives each thread one half (a four-row pass's rows then
 * lie far apart, which the engine's matvecs never see: the K-quant kernels at 8 lanes ran 1.6-3.6x faster
 * there with four rows in turn than in 16 chunks). Types run in the order given, in one JVM, so
 * {@code Q4_K Q6_K} times Q6_K as a Q4_K_M file runs it (C2's code for one kernel can depend on what ran
 * before). Not a unit test; run it with
 * {@code java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes qwen4j.tensor.quant.QuantThroughput [TYPES...]}.
 */
public final class QuantThroughput {
    public static void main(String[] args) throws Exception {
        int cols = Integer.getInteger("cols", 18944);
        long mb = Long.getLong("mb", 128);
        int reps = Integer.getInteger("reps", 15);
        chunks = Integer.getInteger("chunks", 16);
        boolean scalar = Boolean.parseBoolean(System.getProperty("scalar", "true"));
        List<DType> types = new ArrayList<>();
        if (args.length == 0) {
            for (DType t : QuantMatrixRandomTest.TYPES) types.add(t);
        } else {
            for (String a : args) types.add(DType.valueOf(a));
        }
        System.out.printf(Locale.ROOT, "species %s, cols %d, ~%d MB per matrix, %d row chunks%n", QuantSimd.F, cols, mb, chunks);
        System.out.printf(Locale.ROOT, "%-5s %8s %10s %10s %10s %10s%n", "type", "MB", "simd 1T", "simd 2T", "scalar 1T",
                "scalar 2T");
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            for (DType t : types) {
                long rowBytes = t.bytesFor(cols);
                int rows = (int) (mb * 1_000_000 / rowBytes);
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment seg = arena.allocate(rowBytes * rows, 4096);
                    RandomBlocks.fill(seg, t, 7);
                    float[] x = RandomBlocks.vector(cols, 8);
                    QuantMatrix simd = QuantMatrix.of(t, seg, rows, cols, Kernels.SIMD);
                    QuantMatrix ref = QuantMatrix.of(t, seg, rows, cols, Kernels.SCALAR);
                    double s1 = gbps(simd, x, 1, pool, reps), s2 = gbps(simd, x, 2, pool, reps);
                    double r1 = scalar ? gbps(ref, x, 1, pool, 3) : Double.NaN;
                    double r2 = scalar ? gbps(ref, x, 2, pool, 3) : Double.NaN;
                    System.out.printf(Locale.ROOT, "%-5s %8.1f %10.2f %10.2f %10.2f %10.2f%n", t, rowBytes * rows / 1e6, s1,
                            s2, r1, r2);
                }
            }
        }
    }

    static double gbps(QuantMatrix m, float[] x, int threads, ExecutorService pool, int reps) throws Exception {
        float[] out = new float[m.rows()];
        long best = Long.MAX_VALUE;
        for (int i = 0; i < reps + 3; i++) {
            long t0 = System.nanoTime();
            run(m, x, out, threads, pool);
            long dt = System.nanoTime() - t0;
            if (i >= 3) best = Math.min(best, dt);
        }
        return m.byteSize() / (double) best;
    }

    private static int chunks;

    static void run(QuantMatrix m, float[] x, float[] out, int threads, ExecutorService pool) throws Exception {
        if (threads == 1) {
            if (chunks <= 2) pool.submit(() -> m.matvec(x, out, 0, m.rows())).get(); // by default one call
            else pool.submit(() -> chunks(m, x, out, 0, 1)).get();
            return;
        }
        Future<?> f = pool.submit(() -> chunks(m, x, out, 1, 2));
        Future<?> g = pool.submit(() -> chunks(m, x, out, 0, 2));
        f.get();
        g.get();
    }

    /** Chunks first, first + step, ... of the rows in {@link #chunks} ranges. */
    private static void chunks(QuantMatrix m, float[] x, float[] out, int first, int step) {
        int rows = m.rows();
        for (int c = first; c < chunks; c += step) m.matvec(x, out, (int) ((long) rows * c / chunks), (int) ((long) rows * (c + 1) / chunks));
    }
}
