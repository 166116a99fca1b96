package qwen4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.SplittableRandom;

/** A/B of the F16 matvec (exact vs short conversion for finite data): best thread-CPU time. Args: MB. */
public final class F16CpuTime {
    public static void main(String[] args) {
        int mb = args.length > 0 ? Integer.parseInt(args[0]) : 64;
        int cols = 896;
        int rows = (int) (mb * 1_000_000L / (cols * 2L)) & ~3;
        MemorySegment seg = Arena.global().allocate((long) rows * cols * 2, 4096);
        SplittableRandom rnd = new SplittableRandom(1);
        for (long i = 0; i < seg.byteSize(); i += 2) {
            seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16((float) rnd.nextGaussian() * 0.02f));
        }
        String mode = System.getProperty("mode", "both");
        Matrix a = new SimdF16Matrix.Finite(seg, rows, cols), b = new SimdF16Matrix(seg, rows, cols);
        float[] x = new float[cols], oa = new float[rows], ob = new float[rows];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long end = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < end) {
            if (!mode.equals("two")) a.matvec(x, oa, 0, rows);
            if (!mode.equals("four")) b.matvec(x, ob, 0, rows);
        }
        long ba = Long.MAX_VALUE, bb = Long.MAX_VALUE;
        for (int it = 0; it < 40; it++) {
            long t0 = mx.getCurrentThreadCpuTime();
            if (!mode.equals("two")) a.matvec(x, oa, 0, rows);
            long t1 = mx.getCurrentThreadCpuTime();
            if (!mode.equals("four")) b.matvec(x, ob, 0, rows);
            long t2 = mx.getCurrentThreadCpuTime();
            ba = Math.min(ba, t1 - t0);
            bb = Math.min(bb, t2 - t1);
        }
        com.sun.management.ThreadMXBean smx = (com.sun.management.ThreadMXBean) mx;
        long al = smx.getCurrentThreadAllocatedBytes();
        if (!mode.equals("two")) a.matvec(x, oa, 0, rows);
        long al2 = smx.getCurrentThreadAllocatedBytes();
        if (!mode.equals("four")) b.matvec(x, ob, 0, rows);
        System.out.printf("allocated: finite %d, exact %d bytes%n", al2 - al, smx.getCurrentThreadAllocatedBytes() - al2);
        long bytes = (long) rows * cols * 2;
        boolean same = java.util.Arrays.equals(oa, ob);
        System.out.printf("F16 %d MB: finite %.1f GB/s, exact %.1f GB/s, identical=%s%n", mb,
                bytes / (double) ba, bytes / (double) bb, mode.equals("both") ? same : "n/a");
    }
}
