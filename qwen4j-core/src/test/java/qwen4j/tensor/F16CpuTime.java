package qwen4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.SplittableRandom;

/**
 * The two F16 matvecs on one thread, best thread-CPU time of 40 after 3 s of warm-up: the kernel
 * for weights checked finite ({@link SimdF16Matrix.Finite}: in-register conversion, two long
 * streams) against the general one ({@link SimdF16Matrix}: auto-vectorized conversion of a row
 * chunk into a buffer, then a dot), on the same random finite weights; both must agree exactly.
 * Args: MB (4 stays in cache, 64+ comes from memory), cols (default 896).
 */
public final class F16CpuTime {
    public static void main(String[] args) {
        int mb = args.length > 0 ? Integer.parseInt(args[0]) : 64;
        int cols = args.length > 1 ? Integer.parseInt(args[1]) : 896;
        int rows = (int) (mb * 1_000_000L / (cols * 2L)) & ~3;
        MemorySegment seg = Arena.global().allocate((long) rows * cols * 2, 4096);
        SplittableRandom rnd = new SplittableRandom(1);
        for (long i = 0; i < seg.byteSize(); i += 2) {
            seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16((float) rnd.nextGaussian() * 0.02f));
        }
        Matrix finite = SimdF16Matrix.of(seg, rows, cols), general = new SimdF16Matrix(seg, rows, cols);
        if (!(finite instanceof SimdF16Matrix.Finite)) throw new AssertionError("finite weights did not get the Finite kernel");
        float[] x = new float[cols], oa = new float[rows], ob = new float[rows];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long end = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < end) {
            finite.matvec(x, oa, 0, rows);
            general.matvec(x, ob, 0, rows);
        }
        long ba = Long.MAX_VALUE, bb = Long.MAX_VALUE;
        for (int it = 0; it < 40; it++) {
            long t0 = mx.getCurrentThreadCpuTime();
            finite.matvec(x, oa, 0, rows);
            long t1 = mx.getCurrentThreadCpuTime();
            general.matvec(x, ob, 0, rows);
            long t2 = mx.getCurrentThreadCpuTime();
            ba = Math.min(ba, t1 - t0);
            bb = Math.min(bb, t2 - t1);
        }
        com.sun.management.ThreadMXBean smx = (com.sun.management.ThreadMXBean) mx;
        long a0 = smx.getCurrentThreadAllocatedBytes();
        finite.matvec(x, oa, 0, rows);
        long a1 = smx.getCurrentThreadAllocatedBytes();
        general.matvec(x, ob, 0, rows);
        long a2 = smx.getCurrentThreadAllocatedBytes();
        long bytes = (long) rows * cols * 2;
        System.out.printf("F16 %d MB, %d cols: finite %.1f GB/s (%d bytes allocated), general %.1f GB/s (%d bytes), identical=%s%n",
                mb, cols, bytes / (double) ba, a1 - a0, bytes / (double) bb, a2 - a1, java.util.Arrays.equals(oa, ob));
    }
}
