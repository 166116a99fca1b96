package qwen4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * A/B of the F16 matvec on one thread, best thread-CPU time of 40 after 3 s of warm-up: the
 * engine's two-pass kernel ({@link SimdF16Matrix}: auto-vectorized conversion of a row into a
 * buffer, then a dot) against the fused kernel it replaced (two rows per pass, each half converted
 * in registers with 4 int-lane operations, valid for finite halves), kept here as the baseline.
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
        Matrix twoPass = new SimdF16Matrix(seg, rows, cols);
        float[] x = new float[cols], oa = new float[rows], ob = new float[rows];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long end = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < end) {
            twoPass.matvec(x, oa, 0, rows);
            fused(seg, rows, cols, x, ob);
        }
        long ba = Long.MAX_VALUE, bb = Long.MAX_VALUE;
        for (int it = 0; it < 40; it++) {
            long t0 = mx.getCurrentThreadCpuTime();
            twoPass.matvec(x, oa, 0, rows);
            long t1 = mx.getCurrentThreadCpuTime();
            fused(seg, rows, cols, x, ob);
            long t2 = mx.getCurrentThreadCpuTime();
            ba = Math.min(ba, t1 - t0);
            bb = Math.min(bb, t2 - t1);
        }
        com.sun.management.ThreadMXBean smx = (com.sun.management.ThreadMXBean) mx;
        long al = smx.getCurrentThreadAllocatedBytes();
        twoPass.matvec(x, oa, 0, rows);
        long al2 = smx.getCurrentThreadAllocatedBytes();
        twoPass.matvec(x, oa, 0, rows);
        long al3 = smx.getCurrentThreadAllocatedBytes();
        System.out.printf("allocated by the two-pass matvec: %d bytes, again %d%n", al2 - al, al3 - al2);
        long bytes = (long) rows * cols * 2;
        System.out.printf("F16 %d MB, %d cols: two-pass %.1f GB/s, fused (previous kernel) %.1f GB/s, identical=%s%n",
                mb, cols, bytes / (double) ba, bytes / (double) bb, java.util.Arrays.equals(oa, ob));
    }

    /** The previous kernel: pairs of rows, halves converted in registers (finite halves only). */
    private static void fused(MemorySegment seg, int rows, int cols, float[] x, float[] out) {
        long rowBytes = cols * 2L;
        for (int r = 0; r + 2 <= rows; r += 2) {
            long b0 = r * rowBytes, b1 = b0 + rowBytes;
            FloatVector a0 = FloatVector.zero(Simd.F), a1 = a0;
            int j = 0;
            for (; j + Simd.L <= cols; j += Simd.L) {
                FloatVector xj = FloatVector.fromArray(Simd.F, x, j);
                a0 = finite(seg, b0 + 2L * j).fma(xj, a0);
                a1 = finite(seg, b1 + 2L * j).fma(xj, a1);
            }
            float s0 = Simd.sum(a0), s1 = Simd.sum(a1);
            for (int k = j; k < cols; k++) {
                s0 = Math.fma(Float.float16ToFloat(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b0 + 2L * k)), x[k], s0);
                s1 = Math.fma(Float.float16ToFloat(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b1 + 2L * k)), x[k], s1);
            }
            out[r] = s0;
            out[r + 1] = s1;
        }
    }

    private static FloatVector finite(MemorySegment seg, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(Simd.S, seg, off, Simd.LE)
                .convertShape(VectorOperators.S2I, Simd.I, 0);
        return h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
    }
}
