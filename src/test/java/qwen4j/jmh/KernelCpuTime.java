package qwen4j.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.SplittableRandom;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.Matrix;
import qwen4j.tensor.quant.QuantMatrix;

/**
 * A/B of matvec kernels on a shared, noisy machine: each variant's best thread-CPU time over many
 * interleaved calls (CPU time ignores time spent preempted; the minimum ignores cache-polluted
 * runs). Usage: KernelCpuTime TYPE [megabytes] — compares repacked (qwen4j.repack=true) and block
 * kernels on the same random matrix.
 */
public final class KernelCpuTime {
    public static void main(String[] args) {
        DType t = DType.valueOf(args[0]);
        int mb = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int cols = 18944;
        long rowBytes = t.bytesFor(cols);
        int rows = (int) (mb * 1_000_000L / rowBytes) & ~1;
        MemorySegment seg = Arena.global().allocate(rowBytes * rows, 4096);
        SplittableRandom rnd = new SplittableRandom(1);
        for (long i = 0; i + 8 <= seg.byteSize(); i += 8) {
            seg.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong() & 0xBFFFBFFFBFFFBFFFL);
        }
        System.setProperty("qwen4j.repack", "true");
        Matrix a = QuantMatrix.of(t, seg, rows, cols, Kernels.SIMD);
        System.setProperty("qwen4j.repack", "false");
        Matrix b = QuantMatrix.of(t, seg, rows, cols, Kernels.SIMD);
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        float[] oa = new float[rows], ob = new float[rows];
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long bestA = Long.MAX_VALUE, bestB = Long.MAX_VALUE;
        String only = System.getProperty("only", "");
        long warmEnd = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < warmEnd) {
            if (!only.equals("blocks")) a.matvec(x, oa, 0, rows);
            if (!only.equals("repacked")) b.matvec(x, ob, 0, rows);
        }
        for (int it = 0; it < 60; it++) {
            long t0 = mx.getCurrentThreadCpuTime();
            if (!only.equals("blocks")) a.matvec(x, oa, 0, rows);
            long t1 = mx.getCurrentThreadCpuTime();
            if (!only.equals("repacked")) b.matvec(x, ob, 0, rows);
            long t2 = mx.getCurrentThreadCpuTime();
            {
                bestA = Math.min(bestA, t1 - t0);
                bestB = Math.min(bestB, t2 - t1);
            }
        }
        com.sun.management.ThreadMXBean smx = (com.sun.management.ThreadMXBean) mx;
        long al0 = smx.getCurrentThreadAllocatedBytes();
        if (!only.equals("blocks")) a.matvec(x, oa, 0, rows);
        if (!only.equals("repacked")) b.matvec(x, ob, 0, rows);
        System.out.printf("allocated in one call of each: %d bytes%n", smx.getCurrentThreadAllocatedBytes() - al0);
        double maxDiff = 0;
        for (int r = 0; r < rows; r++) maxDiff = Math.max(maxDiff, Math.abs(oa[r] - ob[r]));
        long bytes = rowBytes * rows;
        System.out.printf("%s %d MB: repacked %.2f ms (%.1f GB/s)  blocks %.2f ms (%.1f GB/s)  max|diff| %.2e%n", t, mb,
                bestA / 1e6, bytes / (double) bestA, bestB / 1e6, bytes / (double) bestB, maxDiff);
    }
}
